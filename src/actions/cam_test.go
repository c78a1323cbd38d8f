package actions_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ta-m365-defender/ta-m365-defender/src/actions"
)

const breaker = "==##~~##~~  1E8N3D4E6V5E7N2T9 ~~##~~##=="

// stashEvent is one event of a stash file: its leading time and its key="value" pairs (a
// repeated key gives several values, as Splunk's key-value extraction does).
type stashEvent struct {
	time   string
	fields map[string][]string
}

func (e stashEvent) get(k string) string { return strings.Join(e.fields[k], "|") }

var stashPair = regexp.MustCompile(`^, ([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// readStash reads the one stash file in home's spool directory, checks that splunkd would take
// it (name, header on the first line, breaker lines) and parses its events strictly.
func readStash(t *testing.T, home string) (header string, events []stashEvent) {
	t.Helper()
	spool := filepath.Join(home, "var", "spool", "splunk")
	files, err := os.ReadDir(spool)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || !regexp.MustCompile(`^[0-9]+_[0-9a-f]{16}_events\.stash_new$`).MatchString(files[0].Name()) {
		var names []string
		for _, f := range files {
			names = append(names, f.Name())
		}
		t.Fatalf("spool holds %v, want one <unique>_events.stash_new", names)
	}
	if staged, _ := filepath.Glob(filepath.Join(home, "var", "spool", ".*")); len(staged) != 0 {
		t.Errorf("staging files left behind: %v", staged)
	}
	b, err := os.ReadFile(filepath.Join(spool, files[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"+breaker+"\n")
	header = parts[0]
	if strings.Contains(header, "\n") {
		t.Fatalf("header is not one line: %q", header)
	}
	for _, raw := range parts[1:] {
		if strings.ContainsAny(raw, "\r\n") {
			t.Errorf("event spans lines: %q", raw)
		}
		ev := stashEvent{fields: map[string][]string{}}
		i := strings.IndexByte(raw, ',')
		if i < 0 || !regexp.MustCompile(`^[0-9]{10}$`).MatchString(raw[:i]) {
			t.Fatalf("event does not start with an epoch time: %q", raw)
		}
		ev.time = raw[:i]
		for rest := raw[i:]; rest != ""; {
			m := stashPair.FindStringSubmatch(rest)
			if m == nil {
				t.Fatalf("not stash key=\"value\" pairs at %q in %q", rest, raw)
			}
			v := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[2])
			ev.fields[m[1]] = append(ev.fields[m[1]], v)
			rest = rest[len(m[0]):]
		}
		events = append(events, ev)
	}
	return header, events
}

// byID indexes events by their target id field and rid.
func byID(events []stashEvent, idField string) map[string]stashEvent {
	m := map[string]stashEvent{}
	for _, e := range events {
		m[e.get(idField)+"@"+e.get("rid")] = e
	}
	return m
}

// TestAdaptiveResponseEvents: a scheduled run writes one cim_modactions event per target and
// result row, in a stash file splunkd indexes, with the fields ES Incident Review reads.
func TestAdaptiveResponseEvents(t *testing.T) {
	e := newEnv(t)
	inc := e.sim.IncidentIDs()
	a, b := inc[0], inc[1]
	res := e.resultsFile(t, []string{"incidentId", "orig_sid", "orig_rid", "host"},
		[]any{a, nil, nil, "h1"},
		[]any{b, "scheduler__admin__SplunkEnterpriseSecuritySuite__RMD5corr_at_1733310000_7", "3", "h2"},
		[]any{nil, nil, nil, "no id"},
		[]any{"404404404", nil, nil, "unknown"},
		[]any{a, nil, nil, "a again"},
	)
	// the search name carries a forged breaker and the session key: neither may reach the file
	p := strings.Replace(e.payload(t, map[string]string{"input": "prod", "status": "resolved", "comment": "closed"}, res, nil),
		`"search_name":"Close benign incidents"`, `"search_name":"Close \"benign\" incidents\n`+breaker+`\n`+sessionKey+`"`, 1)
	out, err := e.run(t, actions.UpdateIncident, p)
	var re *actions.RunError
	if !errors.As(err, &re) || re.Failed != 2 || re.Targets != 4 {
		t.Fatalf("err = %v\n%s", err, out)
	}
	header, events := readStash(t, e.home)
	if want := `***SPLUNK*** index="cim_modactions" source="m365_defender_update_incident" sourcetype="modular_alerts:m365_defender_update_incident"`; header != want {
		t.Errorf("header\n%s\nwant\n%s", header, want)
	}
	if len(events) != 5 {
		t.Fatalf("%d events, want 5 (a twice, b, the row without id, the unknown id)", len(events))
	}
	const sid = "scheduler__admin__search__RMD5abc_at_1733320000_42"
	common := map[string]string{
		"search_name": `Close "benign" incidents ` + breaker + " ********", "action_name": actions.UpdateIncident,
		"action_mode": "saved", "app": "search", "user": "admin", "sid": sid,
	}
	ev := byID(events, "incident_id")
	tests := []struct {
		key                                string
		status, rid, origSID, origRID, sig string
	}{
		{a + "@0", "success", "0", sid, "0", "Updated incident " + a + " (status) and added a comment"},
		{a + "@4", "success", "4", sid, "4", "Updated incident " + a + " (status) and added a comment"},
		{b + "@1", "success", "1", "scheduler__admin__SplunkEnterpriseSecuritySuite__RMD5corr_at_1733310000_7", "3", "Updated incident " + b},
		{"@2", "failure", "2", sid, "2", "Result 3 has no incidentId or m365_incident_id or incident_id or id field"},
		{"404404404@3", "failure", "3", sid, "3", "Failed to update incident 404404404: defender: PATCH"},
	}
	for _, tt := range tests {
		got, ok := ev[tt.key]
		if !ok {
			t.Errorf("no event for %s; events %v", tt.key, events)
			continue
		}
		for k, want := range common {
			if got.get(k) != want {
				t.Errorf("%s: %s = %q, want %q", tt.key, k, got.get(k), want)
			}
		}
		for k, want := range map[string]string{"action_status": tt.status, "rid": tt.rid, "orig_sid": tt.origSID, "orig_rid": tt.origRID} {
			if got.get(k) != want {
				t.Errorf("%s: %s = %q, want %q", tt.key, k, got.get(k), want)
			}
		}
		if !strings.HasPrefix(got.get("signature"), tt.sig) {
			t.Errorf("%s: signature %q, want it to start with %q", tt.key, got.get("signature"), tt.sig)
		}
	}
	if l := logLines(out, `msg="adaptive response events written"`); len(l) != 1 || !strings.Contains(l[0], "events=5") {
		t.Errorf("log:\n%s", out)
	}
}

// TestAdaptiveResponseModes: an ad hoc run (ES Incident Review, a notable as the result) is
// action_mode=adhoc and keeps the notable's orig_sid/orig_rid; a real-time scheduled sid loses
// its snapshot suffix to rid; param.action_name renames the action as cim_actions does; an
// action that cannot run still reports its failure for the result.
func TestAdaptiveResponseModes(t *testing.T) {
	t.Run("adhoc notable", func(t *testing.T) {
		e := newEnv(t)
		al := e.sim.AlertIDs()[0]
		p := strings.Replace(e.payload(t, map[string]string{"input": "prod", "status": "inProgress", "action_name": "defender_alert_triage"}, "",
			map[string]any{"alertId": al, "orig_sid": "scheduler__nobody__SA-x__RMD5q_at_1_2", "orig_rid": "5", "rid": "0"}),
			`"sid":"scheduler__admin__search__RMD5abc_at_1733320000_42"`, `"sid":"1733320123.77","user":"analyst"`, 1)
		if out, err := e.run(t, actions.UpdateAlert, p); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		header, events := readStash(t, e.home)
		if !strings.HasSuffix(header, `sourcetype="modular_alerts:m365_defender_update_alert"`) || len(events) != 1 {
			t.Fatalf("%s\n%v", header, events)
		}
		want := map[string]string{"action_mode": "adhoc", "action_name": "defender_alert_triage", "action_status": "success", "sid": "1733320123.77",
			"rid": "0", "orig_sid": "scheduler__nobody__SA-x__RMD5q_at_1_2", "orig_rid": "5", "alert_id": al, "user": "analyst"}
		for k, v := range want {
			if got := events[0].get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	})
	t.Run("real-time snapshot", func(t *testing.T) {
		e := newEnv(t)
		id := e.sim.IncidentIDs()[0]
		p := strings.Replace(e.payload(t, map[string]string{"input": "prod", "assigned_to": "rt@contoso.com"}, "", map[string]any{"incidentId": id}),
			"scheduler__admin__search__RMD5abc_at_1733320000_42", "rt_scheduler__admin__search__RMD5abc_at_1733320000_42.17", 1)
		if out, err := e.run(t, actions.UpdateIncident, p); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		_, events := readStash(t, e.home)
		if len(events) != 1 || events[0].get("sid") != "rt_scheduler__admin__search__RMD5abc_at_1733320000_42" || events[0].get("rid") != "0.17" || events[0].get("action_mode") != "saved" {
			t.Errorf("%v", events)
		}
	})
	t.Run("input not found", func(t *testing.T) {
		e := newEnv(t)
		inc := e.sim.IncidentIDs()
		res := e.resultsFile(t, []string{"incidentId"}, []any{inc[0]}, []any{inc[1]})
		if _, err := e.run(t, actions.UpdateIncident, e.payload(t, map[string]string{"input": "staging", "status": "active"}, res, nil)); err == nil {
			t.Fatal("no error")
		}
		_, events := readStash(t, e.home)
		if len(events) != 2 {
			t.Fatalf("%d events, want one failure per target", len(events))
		}
		for i, ev := range events {
			if ev.get("action_status") != "failure" || ev.get("incident_id") != inc[i] || !strings.Contains(ev.get("signature"), "input m365_defender_incidents://staging not found") {
				t.Errorf("event %d: %v", i, ev)
			}
		}
	})
	t.Run("bad parameter", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.run(t, actions.UpdateIncident, e.payload(t, map[string]string{"input": "prod", "status": "closed"}, "", map[string]any{"incidentId": "7"})); err == nil {
			t.Fatal("no error")
		}
		_, events := readStash(t, e.home)
		if len(events) != 1 || events[0].get("action_status") != "failure" || events[0].get("rid") != "0" ||
			!strings.Contains(events[0].get("signature"), `Alert action could not run: alert action m365_defender_update_incident: parameter "status": "closed"`) {
			t.Errorf("%v", events)
		}
	})
}

// TestAdaptiveResponseNoSpool: without SPLUNK_HOME, or with no spool directory there, the
// updates still happen and one WARN line says why no ES events were written.
func TestAdaptiveResponseNoSpool(t *testing.T) {
	for name, home := range map[string]func(t *testing.T) string{
		"unset":    func(*testing.T) string { return "" },
		"no spool": func(t *testing.T) string { return t.TempDir() },
		"spool is a file": func(t *testing.T) string {
			h := t.TempDir()
			os.MkdirAll(filepath.Join(h, "var", "spool"), 0o755)
			os.WriteFile(filepath.Join(h, "var", "spool", "splunk"), nil, 0o600)
			return h
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			t.Setenv("SPLUNK_HOME", home(t))
			id := e.sim.IncidentIDs()[0]
			out, err := e.run(t, actions.UpdateIncident, e.payload(t, map[string]string{"input": "prod", "status": "inProgress"}, "", map[string]any{"incidentId": id}))
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if object(t, e.sim.Incident, id).Status != "inProgress" {
				t.Error("not updated")
			}
			if w := logLines(out, "WARN "); len(w) != 1 || !strings.Contains(w[0], `msg="adaptive response events not written"`) || !strings.Contains(w[0], "error_kind=output") {
				t.Errorf("want one WARN line:\n%s", out)
			}
		})
	}
}
