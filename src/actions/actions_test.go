package actions_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/actions"
	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

const sessionKey = "sess-0123456789abcdef-KEY"

// fakeSplunkd answers the two REST calls the actions make, the way splunkd does with
// output_mode=json: data/inputs/<scheme>/<name> and storage/passwords/<realm:user:>.
type fakeSplunkd struct {
	*httptest.Server
	mu        sync.Mutex
	inputs    map[string]map[string]any // "app/scheme/name" → content
	passwords map[string]string         // "app/realm:user:" → clear password
	requests  []string
}

func newFakeSplunkd(t *testing.T) *fakeSplunkd {
	f := &fakeSplunkd{inputs: map[string]map[string]any{}, passwords: map[string]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeSplunkd) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.EscapedPath())
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Splunk "+sessionKey {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}`)
		return
	}
	if r.URL.Query().Get("output_mode") != "json" || r.Method != http.MethodGet {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"messages":[{"type":"ERROR","text":"unexpected request"}]}`)
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.EscapedPath(), "/servicesNS/nobody/"), "/", 2)
	if len(parts) != 2 {
		http.NotFound(w, r)
		return
	}
	app, rest := parts[0], parts[1]
	notFound := func(what string) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"messages":[{"type":"ERROR","text":"Could not find object id=%s"}]}`, what)
	}
	switch {
	case strings.HasPrefix(rest, "data/inputs/"):
		seg := strings.Split(strings.TrimPrefix(rest, "data/inputs/"), "/")
		if len(seg) != 2 {
			notFound(rest)
			return
		}
		scheme, _ := url.PathUnescape(seg[0])
		name, _ := url.PathUnescape(seg[1])
		content, ok := f.inputs[app+"/"+scheme+"/"+name]
		if !ok {
			notFound(name)
			return
		}
		c := map[string]any{"disabled": false, "interval": 300, "eai:appName": app, "eai:acl": map[string]any{"app": app}}
		for k, v := range content {
			c[k] = v
		}
		json.NewEncoder(w).Encode(map[string]any{"entry": []any{map[string]any{"name": name, "content": c}}})
	case strings.HasPrefix(rest, "storage/passwords/"):
		entity, _ := url.PathUnescape(strings.TrimPrefix(rest, "storage/passwords/"))
		pw, ok := f.passwords[app+"/"+entity]
		if !ok {
			notFound(entity)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"entry": []any{map[string]any{"name": entity,
			"content": map[string]any{"clear_password": pw, "password": "********", "username": "client_secret"}}}})
	default:
		notFound(rest)
	}
}

func (f *fakeSplunkd) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// instantClock makes the Graph client's retries immediate.
type instantClock struct{}

