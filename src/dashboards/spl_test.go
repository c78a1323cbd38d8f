package dashboards

import (
	"strings"
	"testing"
)

func testCatalog() *Catalog {
	return &Catalog{
		Macros: map[string]Macro{
			IndexMacro:     {Definition: "index=*"},
			"st":           {Definition: "`" + IndexMacro + "` sourcetype=\"ms:defender:eventhub\" | eval t=replace(category, \"^AdvancedHunting-\", \"\")"},
			"kv(1)":        {Args: []string{"key"}, Definition: `rex field=line "$key$=(?<$key$>\S+)"`},
			"loop":         {Definition: "`loop`"},
			"needs_arg(1)": {Args: []string{"x"}, Definition: "eval y=$x$"},
		},
		Sourcetypes:    set("ms:defender:eventhub", "ms365:defender:incident"),
		Eventtypes:     set("m365_defender_ah_%ah_table%", "m365_defender_ah_process", "m365_defender_incident"),
		Fields:         set("category", "properties.DeviceName", "evidence{}.verdict", "evidence{}.userAccount.upn", "id", "status"),
		InternalFields: set("component"),
	}
}

// TestCheck runs the SPL checker over small searches, each either clean or with the one
// problem expected.
func TestCheck(t *testing.T) {
	tests := []struct{ name, q, want string }{
		{"clean", "`st` | stats count by t", ""},
		{"eval defines", "`st` | eval x=lower(t), y=x.\"-\".'properties.DeviceName' | table x y", ""},
		{"unknown field in eval", "`st` | eval x=lower(tt)", `unknown field "tt"`},
		{"quoted field", "`st` | eval x='properties.DeviceNam'", `unknown field "properties.DeviceNam"`},
		{"search comparison", "`st` | search properties.DeviceName=\"pc1\" OR category!=x", ""},
		{"search unknown", "`st` | search DeviceName=pc1", `unknown field "DeviceName"`},
		{"IN list", "`st` | search t IN (a, b) status IN (\"x\")", ""},
		{"stats as", "`st` | stats count as n dc(t) as tables by category | where n>1 AND tables>0", ""},
		{"stats default name", "`st` | stats count | where count>0", ""},
		{"stats eval", "`st` | stats count(eval(status==\"x\")) as c by t", ""},
		{"stats unknown agg", "`st` | stats cnt(t)", "unknown aggregation cnt()"},
		{"stats not an agg", "`st` | stats t", `"t" is not an aggregation`},
		{"timechart options", "`st` | timechart span=5m limit=10 useother=false per_second(t) by category", ""},
		{"percentile", "`st` | stats perc95(t) p50(t) exactperc99(t)", ""},
		{"rex defines", "`st` | rex field=category \"^(?<prefix>\\w+)-(?<rest>.*)$\" | table prefix rest", ""},
		{"macro with args", "`st` | eval line=t | `kv(foo)` | table foo", ""},
		{"macro arity", "`st` | `kv`", `macro "kv" is not defined`},
		{"macro loop", "`loop`", "deeper than 20"},
		{"sourcetype", "`" + IndexMacro + "` sourcetype=other", `sourcetype "other" is not one the app defines`},
		{"splunkd outside _internal", "`" + IndexMacro + "` sourcetype=splunkd", `sourcetype "splunkd"`},
		{"internal", "index=_internal sourcetype=splunkd component=ExecProcessor", ""},
		{"internal field elsewhere", "`st` | search component=x", `unknown field "component"`},
		{"other index", "index=main sourcetype=ms:defender:eventhub", "scope searches with the"},
		{"eventtype", "`st` | search eventtype=m365_defender_ah_process", ""},
		{"eventtype template", "`st` | search eventtype=m365_defender_ah_DeviceProcessEvents", ""},
		{"eventtype wildcard", "`st` | search eventtype=\"m365_defender_ah_*\"", ""},
		{"eventtype unknown", "`st` | search eventtype=m365_defender_foo", `eventtype "m365_defender_foo" is not defined`},
		{"spath relative names", "`st` | spath path=evidence{} output=ev | mvexpand ev | spath input=ev | table verdict userAccount.upn", ""},
		{"spath relative typo", "`st` | spath path=evidence{} output=ev | spath input=ev | table verdic", `unknown field "verdic"`},
		{"spath path unknown", "`st` | spath path=entities{} output=en", `path "entities{}" holds no known field`},
		{"rename", "`st` | stats count by t | rename t as table, count as n | table table n", ""},
		{"rename malformed", "`st` | rename t table", "expected old AS new"},
		{"sort", "`st` | sort 0 - t, + category num(status)", ""},
		{"dedup", "`st` | dedup 2 t category sortby -status", ""},
		{"unknown command", "`st` | lookup x", `command "lookup" is not known`},
		{"subsearch", "`st` [search x]", "subsearches are not supported"},
		{"unbalanced", "`st` | eval x=(t", "unbalanced parentheses"},
		{"unterminated quote", "`st` | eval x=\"t", "unterminated"},
		{"eval function typo", "`st` | eval x=lowr(t)", "unknown eval function lowr()"},
		{"eval malformed", "`st` | eval lower(t)", "expected name=expression"},
		{"empty pipe", "`st` | | stats count", "empty command"},
		{"top", "`st` | top limit=5 t by category | table t count percent", ""},
		{"bin", "`st` | bin _time span=1h as hour | stats count by hour", ""},
	}
	cat := testCatalog()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Check(tt.q, cat, nil)
			got := strings.Join(r.Problems, "\n")
			switch {
			case tt.want == "" && got != "":
				t.Errorf("problems:\n%s", got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Errorf("want a problem containing %q, got:\n%s", tt.want, got)
			}
		})
	}
}

