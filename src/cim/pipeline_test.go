package cim

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeApp writes a small app tree for pipeline tests.
func writeApp(t *testing.T, props, transforms, eventtypes, tags, csv string) string {
	t.Helper()
	root := t.TempDir()
	for path, body := range map[string]string{
		"default/props.conf": props, "default/transforms.conf": transforms,
		"default/eventtypes.conf": eventtypes, "default/tags.conf": tags,
		"lookups/products.csv": csv,
	} {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const testTransforms = `
[t_table]
REGEX = "category"\s*:\s*"AH-(?<tbl>\w+)"

[t_ids_first]
REGEX = \((?<tid>T\d{4})\)

[t_ids_all]
REGEX = \((?<tid_all>T\d{4})\)
MV_ADD = true

[t_format]
REGEX = (\w+)=(\d+)
FORMAT = $1::$2 fixed::yes

[products]
filename = products.csv
case_sensitive_match = false
min_matches = 1
default_match = Other

[products_exact]
filename = products.csv
`

const testCSV = "key,product,app\nalpha,Product A,a\nbeta,Product B,b\n"

func TestPipelineOrderAndSemantics(t *testing.T) {
	props := `
[st]
KV_MODE = json
REPORT-a = t_table, t_ids_first, t_ids_all
REPORT-b = t_format
EXTRACT-lead = ^\{"(?<first_key>\w+)"
FIELDALIAS-x = name AS alias_name missing AS title kept ASNEW existing
EVAL-y = x . "!"
EVAL-x = "new"
EVAL-gone = null()
EVAL-title = "from eval"
EVAL-key = lower(k)
EVAL-key2 = k
LOOKUP-p = products key OUTPUT product app
LOOKUP-q = products_exact key AS key2 OUTPUTNEW product AS product_exact
`
	eventtypes := `
[et_%tbl%]
search = sourcetype=st category=AH-*

[et_alpha]
search = sourcetype=st product="Product A"

[et_off]
search = sourcetype=st
disabled = 1
`
	tags := `
[eventtype=et_alpha]
alpha = enabled
off = disabled

[tbl=One]
one = enabled
`
	a, err := Load(writeApp(t, props, testTransforms, eventtypes, tags, testCSV))
	if err != nil {
		t.Fatal(err)
	}
	raw := `{"category":"AH-One","x":"old","name":"n1","title":"raw title","kept":"k1","existing":"e1","gone":"g","k":"ALPHA","text":"(T1111) and (T2222)","kv":"a=1 b=2"}`
	res, err := a.Apply(Event{Sourcetype: "st", Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Fields
	want := map[string][]string{
		"tbl":        {"One"},            // REPORT from _raw, before KV
		"tid":        {"T1111"},          // without MV_ADD the first value stays
		"tid_all":    {"T1111", "T2222"}, // MV_ADD collects every match
		"a":          {"1"},              // FORMAT $1::$2, every match
		"b":          {"2"},
		"fixed":      {"yes"},
		"first_key":  {"category"}, // EXTRACT
		"alias_name": {"n1"},       // AS
		"existing":   {"e1"},       // ASNEW leaves an existing field
		"y":          {"old!"},     // EVALs read the fields before any EVAL
		"x":          {"new"},
		"title":      {"from eval"}, // EVAL after FIELDALIAS
		"key":        {"alpha"},
		"product":    {"Product A"}, // LOOKUP after EVAL, case-insensitive
		"app":        {"a"},
		"eventtype":  {"et_One", "et_alpha"}, // %tbl% substitution; eventtypes see lookup output
		"tag":        {"alpha", "one"},       // disabled tags stay off
	}
	for k, w := range want {
		if got := f[k]; !slices.Equal(got, w) {
			t.Errorf("%s = %q, want %q", k, got, w)
		}
	}
	for _, k := range []string{"gone", "product_exact"} {
		if f.Has(k) {
			t.Errorf("%s = %q, want no field", k, f[k])
		}
	}
}

func TestLookupSemantics(t *testing.T) {
	props := `
[st]
KV_MODE = json
LOOKUP-p = products key OUTPUT product
LOOKUP-n = products_exact key OUTPUTNEW app
`
	a, err := Load(writeApp(t, props, testTransforms, "[e]\nsearch = sourcetype=st\n", "", testCSV))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		raw          string
		product, app []string
	}{
		{raw: `{"key":"BETA"}`, product: []string{"Product B"}},                                     // exact table is case-sensitive: no app
		{raw: `{"key":"beta","app":"mine"}`, product: []string{"Product B"}, app: []string{"mine"}}, // OUTPUTNEW keeps
		{raw: `{"key":"gamma"}`, product: []string{"Other"}},                                        // default_match
		{raw: `{"key":"gamma","product":"old"}`, product: []string{"Other"}},                        // OUTPUT overwrites
		{raw: `{"nokey":1,"product":"old"}`, product: []string{"old"}},                              // no match field: untouched
	}
	for _, tt := range tests {
		res, err := a.Apply(Event{Sourcetype: "st", Raw: tt.raw})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Fields["product"]; !slices.Equal(got, tt.product) {
			t.Errorf("%s: product = %q, want %q", tt.raw, got, tt.product)
		}
		if got := res.Fields["app"]; !slices.Equal(got, tt.app) {
			t.Errorf("%s: app = %q, want %q", tt.raw, got, tt.app)
		}
	}
}

func TestLoadRefusesWhatTheTestCannotCheck(t *testing.T) {
	tests := []struct {
		name, props, eventtypes, tags, err string
	}{
		{name: "unknown eval function", props: "[st]\nEVAL-x = json_extract(_raw, \"a\")\n", err: "json_extract() is not implemented"},
		{name: "unknown eval operator", props: "[st]\nEVAL-x = a * 2\n", err: "operator * is not implemented"},
		{name: "missing transform", props: "[st]\nREPORT-x = nope\n", err: "no stanza [nope]"},
		{name: "regex Go cannot read", props: "[st]\nEXTRACT-x = (?<=a)(?<b>c)\n", err: "regex"},
		{name: "bad alias", props: "[st]\nFIELDALIAS-x = a TO b\n", err: "AS or ASNEW"},
		{name: "two aliases to one name", props: "[st]\nFIELDALIAS-x = a AS c\nFIELDALIAS-y = b AS c\n", err: "both alias to c"},
		{name: "alias of an alias", props: "[st]\nFIELDALIAS-x = a AS b\nFIELDALIAS-y = b AS c\n", err: "itself an alias"},
		{name: "lookup column", props: "[st]\nLOOKUP-x = products nope OUTPUT product\n", err: `no column "nope"`},
		{name: "event type search", props: "[st]\n", eventtypes: "[e]\nsearch = sourcetype=st | head 1\n", err: "not allowed"},
		{name: "tag on unknown event type", props: "[st]\n", tags: "[eventtype=nope]\nx = enabled\n", err: "no such event type"},
		{name: "tag value", props: "[st]\n", eventtypes: "[e]\nsearch = a=1\n", tags: "[eventtype=e]\nx = on\n", err: "enabled or disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeApp(t, tt.props, testTransforms, tt.eventtypes, tt.tags, testCSV))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	props := "[st]\nKV_MODE = json\nREPORT-x = t_table\nEVAL-y = lower(m{})\n"
	a, err := Load(writeApp(t, strings.Replace(props, "lower(m{})", "lower('m{}')", 1), testTransforms, "", "", testCSV))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(Event{Sourcetype: "other", Raw: "{}"}); err == nil || !strings.Contains(err.Error(), "no stanza [other]") {
		t.Errorf("unknown sourcetype: err = %v", err)
	}
	if _, err := a.Apply(Event{Sourcetype: "st", Raw: `{"m":["A","B"]}`}); err == nil || !strings.Contains(err.Error(), "multivalue") {
		t.Errorf("scalar function on multivalue: err = %v", err)
	}
	if _, err := a.Apply(Event{Sourcetype: "st", Raw: `{"category":"AH-X","tbl":"json"}`}); err == nil || !strings.Contains(err.Error(), "collides") {
		t.Errorf("REPORT field colliding with a JSON field: err = %v", err)
	}
	res, err := a.Apply(Event{Sourcetype: "st", Raw: `not json`})
	if err != nil {
		t.Fatalf("non-JSON event: %v", err)
	}
	if len(res.Fields) != 2 { // _raw and sourcetype only
		t.Errorf("non-JSON event has fields %q", res.Fields.Names())
	}
}
