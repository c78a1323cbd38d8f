package actions_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ta-m365-defender/ta-m365-defender/src/actions"
)

// TestForRow: each m365_* field replaces its parameter for that result only, checked like the
// parameter, with an error naming the result and the field.
func TestForRow(t *testing.T) {
	base, err := actions.NewConfig(actions.UpdateIncident, map[string]string{"input": "prod", "status": "inProgress",
		"classification": "falsePositive", "determination": "notMalicious", "comment": "param comment"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		action  string
		row     actions.Row
		want    string // Status/AssignedTo/Classification/Determination/Comment
		wantErr string
	}{
		{"no fields", actions.UpdateIncident, actions.Row{"incidentId": {"1"}}, "inProgress||falsePositive|notMalicious|param comment", ""},
		{"all fields", actions.UpdateIncident, actions.Row{"m365_status": {"Resolved"}, "m365_assigned_to": {"t2@contoso.com"},
			"m365_classification": {"True Positive"}, "m365_determination": {"malware"}, "m365_comment": {"row comment"}},
			"resolved|t2@contoso.com|truePositive|malware|row comment", ""},
		{"empty field", actions.UpdateIncident, actions.Row{"m365_status": {"  "}}, "inProgress||falsePositive|notMalicious|param comment", ""},
		{"bad status", actions.UpdateIncident, actions.Row{"m365_status": {"closed"}}, "",
			`alert action m365_defender_update_incident: result 3: field m365_status: "closed" is not a valid value (expected one of active, inProgress, resolved, redirected)`},
		{"alert status on an incident", actions.UpdateIncident, actions.Row{"m365_status": {"new"}}, "", `result 3: field m365_status: "new" is not a valid value`},
		{"bad classification", actions.UpdateIncident, actions.Row{"m365_classification": {"evil"}}, "", `result 3: field m365_classification: "evil"`},
		{"bad determination", actions.UpdateIncident, actions.Row{"m365_determination": {"ransomware"}}, "", `result 3: field m365_determination: "ransomware"`},
		{"classification against the parameter's determination", actions.UpdateIncident, actions.Row{"m365_classification": {"truePositive"}}, "",
			`result 3: field m365_determination: notMalicious is a determination of classification falsePositive, not truePositive (classification "truePositive", determination "notMalicious" after the result's fields)`},
		{"several values", actions.UpdateIncident, actions.Row{"m365_status": {"active", "resolved"}}, "", `result 3: field m365_status: has 2 values (active, resolved): one is expected`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := base.ForRow(3, tt.row)
			if tt.wantErr != "" {
				var re *actions.RowError
				if !errors.As(err, &re) || re.Row != 3 || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join([]string{got.Status, got.AssignedTo, got.Classification, got.Determination, got.Comment}, "|"); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
	t.Run("alert status", func(t *testing.T) {
		c, err := actions.NewConfig(actions.UpdateAlert, map[string]string{"input": "prod", "comment": "x"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.ForRow(1, actions.Row{"m365_status": {"New"}}); err != nil || got.Status != "new" {
			t.Errorf("%+v %v", got, err)
		}
		if _, err := c.ForRow(1, actions.Row{"m365_status": {"redirected"}}); err == nil {
			t.Error("incident status accepted for an alert")
		}
	})
}

// TestPerResultValues runs the incident action over results that set their own values: a bad
// value fails only the target of its result, with an error naming the result and the id.
func TestPerResultValues(t *testing.T) {
	e := newEnv(t)
	inc := e.sim.IncidentIDs()
	before := map[string]graphObject{}
	for _, id := range inc {
		before[id] = object(t, e.sim.Incident, id)
	}
	res := e.resultsFile(t, []string{"incidentId", "m365_status", "m365_classification", "m365_determination", "m365_comment"},
		[]any{inc[0], "Resolved", "true positive", "malware", "row comment"}, // 1: own values
		[]any{inc[1], "closed", nil, nil, nil},                               // 2: invalid status
		[]any{inc[2], nil, nil, nil, nil},                                    // 3: the parameters
		[]any{inc[3], nil, "falsePositive", "malware", nil},                  // 4: determination of another classification
		[]any{inc[4], "active", nil, nil, nil},                               // 5 and 6 disagree
		[]any{inc[4], "resolved", nil, nil, nil},
		[]any{inc[5], []string{"active", "resolved"}, nil, nil, nil}, // 7: multivalue
	)
	cfg := map[string]string{"input": "prod", "status": "inProgress", "assigned_to": "soc@contoso.com", "comment": "param comment"}
	out, err := e.run(t, actions.UpdateIncident, e.payload(t, cfg, res, nil))
	var re *actions.RunError
	if !errors.As(err, &re) || re.Failed != 4 || re.Targets != 6 {
		t.Fatalf("err = %v, want 4 of 6 failed\n%s", err, out)
	}
	if o := object(t, e.sim.Incident, inc[0]); o.Status != "resolved" || o.Classification != "truePositive" || o.Determination != "malware" ||
		o.AssignedTo != "soc@contoso.com" || countComments(o, "row comment") != 1 || countComments(o, "param comment") != 0 {
		t.Errorf("result 1's incident: %+v", o)
	}
	if o := object(t, e.sim.Incident, inc[2]); o.Status != "inProgress" || o.AssignedTo != "soc@contoso.com" || countComments(o, "param comment") != 1 {
		t.Errorf("result 3's incident: %+v", o)
	}
	for _, id := range []string{inc[1], inc[3], inc[4], inc[5]} {
		o := object(t, e.sim.Incident, id)
		if o.Status != before[id].Status || o.AssignedTo != before[id].AssignedTo || len(o.Comments) != len(before[id].Comments) {
			t.Errorf("incident %s was changed: %+v", id, o)
		}
	}
	if st := e.sim.Stats(); st.Requests["PATCH /v1.0/security/incidents/{id}"] != 2 {
		t.Errorf("requests %v", st.Requests)
	}
	failed := map[string]string{
		inc[1]: `alert action m365_defender_update_incident: result 2 (incident ` + inc[1] + `): field m365_status: \"closed\" is not a valid value`,
		inc[3]: `result 4 (incident ` + inc[3] + `): field m365_determination: malware is a determination of classification truePositive, not falsePositive`,
		inc[4]: `result 6 (incident ` + inc[4] + `): m365_status \"resolved\", not \"active\" as result 5 asks: the results naming one incident must agree`,
		inc[5]: `result 7 (incident ` + inc[5] + `): field m365_status: has 2 values (active, resolved): one is expected`,
	}
	lines := logLines(out, "outcome=failed")
	if len(lines) != len(failed) {
		t.Errorf("%d failure lines, want %d:\n%s", len(lines), len(failed), out)
	}
	for id, want := range failed {
		l := logLines(out, " id="+id+" ")
		if len(l) != 1 || !strings.Contains(l[0], want) || !strings.Contains(l[0], "error_kind=config") || !strings.Contains(l[0], "outcome=failed") {
			t.Errorf("incident %s: want one failure line with %s\n%s", id, want, strings.Join(l, "\n"))
		}
	}
	// ES sees the same: the failure of result 2 carries its error
	_, events := readStash(t, e.home)
	ev := byID(events, "incident_id")
	if g := ev[inc[1]+"@1"]; g.get("action_status") != "failure" || !strings.Contains(g.get("signature"), `field m365_status: "closed"`) {
		t.Errorf("ES event of result 2: %v", g)
	}
	if g := ev[inc[0]+"@0"]; g.get("action_status") != "success" {
		t.Errorf("ES event of result 1: %v", g)
	}
}

// TestPerResultValuesOnly: with no parameter asking for a change, the results' own values are
// enough; a result without any is a failure of its own, and a run where no result has one
// still fails up front.
func TestPerResultValuesOnly(t *testing.T) {
	e := newEnv(t)
	al := e.sim.AlertIDs()
	res := e.resultsFile(t, []string{"alertId", "m365_assigned_to"}, []any{al[0], "t3@contoso.com"}, []any{al[1], nil})
	out, err := e.run(t, actions.UpdateAlert, e.payload(t, map[string]string{"input": "prod"}, res, nil))
	var re *actions.RunError
	if !errors.As(err, &re) || re.Failed != 1 || re.Targets != 2 {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if object(t, e.sim.Alert, al[0]).AssignedTo != "t3@contoso.com" {
		t.Error("result 1's alert not assigned")
	}
	if l := logLines(out, " id="+al[1]+" "); len(l) != 1 || !strings.Contains(l[0], "result 2 (alert "+al[1]+"): nothing to do") {
		t.Errorf("log:\n%s", out)
	}

	res = e.resultsFile(t, []string{"alertId"}, []any{al[0]})
	_, err = e.run(t, actions.UpdateAlert, e.payload(t, map[string]string{"input": "prod"}, res, nil))
	if !errors.Is(err, actions.ErrNothingToDo) || !strings.Contains(err.Error(), `parameter "status": nothing to do`) {
		t.Errorf("err = %v", err)
	}
	// with the ids given as a parameter, the results' values are not used
	_, err = e.run(t, actions.UpdateAlert, e.payload(t, map[string]string{"input": "prod", "alert_id": al[0]}, "", map[string]any{"m365_status": "resolved"}))
	if !errors.Is(err, actions.ErrNothingToDo) {
		t.Errorf("err = %v", err)
	}
}