func TestCheckColumnsAndChain(t *testing.T) {
	cat := testCatalog()
	base := Check("`st` | eval m=t", cat, nil)
	if len(base.Problems) != 0 {
		t.Fatal(base.Problems)
	}
	r := Check("stats count by m | rename m as table | table table count", cat, base)
	if len(r.Problems) != 0 || strings.Join(r.Columns, " ") != "table count" {
		t.Fatalf("problems %v columns %v", r.Problems, r.Columns)
	}
	if r := Check("stats count by m", cat, base); r.Columns != nil {
		t.Errorf("columns after stats = %v, want unknown", r.Columns)
	}
	if !base.UsesIndexMacro || strings.Join(base.Macros, ",") != IndexMacro+",st" {
		t.Errorf("macros %v", base.Macros)
	}
}

func TestEvalExpr(t *testing.T) {
	f := map[string][]string{"a": {"Active"}, "n": {"4"}, "ts": {"2024-05-01T10:11:12.5Z"}, "mv": {"x", "y"}}
	tests := []struct{ expr, want, err string }{
		{`lower(a)`, "active", ""},
		{`coalesce(missing, a)`, "Active", ""},
		{`coalesce(missing, other)`, "<null>", ""},
		{`n*2+1`, "9", ""},
		{`-n/8`, "-0.5", ""},
		{`"x".n."y"`, "x4y", ""},
		{`if(in(lower(a), "active", "new"), 1, 0)`, "1", ""},
		{`case(n>5, "big", n>3, "mid", true(), "small")`, "mid", ""},
		{`n>=4 AND NOT a=="x" OR missing==1`, "true", ""},
		{`substr(ts, 1, 19)`, "2024-05-01T10:11:12", ""},
		{`strptime(substr(ts,1,19)."+0000", "%Y-%m-%dT%H:%M:%S%z")`, "1714558272", ""},
		{`strptime("junk", "%Y")`, "<null>", ""},
		{`tonumber("0".replace(ts, "^[^.]*(\.\d+)?.*$", "\1"))`, "0.5", ""},
		{`like(a, "Act%")`, "true", ""},
		{`len(a)`, "6", ""},
		{`mvappend(mv, a)`, "x,y,Active", ""},
		{`isnull(missing) AND isnotnull(a)`, "true", ""},
		{`round(2.345, 2)`, "2.35", ""},
		{`strftime(now(), "%Y")`, "", "not implemented"},
		{`strptime(ts, "%Y-%m-%dT%H:%M:%S.%3NZ")`, "", "not implemented"},
		{`lower(a`, "", "expected , or )"},
	}
	for _, tt := range tests {
		got, err := EvalExpr(tt.expr, f)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want %q", tt.expr, err, tt.err)
			}
			continue
		}
		s := strings.Join(got, ",")
		if got == nil {
			s = "<null>"
		}
		if err != nil || s != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.expr, s, err, tt.want)
		}
	}
}

// FuzzCheck: the checker never panics, whatever the search.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"`st` | stats count by t", "`st` | eval x=if(a,\"b\",c) | rex \"(?<x>.)\"", "| | `kv(a,b)`", "`st` | rename a as", "`st` | sort - ", "search x=\"\\\"", "`st` | spath input= output="} {
		f.Add(s)
	}
	cat := testCatalog()
	f.Fuzz(func(t *testing.T, q string) {
		Check(q, cat, nil)
		_, _ = EvalExpr(q, map[string][]string{"a": {"1"}})
	})
}

// TestChainSeesOnlyKeptFields: after "fields a b" in a base search, its chains may read only
// a, b, internal fields and what they create; a pattern keeps only fields that exist.
func TestChainSeesOnlyKeptFields(t *testing.T) {
	cat := testCatalog()
	base := Check("`st` | eval m_one=t, m_two=category | fields m_* status", cat, nil)
	if len(base.Problems) != 0 {
		t.Fatal(base.Problems)
	}
	tests := []struct{ q, want string }{
		{"stats count by m_one status | where count>0", ""},
		{"eval x=m_two | stats count by x _time", ""},
		{"stats count by category", `unknown field "category"`},
		{"stats count by m_three", `unknown field "m_three"`},
	}
	for _, tt := range tests {
		got := strings.Join(Check(tt.q, cat, base).Problems, "\n")
		if (tt.want == "" && got != "") || (tt.want != "" && !strings.Contains(got, tt.want)) {
			t.Errorf("%s: problems %q, want %q", tt.q, got, tt.want)
		}
	}
	tbl := Check("`st` | table t", cat, nil)
	if got := strings.Join(Check("stats count by _time", cat, tbl).Problems, ""); !strings.Contains(got, `unknown field "_time"`) {
		t.Errorf("table keeps only its columns; got %q", got)
	}
}
