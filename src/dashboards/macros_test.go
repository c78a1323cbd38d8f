package dashboards

import (
	"bytes"
	"log/slog"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

func readMacros(t *testing.T) map[string]Macro {
	t.Helper()
	cat, err := LoadCatalog(root, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return cat.Macros
}

func expand(t *testing.T, macros map[string]Macro, q string) []string {
	t.Helper()
	used := map[string]bool{}
	x, err := expandMacros(q, macros, used, 0)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := splitPipeline(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range segs {
		segs[i] = strings.TrimSpace(segs[i])
	}
	return segs
}

func TestIndexMacroDefault(t *testing.T) {
	m := readMacros(t)[IndexMacro]
	if got := strings.TrimSpace(m.Definition); got != "index=*" {
		t.Fatalf("%s definition = %q, want index=* (users narrow it in local/macros.conf)", IndexMacro, got)
	}
}

// row is one event flowing through the simulated pipeline.
type row = map[string][]string

// run executes the eval, sort, dedup and where commands of an expanded macro over rows, with
// the eval expressions evaluated by EvalExpr.
// The leading search segment is skipped; any other command fails the test.
func run(t *testing.T, segs []string, rows []row) []row {
	t.Helper()
	for i, seg := range segs {
		if i == 0 {
			continue
		}
		name, args, _ := strings.Cut(seg, " ")
		switch name {
		case "eval":
			for _, part := range splitTopRaw(args) {
				target, expr, ok := strings.Cut(part, "=")
				if !ok {
					t.Fatalf("eval part %q", part)
				}
				for _, r := range rows {
					vals, err := EvalExpr(strings.TrimSpace(expr), r)
					if err != nil {
						t.Fatalf("eval %s: %v", part, err)
					}
					if vals == nil {
						delete(r, strings.TrimSpace(target))
					} else {
						r[strings.TrimSpace(target)] = vals
					}
				}
			}
		case "sort":
			f := strings.Fields(args)
			switch {
			case len(f) == 3 && f[0] == "0" && f[1] == "-":
				sort.SliceStable(rows, func(a, b int) bool { return numField(t, rows[a], f[2]) > numField(t, rows[b], f[2]) })
			case len(f) == 2 && f[0] == "0":
				sort.SliceStable(rows, func(a, b int) bool { return numField(t, rows[a], f[1]) < numField(t, rows[b], f[1]) })
			default:
				t.Fatalf("sort %q: the simulator knows only 'sort 0 [-] field'", args)
			}
		case "streamstats":
			// current=f window=1 last(a) as x last(b) as y ... by k1 k2 ...
			m := regexp.MustCompile(`^current=f window=1 (.*) by (.*)$`).FindStringSubmatch(args)
			if m == nil {
				t.Fatalf("streamstats %q: not simulated", args)
			}
			aggs := regexp.MustCompile(`last\((\w+)\) as (\w+)`).FindAllStringSubmatch(m[1], -1)
			keys := strings.Fields(m[2])
			prev := map[string]row{}
			for _, r := range rows {
				var k []string
				complete := true
				for _, key := range keys {
					if len(r[key]) == 0 {
						complete = false
					}
					k = append(k, strings.Join(r[key], ","))
				}
				if !complete {
					continue // Splunk leaves events without every by-field out of the groups
				}
				id := strings.Join(k, "\x00")
				if p, ok := prev[id]; ok {
					for _, a := range aggs {
						if v := p[a[1]]; v != nil {
							r[a[2]] = v
						}
					}
				}
				prev[id] = r
			}
		case "dedup":
			seen := map[string]bool{}
			var out []row
			for _, r := range rows {
				k := strings.Join(r[strings.TrimSpace(args)], "\x00")
				if k == "" || seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, r)
			}
			rows = out
		default:
			t.Fatalf("command %q: not simulated", name)
		}
	}
	return rows
}

func numField(t *testing.T, r row, f string) float64 {
	t.Helper()
	if len(r[f]) != 1 {
		return math.Inf(-1)
	}
	n, err := strconv.ParseFloat(r[f][0], 64)
	if err != nil {
		t.Fatalf("%s=%q is not a number", f, r[f][0])
	}
	return n
}

// splitTopRaw splits eval text at the commas outside quotes and parentheses.
func splitTopRaw(s string) []string {
	var parts []string
	var quote byte
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func TestEpochMacro(t *testing.T) {
	macros := readMacros(t)
	tests := []struct {
		ts   string
		want float64
	}{
		{"2024-05-01T10:11:12Z", 1714558272},
		{"2024-05-01T10:11:12.5533333Z", 1714558272.5533333},
		{"2024-05-01T10:11:12.25Z", 1714558272.25},
		{"2021-08-13T08:43:35.5533333Z", 1628844215.5533333},
	}
	for _, tt := range tests {
		t.Run(tt.ts, func(t *testing.T) {
			segs := expand(t, macros, "search x | eval e=`m365_defender_epoch(ts)`")
			rows := run(t, segs, []row{{"ts": {tt.ts}}})
			if got := numField(t, rows[0], "e"); math.Abs(got-tt.want) > 1e-6 {
				t.Fatalf("epoch(%s) = %f, want %f", tt.ts, got, tt.want)
			}
		})
	}
}

// TestIncidentsLatestMacro runs the macro's pipeline over several versions of a Graph incident
// and a legacy incident and expects one row per incident: its latest version, normalised.
func TestIncidentsLatestMacro(t *testing.T) {
	macros := readMacros(t)
	segs := expand(t, macros, "`m365_defender_incidents_latest`")
	if !strings.Contains(segs[0], `sourcetype="ms365:defender:incident"`) || !strings.Contains(segs[0], "index="+indexPlaceholder) {
		t.Fatalf("first segment %q: want the index macro and sourcetype ms365:defender:incident", segs[0])
	}
	rows := []row{
		{"id": {"2972395"}, "status": {"active"}, "severity": {"medium"}, "displayName": {"Multi-stage incident"}, "createdDateTime": {"2024-05-01T10:00:00.1234567Z"}, "lastUpdateDateTime": {"2024-05-01T10:05:00.1234567Z"}, "incidentWebUrl": {"https://security.microsoft.com/incidents/2972395?tid=t"}},
		{"id": {"2972395"}, "status": {"resolved"}, "severity": {"high"}, "displayName": {"Multi-stage incident"}, "classification": {"truePositive"}, "determination": {"multiStagedAttack"}, "assignedTo": {"secadmin@contoso.com"}, "createdDateTime": {"2024-05-01T10:00:00.1234567Z"}, "lastUpdateDateTime": {"2024-05-02T09:00:00.5Z"}},
		{"id": {"2972395"}, "status": {"inProgress"}, "severity": {"high"}, "createdDateTime": {"2024-05-01T10:00:00.1234567Z"}, "lastUpdateDateTime": {"2024-05-01T18:00:00Z"}},
		{"incidentId": {"924518"}, "status": {"Active"}, "severity": {"Low"}, "incidentName": {"Email reported by user as malware or phish"}, "createdTime": {"2024-05-03T07:00:00.57Z"}, "lastUpdateTime": {"2024-05-03T08:00:00.9Z"}},
		{"incidentId": {"924518"}, "status": {"Redirected"}, "severity": {"Low"}, "incidentName": {"Email reported by user as malware or phish"}, "createdTime": {"2024-05-03T07:00:00.57Z"}, "lastUpdateTime": {"2024-05-03T07:30:00Z"}},
	}
	got := run(t, segs, rows)
	if len(got) != 2 {
		t.Fatalf("%d rows, want 2 (one per incident)", len(got))
	}
	want := []map[string]string{
		{"m365_incident_id": "924518", "m365_status": "active", "m365_severity": "low", "m365_open": "1", "m365_title": "Email reported by user as malware or phish", "m365_assigned_to": "(unassigned)", "m365_classification": "unknown", "m365_url": "https://security.microsoft.com/incidents/924518", "m365_severity_rank": "2"},
		{"m365_incident_id": "2972395", "m365_status": "resolved", "m365_severity": "high", "m365_open": "0", "m365_title": "Multi-stage incident", "m365_assigned_to": "secadmin@contoso.com", "m365_classification": "truepositive", "m365_determination": "multistagedattack", "m365_url": "https://security.microsoft.com/incidents/2972395", "m365_severity_rank": "4"},
	}
	for i, w := range want {
		for k, v := range w {
			if g := strings.Join(got[i][k], ","); g != v {
				t.Errorf("row %d (%s): %s = %q, want %q", i, w["m365_incident_id"], k, g, v)
			}
		}
	}
	if created, updated := numField(t, got[1], "m365_created"), numField(t, got[1], "m365_updated"); math.Abs(updated-created-82800.3765433) > 1e-4 {
		t.Errorf("time to resolve = %f s, want 82800.3765433", updated-created)
	}
}

// TestPartitionDeltasMacro: cumulative partition counters become per-line increments, per
// partition, across a restart, with poll lines left alone.
func TestPartitionDeltasMacro(t *testing.T) {
	macros := readMacros(t)
	segs := expand(t, macros, "search x | `m365_defender_partition_deltas`")
	p := func(ts, part, records, bytes string) row {
		return row{"_time": {ts}, "stanza": {"m365_defender_eventhub://hub"}, "event_hub": {"eh"}, "partition": {part}, "records": {records}, "bytes": {bytes}}
	}
	rows := []row{
		p("300", "0", "150", "1500"), // later lines first: the macro sorts by time
		p("100", "0", "100", "1000"),
		p("200", "1", "40", "400"),
		p("400", "0", "20", "200"), // restarted: counter began again
		p("200", "0", "120", "1200"),
		{"_time": {"250"}, "stanza": {"m365_defender_incidents://prod"}, "events": {"7"}},
		p("300", "1", "90", "900"),
	}
	got := run(t, segs, rows)
	var out []string
	for _, r := range got {
		out = append(out, strings.Join(r["_time"], "")+":"+strings.Join(r["partition"], "")+"="+strings.Join(r["m365_records"], "")+"/"+strings.Join(r["m365_bytes"], ""))
	}
	want := "100:0=0/0 200:1=0/0 200:0=20/200 250:=/ 300:0=30/300 300:1=50/500 400:0=20/200"
	if strings.Join(out, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(out, " "), want)
	}
}

// splunkdLine wraps a line the binary wrote to stderr the way splunkd files it in splunkd.log.
func splunkdLine(component, line string) string {
	ts := "12-04-2026 15:00:00.123 +0000"
	if component == "sendmodalert" {
		return ts + " ERROR sendmodalert [4242 AlertNotifierWorker-0] - action=m365_defender_update_incident STDERR -  " + line
	}
	return ts + " INFO  ExecProcessor [4242 ExecProcessorSchedulerThread] - message from \"/opt/splunk/etc/apps/TA-m365-defender/bin/m365_defender_incidents.sh\" " + line
}

// TestInternalMacroExtractsLogLines writes lines with the project's own log handler, wraps
// them as splunkd does, and applies the m365_defender_internal macro's rex commands (SPL
// string escapes undone, Go's RE2 standing in for PCRE): every key of the logging contract
// must come out with the value that was logged.
func TestInternalMacroExtractsLogLines(t *testing.T) {
	macros := readMacros(t)
	segs := expand(t, macros, "`m365_defender_internal`")
	for _, k := range append(append([]string{}, logKeys...), actionKeys...) {
		if !strings.Contains(strings.Join(segs, "|"), "(?<"+k+">") {
			t.Errorf("m365_defender_internal does not extract the logging-contract key %q", k)
		}
	}

	var buf bytes.Buffer
	log := slog.New(modinput.NewLogHandler(&buf, modinput.LogOptions{Level: slog.LevelDebug}))
	cp := time.Date(2026, 12, 4, 14, 55, 0, 0, time.UTC)
	inc := log.With("stanza", "m365_defender_incidents://prod", "input", "m365_defender_incidents")
	inc.Info("poll complete", "events", 42, "pages", 3, "duration_ms", 1234, "checkpoint_time", cp.Format(time.RFC3339))
	inc.Warn("retrying", "error_kind", "throttling", "attempt", 2, "wait_ms", 1500, "error", `graph: 429 TooManyRequests "Too many requests"`)
	inc.Error("poll failed", "error", `incidents: page 2: stanza "prod": AADSTS7000215: Invalid client secret provided`, "error_kind", "auth")
	log.Info("partition stats", "stanza", "m365_defender_eventhub://hub1", "input", "m365_defender_eventhub", "event_hub", "insights-logs-advancedhunting-deviceevents", "partition", 3, "records", 5000, "bytes", 1048576, "records_per_sec", 83.3, "lag", 17)
	log.Error("update failed", "action", "m365_defender_update_incident", "stanza", "m365_defender_incidents://prod", "target", "incident", "id", "2972395", "outcome", "failed", "error_kind", "api", "error", "graph: 404 NotFound")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d log lines:\n%s", len(lines), buf.String())
	}
	want := []map[string]string{
		{"m365_level": "INFO", "msg": "poll complete", "stanza": "m365_defender_incidents://prod", "input": "m365_defender_incidents", "events": "42", "pages": "3", "duration_ms": "1234", "checkpoint_time": "2026-12-04T14:55:00Z"},
		{"m365_level": "WARN", "msg": "retrying", "error_kind": "throttling", "attempt": "2", "wait_ms": "1500", "error": `graph: 429 TooManyRequests \"Too many requests\"`, "stanza": "m365_defender_incidents://prod"},
		{"m365_level": "ERROR", "msg": "poll failed", "error_kind": "auth", "error": `incidents: page 2: stanza \"prod\": AADSTS7000215: Invalid client secret provided`, "input": "m365_defender_incidents"},
		{"m365_level": "INFO", "msg": "partition stats", "event_hub": "insights-logs-advancedhunting-deviceevents", "partition": "3", "records": "5000", "bytes": "1048576", "records_per_sec": "83.3", "lag": "17", "stanza": "m365_defender_eventhub://hub1"},
		{"m365_level": "ERROR", "m365_action": "m365_defender_update_incident", "msg": "update failed", "action": "m365_defender_update_incident", "target": "incident", "id": "2972395", "outcome": "failed", "error_kind": "api", "error": "graph: 404 NotFound"},
	}
	for i, line := range lines {
		component := "ExecProcessor"
		if i == 4 {
			component = "sendmodalert"
		}
		got := applyRex(t, segs, splunkdLine(component, line))
		for k, v := range want[i] {
			if got[k] != v {
				t.Errorf("line %d %s: %s = %q, want %q\n%s", i, component, k, got[k], v, line)
			}
		}
		if _, ok := got["events"]; ok && i != 0 {
			t.Errorf("line %d: events extracted from a line without it", i)
		}
	}
}

// applyRex applies the rex commands of segs in order to a splunkd.log line, and the
// unquoting eval of m365_defender_kv.
func applyRex(t *testing.T, segs []string, raw string) map[string]string {
	t.Helper()
	fields := map[string]string{"_raw": raw}
	unquote := regexp.MustCompile(`^eval (\w+)=if\(like\((\w+), "\\"%"\), substr\((\w+), 2, len\((\w+)\)-2\), (\w+)\)$`)
	for _, seg := range segs[1:] {
		name, args, _ := strings.Cut(seg, " ")
		switch name {
		case "rex":
			args, kv := stripOptions(args, commandOptions["rex"])
			toks := lexSearch(args)
			if len(toks) != 1 || toks[0].kind != tString {
				t.Fatalf("rex %q", args)
			}
			re, err := regexp.Compile(toks[0].text)
			if err != nil {
				t.Fatalf("rex %q: %v", toks[0].text, err)
			}
			in, ok := fields[orDefault(kv["field"], "_raw")]
			if !ok {
				continue
			}
			m := re.FindStringSubmatch(in)
			if m == nil {
				continue
			}
			for j, n := range re.SubexpNames() {
				if n != "" && m[j] != "" {
					fields[n] = m[j]
				}
			}
		case "eval":
			if sm := unquote.FindStringSubmatch(seg); sm != nil {
				if v, ok := fields[sm[1]]; ok && strings.HasPrefix(v, `"`) {
					fields[sm[1]] = v[1 : len(v)-1]
				}
				continue
			}
			if seg == "eval action=coalesce(action, m365_action)" {
				if fields["action"] == "" {
					fields["action"] = fields["m365_action"]
				}
				continue
			}
			t.Fatalf("eval %q is not simulated", seg)
		case "where":
			if _, ok := fields["m365_line"]; !ok {
				return fields
			}
		default:
			t.Fatalf("command %q is not simulated", name)
		}
	}
	return fields
}

// TestEveryMacro: each macro that starts a search passes the checker on its own, and every
// macro is used by a view or by another macro (none is left behind after a rename).
func TestEveryMacro(t *testing.T) {
	cat := loadCatalog(t)
	used := map[string]bool{}
	for _, b := range readViews(t) {
		v, err := ParseView(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		for _, ds := range v.Definition.DataSources {
			u := map[string]bool{}
			if _, err := expandMacros(SubstituteTokens(ds.Options.Query), cat.Macros, u, 0); err != nil {
				t.Fatal(err)
			}
			for m := range u {
				used[m] = true
			}
		}
	}
	for name, m := range cat.Macros {
		if strings.TrimSpace(m.Definition) == "" {
			t.Errorf("macro %s has no definition", name)
		}
		u := map[string]bool{}
		if _, err := expandMacros(m.Definition, cat.Macros, u, 0); err != nil {
			t.Errorf("macro %s: %v", name, err)
		}
		for x := range u {
			if x != name {
				used[x] = true
			}
		}
		def := strings.TrimSpace(m.Definition)
		if len(m.Args) == 0 && (strings.HasPrefix(def, "`") || strings.HasPrefix(def, "index=")) && name != IndexMacro {
			if r := Check("`"+name+"`", cat, nil); len(r.Problems) > 0 {
				t.Errorf("macro %s:\n%s", name, strings.Join(r.Problems, "\n"))
			}
		}
	}
	for name := range cat.Macros {
		if !used[name] {
			t.Errorf("macro %s is used by no view and no other macro", name)
		}
	}
}