func (instantClock) Now() time.Time                                   { return time.Now() }
func (instantClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

type env struct {
	sim  *simulator.Server
	sd   *fakeSplunkd
	dir  string
	home string // $SPLUNK_HOME, with var/spool/splunk
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := simulator.New(simulator.Options{Incidents: 6, AlertsPerIncident: 2, Seed: 11})
	t.Cleanup(s.Close)
	sd := newFakeSplunkd(t)
	sd.inputs["TA-m365-defender/m365_defender_incidents/prod"] = map[string]any{
		"tenant_id": s.TenantID, "client_id": s.ClientID, "client_secret": "********",
		"environment": "commercial", "api": "graph", "login_url": s.URL, "api_url": s.URL, "expand_alerts": true,
	}
	sd.passwords[`TA-m365-defender/m365_defender_incidents\://prod:client_secret:`] = s.ClientSecret
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "var", "spool", "splunk"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SPLUNK_HOME", home)
	return &env{sim: s, sd: sd, dir: t.TempDir(), home: home}
}

// resultsFile writes rows as splunkd's results.csv.gz, with __mv_ columns for multivalues.
func (e *env) resultsFile(t *testing.T, header []string, rows ...[]any) string {
	t.Helper()
	var cols []string
	for _, h := range header {
		cols = append(cols, h, "__mv_"+h)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	cw := csv.NewWriter(zw)
	cw.Write(cols)
	for _, r := range rows {
		var rec []string
		for _, v := range r {
			switch x := v.(type) {
			case []string:
				var mv []string
				for _, s := range x {
					mv = append(mv, "$"+strings.ReplaceAll(s, "$", "$$")+"$")
				}
				rec = append(rec, strings.Join(x, "\n"), strings.Join(mv, ";"))
			case nil:
				rec = append(rec, "", "")
			default:
				rec = append(rec, fmt.Sprint(x), "")
			}
		}
		cw.Write(rec)
	}
	cw.Flush()
	zw.Close()
	p := filepath.Join(e.dir, fmt.Sprintf("results%d.csv.gz", time.Now().UnixNano()))
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) payload(t *testing.T, config map[string]string, resultsFile string, first map[string]any) string {
	t.Helper()
	p := map[string]any{
		"app": "search", "owner": "admin", "server_host": "sh1", "server_uri": e.sd.URL, "session_key": sessionKey,
		"sid": "scheduler__admin__search__RMD5abc_at_1733320000_42", "search_name": "Close benign incidents",
		"results_file": resultsFile, "results_link": "https://sh1:8000/app/search/search?sid=x",
		"configuration": config, "result": first,
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *env) run(t *testing.T, action, payload string) (string, error) {
	t.Helper()
	var stderr bytes.Buffer
	err := actions.Execute(context.Background(), action, strings.NewReader(payload), &stderr,
		actions.Deps{HTTPClient: e.sim.Client(), SplunkdClient: e.sd.Client(), Clock: instantClock{}})
	out := stderr.String()
	spooled, _ := filepath.Glob(filepath.Join(e.home, "var", "spool", "splunk", "*"))
	for _, secret := range []string{e.sim.ClientSecret, sessionKey} {
		if strings.Contains(out, secret) {
			t.Errorf("a secret appears in the log:\n%s", out)
		}
		for _, f := range spooled {
			if b, _ := os.ReadFile(f); strings.Contains(string(b), secret) {
				t.Errorf("a secret appears in the ES events of %s:\n%s", f, b)
			}
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" && !strings.HasPrefix(line, "INFO ") && !strings.HasPrefix(line, "WARN ") && !strings.HasPrefix(line, "ERROR ") && !strings.HasPrefix(line, "DEBUG ") {
			t.Errorf("log line breaks the LEVEL key=value contract: %q", line)
		}
	}
	return out, err
}

type graphObject struct {
	ID             string   `json:"id"`
	IncidentID     string   `json:"incidentId"`
	Status         string   `json:"status"`
	AssignedTo     string   `json:"assignedTo"`
	Classification string   `json:"classification"`
	Determination  string   `json:"determination"`
	CustomTags     []string `json:"customTags"`
	Comments       []struct {
		Comment string `json:"comment"`
	} `json:"comments"`
}

func object(t *testing.T, get func(string) ([]byte, error), id string) graphObject {
	t.Helper()
	b, err := get(id)
	if err != nil {
		t.Fatal(err)
	}
	var o graphObject
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func countComments(o graphObject, text string) int {
	n := 0
	for _, c := range o.Comments {
		if c.Comment == text {
			n++
		}
	}
	return n
}

func logLines(out, substr string) []string {
	var l []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, substr) {
			l = append(l, line)
		}
	}
	return l
}

// TestUpdateIncidentsFromResults runs the incident action over every row of a results file:
// Graph incidents (id), alerts (incidentId wins over their own id), a multivalue incidentId,
// a duplicate and a row without an id.
func TestUpdateIncidentsFromResults(t *testing.T) {
	e := newEnv(t)
	inc := e.sim.IncidentIDs()
	a, b, c := inc[0], inc[1], inc[2]
	before := object(t, e.sim.Incident, a)
	alertOfB := ""
	for _, id := range e.sim.AlertIDs() {
		if object(t, e.sim.Alert, id).IncidentID == b {
			alertOfB = id
			break
		}
	}
	if alertOfB == "" {
		t.Fatal("no alert of incident b")
	}
	results := e.resultsFile(t, []string{"sourcetype", "id", "incidentId", "title"},
		[]any{"ms365:defender:incident", a, nil, "first"},
		[]any{"ms365:defender:incident:alerts", alertOfB, b, "an alert of b"},
		[]any{"summary", nil, []string{a, c}, "stats values(incidentId)"},
		[]any{"ms365:defender:incident", nil, nil, "no id"},
		[]any{"ms365:defender:incident", a, nil, "a again"},
	)
	cfg := map[string]string{
		"input": "prod", "incident_id": "", "status": "Resolved", "classification": "True Positive",
		"determination": "malware", "assigned_to": "soc@contoso.com", "custom_tags": "splunk, case-7",
		"custom_tags_mode": "add", "comment": "Closed by Splunk alert",
	}
	out, err := e.run(t, actions.UpdateIncident, e.payload(t, cfg, results, map[string]any{"id": a}))
	var re *actions.RunError
	if !errors.As(err, &re) || re.Failed != 1 || re.Targets != 4 {
		t.Fatalf("err = %v, want 1 of 4 failed\n%s", err, out)
	}
	for _, id := range []string{a, b, c} {
		o := object(t, e.sim.Incident, id)
		if o.Status != "resolved" || o.Classification != "truePositive" || o.Determination != "malware" || o.AssignedTo != "soc@contoso.com" {
			t.Errorf("incident %s: %+v", id, o)
		}
		if n := countComments(o, "Closed by Splunk alert"); n != 1 {
			t.Errorf("incident %s has the comment %d times, want 1", id, n)
		}
		if l := logLines(out, "outcome=updated"); !strings.Contains(strings.Join(l, "\n"), " id="+id+" ") {
			t.Errorf("no outcome=updated line for %s:\n%s", id, out)
		}
	}
	// add mode keeps the tags the incident had
	got := object(t, e.sim.Incident, a).CustomTags
	want := append(append([]string{}, before.CustomTags...), "splunk", "case-7")
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("tags of %s = %v, want %v", a, got, want)
	}
	// the alert of b was not touched: the incident action updates incidents
	if o := object(t, e.sim.Alert, alertOfB); countComments(o, "Closed by Splunk alert") != 0 {
		t.Errorf("the alert got the incident's comment")
	}
	bad := logLines(out, "outcome=failed")
	if len(bad) != 1 || !strings.Contains(bad[0], "result=4") || !strings.Contains(bad[0], "error_kind=config") || !strings.Contains(bad[0], "no incidentId or m365_incident_id or incident_id or id field") {
		t.Errorf("failure lines:\n%s", strings.Join(bad, "\n"))
	}
	if l := logLines(out, `msg="alert action complete"`); len(l) != 1 || !strings.Contains(l[0], "updated=3") || !strings.Contains(l[0], "failed=1") {
		t.Errorf("summary:\n%s", out)
	}
	if st := e.sim.Stats(); st.Requests["PATCH /v1.0/security/incidents/{id}"] != 3 || st.Requests["POST /v1.0/security/incidents/{id}/comments"] != 3 {
		t.Errorf("requests %v", st.Requests)
	}
}

// TestUpdateAlertsByParameter updates the alerts named by alert_id; an unknown id fails alone.
func TestUpdateAlertsByParameter(t *testing.T) {
	e := newEnv(t)
	al := e.sim.AlertIDs()
	cfg := map[string]string{"input": "m365_defender_incidents://prod", "alert_id": al[0] + ", 999999999999, " + al[1] + " " + al[0],
		"status": "in progress", "classification": "informational, expected activity", "determination": "SecurityTesting", "comment": "pen test"}
	out, err := e.run(t, actions.UpdateAlert, e.payload(t, cfg, "", nil))
	var re *actions.RunError
	if !errors.As(err, &re) || re.Failed != 1 || re.Targets != 3 {
		t.Fatalf("err = %v\n%s", err, out)
	}
	for _, id := range al[:2] {
		o := object(t, e.sim.Alert, id)
		if o.Status != "inProgress" || o.Classification != "informationalExpectedActivity" || o.Determination != "securityTesting" || countComments(o, "pen test") != 1 {
			t.Errorf("alert %s: %+v", id, o)
		}
	}
	failed := logLines(out, "outcome=failed")
	if len(failed) != 1 || !strings.Contains(failed[0], "id=999999999999") || !strings.Contains(failed[0], "404") || !strings.Contains(failed[0], "error_kind=api") || !strings.Contains(failed[0], "target=alert") {
		t.Errorf("failure lines:\n%s", out)
	}
}

// TestUpdateFromSingleResult uses the payload's result when there is no results file, and
// retries a throttled call.
func TestUpdateFromSingleResult(t *testing.T) {
	e := newEnv(t)
	id := e.sim.IncidentIDs()[3]
	e.sim.Throttle(1, 2*time.Second)
	out, err := e.run(t, actions.UpdateIncident, e.payload(t, map[string]string{"input": "prod", "comment": "seen in Splunk"}, "", map[string]any{"incidentId": id, "count": 3}))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if countComments(object(t, e.sim.Incident, id), "seen in Splunk") != 1 {
		t.Error("comment missing")
	}
	if l := logLines(out, `msg=retrying`); len(l) != 1 || !strings.Contains(l[0], "error_kind=throttling") || !strings.Contains(l[0], "action=m365_defender_update_incident") {
		t.Errorf("retry lines:\n%s", out)
	}
	if st := e.sim.Stats(); st.Requests["PATCH /v1.0/security/incidents/{id}"] != 0 {
		t.Errorf("a comment-only run sent a PATCH: %v", st.Requests)
	}
}

// TestConfigErrors: invalid configuration fails before splunkd or Microsoft is called.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, action string
		cfg          map[string]string
		want         string
	}{
		{"no input", actions.UpdateIncident, map[string]string{"status": "active"}, `parameter "input": required`},
		{"bad scheme", actions.UpdateIncident, map[string]string{"input": "m365_defender_eventhub://x", "status": "active"}, `the scheme must be`},
		{"bad status", actions.UpdateIncident, map[string]string{"input": "prod", "status": "closed"}, `parameter "status": "closed" is not a valid value (expected one of active, inProgress, resolved, redirected)`},
		{"alert status on incident", actions.UpdateIncident, map[string]string{"input": "prod", "status": "new"}, `parameter "status": "new" is not a valid value`},
		{"bad classification", actions.UpdateAlert, map[string]string{"input": "prod", "classification": "evil"}, `parameter "classification": "evil"`},
		{"bad determination", actions.UpdateAlert, map[string]string{"input": "prod", "determination": "ransomware"}, `parameter "determination": "ransomware"`},
		{"determination of another classification", actions.UpdateIncident, map[string]string{"input": "prod", "classification": "falsePositive", "determination": "malware"}, `malware is a determination of classification truePositive, not falsePositive`},
		{"tags on alerts", actions.UpdateAlert, map[string]string{"input": "prod", "custom_tags": "x"}, `parameter "custom_tags": alerts have no custom tags`},
		{"bad tags mode", actions.UpdateIncident, map[string]string{"input": "prod", "custom_tags": "x", "custom_tags_mode": "merge"}, `parameter "custom_tags_mode": "merge": expected add or replace`},
		{"nothing to do", actions.UpdateIncident, map[string]string{"input": "prod", "custom_tags": ""}, `nothing to do`},
		{"bad id", actions.UpdateIncident, map[string]string{"input": "prod", "incident_id": "1/../2", "status": "active"}, `parameter "incident_id": "1/../2" is not an incident or alert id`},
		{"unknown action", "m365_defender_delete_incident", map[string]string{"input": "prod"}, `unknown alert action`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			out, err := e.run(t, tt.action, e.payload(t, tt.cfg, "", map[string]any{"id": "1"}))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if l := logLines(out, "ERROR "); len(l) != 1 || !strings.Contains(l[0], "error_kind=config") {
				t.Errorf("log:\n%s", out)
			}
			if n := len(e.sd.calls()); n != 0 {
				t.Errorf("%d splunkd calls before the configuration was valid", n)
			}
			if n := e.sim.Stats().APICalls(); n != 0 {
				t.Errorf("%d API calls before the configuration was valid", n)
			}
		})
	}
}

func TestCredentialErrors(t *testing.T) {
	t.Run("input not found", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.run(t, actions.UpdateIncident, e.payload(t, map[string]string{"input": "staging", "status": "active"}, "", map[string]any{"id": "1"}))
		if err == nil || !strings.Contains(err.Error(), `input m365_defender_incidents://staging not found in app TA-m365-defender or search`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("input in the search's app", func(t *testing.T) {
		e := newEnv(t)
		e.sd.inputs["search/m365_defender_alerts/eu"] = e.sd.inputs["TA-m365-defender/m365_defender_incidents/prod"]
		e.sd.passwords[`search/m365_defender_alerts\://eu:client_secret:`] = e.sim.ClientSecret
		id := e.sim.IncidentIDs()[0]
		out, err := e.run(t, actions.UpdateIncident, e.payload(t, map[string]string{"input": "m365_defender_alerts://eu", "assigned_to": "eu@contoso.com"}, "", map[string]any{"id": id}))
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if object(t, e.sim.Incident, id).AssignedTo != "eu@contoso.com" {
			t.Error("not updated")
		}
	})
	t.Run("secret not stored", func(t *testing.T) {
		e := newEnv(t)
		clear(e.sd.passwords)
		_, err := e.run(t, actions.UpdateIncident, e.payload(t, map[string]string{"input": "prod", "status": "active"}, "", map[string]any{"id": "1"}))
		if err == nil || !strings.Contains(err.Error(), "has no client secret in storage/passwords") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		e := newEnv(t)
		e.sd.passwords[`TA-m365-defender/m365_defender_incidents\://prod:client_secret:`] = "not-the-secret-1234"
		ids := strings.Join(e.sim.IncidentIDs()[:4], ",")
		out, err := e.run(t, actions.UpdateIncident, e.payload(t, map[string]string{"input": "prod", "status": "active", "incident_id": ids}, "", nil))
		var re *actions.RunError
		if !errors.As(err, &re) || re.Failed != 4 || re.Targets != 4 || !strings.Contains(out, "AADSTS7000215") || !strings.Contains(out, "error_kind=auth") {
			t.Fatalf("err = %v\n%s", err, out)
		}
		// the first refusal stops the run: the other targets would fail the same way
		if n := len(logLines(out, `msg="incident update failed"`)); n != 1 || !strings.Contains(out, `msg="alert action stopped"`) || !strings.Contains(out, "skipped=3") {
			t.Errorf("%d failure lines:\n%s", n, out)
		}
		if strings.Contains(out, "not-the-secret-1234") {
			t.Error("the wrong secret was logged")
		}
	})
	t.Run("bad session key", func(t *testing.T) {
		e := newEnv(t)
		p := strings.Replace(e.payload(t, map[string]string{"input": "prod", "status": "active"}, "", map[string]any{"id": "1"}), sessionKey, "expired-session-key", 1)
		out, err := e.run(t, actions.UpdateIncident, p)
		if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(out, "expired-session-key") {
			t.Fatalf("err = %v\n%s", err, out)
		}
	})
}

func TestPayloadErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ name, payload, want string }{
		{"empty", "", "empty payload"},
		{"xml", `<?xml version="1.0"?><alert></alert>`, "payload_format = json"},
		{"not json", `{"configuration":`, "not valid JSON"},
		{"object in config", `{"configuration":{"input":{"a":1}}}`, `configuration "input"`},
		{"missing results file", e.payload(t, map[string]string{"input": "prod", "status": "active"}, filepath.Join(e.dir, "gone.csv.gz"), nil), "gone.csv.gz"},
		{"no results, no id", e.payload(t, map[string]string{"input": "prod", "status": "active"}, e.resultsFile(t, []string{"id"}), nil), "no results and no id"},
		{"no result has an id", e.payload(t, map[string]string{"input": "prod", "status": "active"}, e.resultsFile(t, []string{"host"}, []any{"a"}, []any{"b"}, []any{"c"}), nil), "none of the 3 results has a field incidentId or m365_incident_id or incident_id or id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.run(t, actions.UpdateIncident, tt.payload)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if n := e.sim.Stats().APICalls(); n != 0 {
		t.Errorf("%d API calls", n)
	}
}

func TestReadResults(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "r.csv")
	os.WriteFile(plain, []byte("incidentId,__mv_incidentId,note\r\n1,,a\r\n\"2\n3\",$2$;$3$,\"x,y\"\r\n,,$$\r\n4,$4$;$a$$b$,\r\n"), 0o600)
	var got []string
	n, err := actions.ReadResults(plain, func(i int, r actions.Row) error {
		got = append(got, fmt.Sprintf("%d:%s|%s", i, strings.Join(r["incidentId"], "+"), strings.Join(r["note"], "+")))
		if _, ok := r["__mv_incidentId"]; ok {
			t.Error("__mv_ column passed on")
		}
		return nil
	})
	if err != nil || n != 4 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if want := "1:1|a 2:2+3|x,y 3:|$$ 4:4+a$b|"; strings.Join(got, " ") != want {
		t.Errorf("rows %q, want %q", strings.Join(got, " "), want)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("id,__mv_id\n1,$1\n"), 0o600)
	_, err = actions.ReadResults(bad, func(int, actions.Row) error { return nil })
	var re *actions.ResultsError
	if !errors.As(err, &re) || re.Row != 1 || !strings.Contains(err.Error(), "__mv_id") {
		t.Errorf("err = %v", err)
	}
	gz := filepath.Join(dir, "corrupt.csv.gz")
	os.WriteFile(gz, []byte{0x1f, 0x8b, 0, 1, 2}, 0o600)
	if _, err := actions.ReadResults(gz, func(int, actions.Row) error { return nil }); err == nil {
		t.Error("corrupt gzip accepted")
	}
}

// TestManyResults reads a results file of 2,000 rows naming 40 incidents: every incident is
// updated once.
func TestManyResults(t *testing.T) {
	e := newEnv(t)
	ids := e.sim.IncidentIDs()
	var rows [][]any
	for i := 0; i < 2000; i++ {
		rows = append(rows, []any{ids[i%len(ids)], fmt.Sprint(i)})
	}
	res := e.resultsFile(t, []string{"incidentId", "n"}, rows...)
	out, err := e.run(t, actions.UpdateIncident, e.payload(t, map[string]string{"input": "prod", "status": "inProgress"}, res, nil))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := e.sim.Stats().Requests["PATCH /v1.0/security/incidents/{id}"]; n != len(ids) {
		t.Errorf("%d PATCHes, want %d", n, len(ids))
	}
}

// TestIDFromDashboardColumns: rows of the dashboards' tables (alert_id) and of the macros
// (m365_alert_id) name their alert too.
func TestIDFromDashboardColumns(t *testing.T) {
	e := newEnv(t)
	al := e.sim.AlertIDs()
	res := e.resultsFile(t, []string{"alert_id", "m365_alert_id"}, []any{al[0], nil}, []any{nil, al[1]})
	out, err := e.run(t, actions.UpdateAlert, e.payload(t, map[string]string{"input": "prod", "assigned_to": "tier2@contoso.com"}, res, nil))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, id := range al[:2] {
		if object(t, e.sim.Alert, id).AssignedTo != "tier2@contoso.com" {
			t.Errorf("alert %s not assigned", id)
		}
	}
}
