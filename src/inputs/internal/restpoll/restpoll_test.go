package restpoll

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

const stanzaName = "m365_defender_alerts://t"

func stanza(params map[string]string) modinput.Stanza {
	p := map[string]string{"tenant_id": "contoso.onmicrosoft.com", "client_id": "app", "client_secret": "s"}
	for k, v := range params {
		p[k] = v
	}
	return modinput.Stanza{Name: stanzaName, Params: p}
}

func TestReadConfigCollection(t *testing.T) {
	tests := []struct {
		name          string
		api           string
		graph, legacy defender.Collection
		want          defender.Collection
		wantService   defender.Service
		wantAPI       string
	}{
		{"IncidentsDefault", "", defender.GraphIncidents, defender.LegacyIncidents, defender.GraphIncidents, defender.Graph, "graph"},
		{"IncidentsLegacy", "legacy", defender.GraphIncidents, defender.LegacyIncidents, defender.LegacyIncidents, defender.XDR, "legacy"},
		{"AlertsGraph", "graph", defender.GraphAlerts, defender.LegacyAlerts, defender.GraphAlerts, defender.Graph, "graph"},
		{"AlertsLegacy", "legacy", defender.GraphAlerts, defender.LegacyAlerts, defender.LegacyAlerts, defender.MDE, "legacy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ReadConfig(stanza(map[string]string{"api": tt.api}), tt.graph, tt.legacy)
			if err != nil {
				t.Fatal(err)
			}
			if c.API != tt.wantAPI || c.Collection() != tt.want || c.Collection().Service() != tt.wantService {
				t.Errorf("api %q collection %v service %v, want %q %v %v", c.API, c.Collection(), c.Collection().Service(), tt.wantAPI, tt.want, tt.wantService)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	future := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"BadAPI", map[string]string{"api": "beta"}, `parameter "api"`},
		{"BadStartDate", map[string]string{"start_date": "yesterday"}, `parameter "start_date"`},
		{"FutureStartDate", map[string]string{"start_date": future}, `stanza "` + stanzaName + `": parameter "start_date": ` + future + ` is in the future`},
		{"BadEnvironment", map[string]string{"environment": "mooncake"}, `parameter "environment"`},
		{"PlainHTTPLogin", map[string]string{"login_url": "http://login.example.com"}, `stanza "` + stanzaName + `": parameter "login_url": `},
		{"BadProxy", map[string]string{"proxy_url": "ftp://proxy:21"}, `stanza "` + stanzaName + `": parameter "proxy_url": expected http://host:port or https://host:port`},
		{"MissingCA", map[string]string{"ca_file": "/nonexistent/ca.pem"}, `stanza "` + stanzaName + `": parameter "ca_file": cannot read the CA bundle: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ReadConfig(stanza(tt.params), defender.GraphAlerts, defender.LegacyAlerts)
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			var pe *modinput.ParamError
			if !errors.As(err, &pe) || pe.Stanza != stanzaName {
				t.Errorf("err %T does not name the stanza", err)
			}
		})
	}
}

func TestWithParam(t *testing.T) {
	st := stanza(nil)
	if WithParam(st, nil) != nil {
		t.Error("WithParam(nil) is not nil")
	}
	inner := &defender.ConfigError{Param: "api_url", Msg: "bad"}
	err := WithParam(st, inner)
	if got, want := err.Error(), `stanza "`+stanzaName+`": parameter "api_url": defender: api_url: bad`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if !errors.Is(err, inner) {
		t.Error("WithParam does not keep the error underneath")
	}
	plain := WithParam(st, errors.New("boom"))
	if got, want := plain.Error(), `stanza "`+stanzaName+`": boom`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestCancelled(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	other := errors.New("api down")
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want error
	}{
		{"Nil", done, nil, nil},
		{"LiveContextKeepsCanceled", live, context.Canceled, context.Canceled},
		{"EndedContextCanceled", done, fmt.Errorf("page 3: %w", context.Canceled), nil},
		{"EndedContextDeadline", done, context.DeadlineExceeded, nil},
		{"EndedContextOtherError", done, other, other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Cancelled(tt.ctx, tt.err); !errors.Is(got, tt.want) || (tt.want == nil) != (got == nil) {
				t.Errorf("Cancelled = %v, want %v", got, tt.want)
			}
		})
	}
}

// record is an input's checkpoint record: State plus a field of its own.
type record struct {
	State
	Extra string `json:"extra,omitempty"`
}

// cp is the checkpoint of rec under key.
func cp(rec *record, key string) Checkpoint {
	return Checkpoint{Key: key, Record: rec, State: &rec.State}
}

func newRuntime(t *testing.T, out *bytes.Buffer, logs *bytes.Buffer) *inputs.Runtime {
	t.Helper()
	dir := t.TempDir()
	store, err := checkpoint.NewFileStore(dir, stanzaName)
	if err != nil {
		t.Fatal(err)
	}
	return &inputs.Runtime{
		CheckpointDir: dir,
		Events:        modinput.NewEventWriter(out),
		Checkpoints:   store,
		Logger:        slog.New(slog.NewTextHandler(logs, nil)),
	}
}

func TestResumeAndCommit(t *testing.T) {
	var out, logs bytes.Buffer
	rt := newRuntime(t, &out, &logs)
	started := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg, err := ReadConfig(stanza(nil), defender.GraphAlerts, defender.LegacyAlerts)
	if err != nil {
		t.Fatal(err)
	}
	if err := needCheckpoints(rt, cfg); err != nil {
		t.Fatal(err)
	}

	// No checkpoint: DefaultLookback before the run.
	var rec record
	if err := cp(&rec, "k").Resume(rt, cfg, started); err != nil {
		t.Fatal(err)
	}
	if want := started.Add(-DefaultLookback); !rec.Cursor.Time.Equal(want) || rec.API != "graph" || len(rec.Cursor.IDs) != 0 {
		t.Fatalf("fresh state %+v, want time %v api graph", rec.State, want)
	}

	// Commit flushes the events, then saves the whole record.
	ev := inputs.Event(cfg.Stanza, "st", "src")
	ev.Data = []byte(`{"id":"a"}`)
	if err := rt.Events.Write(&ev); err != nil {
		t.Fatal(err)
	}
	cur := defender.Cursor{Time: started.Add(-time.Hour), IDs: []string{"a"}}
	rec.Extra = "kept"
	if err := cp(&rec, "k").Commit(rt, cur); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `{"id":"a"}`) {
		t.Errorf("commit did not flush the event: %q", out.String())
	}
	var saved record
	if found, err := rt.Checkpoints.Load("k", &saved); err != nil || !found {
		t.Fatalf("load: found %v err %v", found, err)
	}
	if !saved.Cursor.Time.Equal(cur.Time) || strings.Join(saved.Cursor.IDs, ",") != "a" || saved.API != "graph" || saved.Extra != "kept" {
		t.Errorf("saved %+v", saved)
	}

	// Same api: the checkpoint as saved.
	var again record
	if err := cp(&again, "k").Resume(rt, cfg, started); err != nil {
		t.Fatal(err)
	}
	if !again.Cursor.Time.Equal(cur.Time) || strings.Join(again.Cursor.IDs, ",") != "a" || again.Extra != "kept" {
		t.Errorf("resumed %+v", again)
	}

	// Another api: only the time is kept, and it is logged.
	legacy, err := ReadConfig(stanza(map[string]string{"api": "legacy"}), defender.GraphAlerts, defender.LegacyAlerts)
	if err != nil {
		t.Fatal(err)
	}
	var switched record
	if err := cp(&switched, "k").Resume(rt, legacy, started); err != nil {
		t.Fatal(err)
	}
	if !switched.Cursor.Time.Equal(cur.Time) || len(switched.Cursor.IDs) != 0 || switched.API != "legacy" || switched.Extra != "kept" {
		t.Errorf("after api change %+v", switched)
	}
	if !strings.Contains(logs.String(), `msg="api changed, keeping the checkpoint time only" from=graph to=legacy`) {
		t.Errorf("no api change line:\n%s", logs.String())
	}

	// start_date is where a stanza without checkpoint starts.
	dated, err := ReadConfig(stanza(map[string]string{"start_date": "2026-01-01T00:00:00Z"}), defender.GraphAlerts, defender.LegacyAlerts)
	if err != nil {
		t.Fatal(err)
	}
	var fresh record
	if err := cp(&fresh, "other").Resume(rt, dated, started); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); !fresh.Cursor.Time.Equal(want) {
		t.Errorf("start_date cursor %v, want %v", fresh.Cursor.Time, want)
	}
}

// failingWriter refuses every write (stdout closed by splunkd).
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestCommitDoesNotSaveWhatWasNotFlushed(t *testing.T) {
	var out, logs bytes.Buffer
	rt := newRuntime(t, &out, &logs)
	rt.Events = modinput.NewEventWriter(failingWriter{})
	cfg, err := ReadConfig(stanza(nil), defender.GraphAlerts, defender.LegacyAlerts)
	if err != nil {
		t.Fatal(err)
	}
	ev := inputs.Event(cfg.Stanza, "st", "src")
	ev.Data = []byte(`{"id":"a"}`)
	_ = rt.Events.Write(&ev) // buffered; the failure shows on Flush
	before := State{API: "graph", Cursor: defender.Cursor{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	rec := record{State: before}
	err = cp(&rec, "k").Commit(rt, defender.Cursor{Time: before.Cursor.Time.Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "flushing events: ") {
		t.Fatalf("err = %v, want a flush error", err)
	}
	if !rec.Cursor.Time.Equal(before.Cursor.Time) {
		t.Errorf("cursor moved to %v on a failed flush", rec.Cursor.Time)
	}
	if found, _ := rt.Checkpoints.Load("k", &record{}); found {
		t.Error("checkpoint saved although the events were not flushed")
	}
}

func TestNeedCheckpoints(t *testing.T) {
	cfg := Config{Stanza: stanza(nil)}
	want := `stanza "` + stanzaName + `": no checkpoint directory`
	err := needCheckpoints(&inputs.Runtime{}, cfg)
	if err == nil || err.Error() != want {
		t.Errorf("err = %v", err)
	}
	// Start checks before it connects (nothing listens at login_url).
	cfg.LoginURL = "http://127.0.0.1:1"
	client, err := Start(context.Background(), &inputs.Runtime{}, cfg, ConnectOptions{}, time.Now(), Checkpoint{})
	if client != nil || err == nil || err.Error() != want {
		t.Errorf("Start: client %v err %v", client, err)
	}
}

func TestKindPassesConfigErrorsThrough(t *testing.T) {
	bad := errors.New("stanza: bad")
	var checked, ran bool
	newConfig := func(st modinput.Stanza) (string, error) {
		if st.Param("bad") != "" {
			return "", bad
		}
		return st.Name, nil
	}
	var built []string
	newInput := func(name string, rt *inputs.Runtime) fakeInput {
		built = append(built, name)
		return fakeInput{check: &checked, run: &ran}
	}
	k := Kind("m365_defender_x", modinput.Scheme{Title: "x"}, newConfig, newInput)
	if k.Name != "m365_defender_x" || k.Scheme.Title != "x" || !k.Polling {
		t.Errorf("kind %+v", k)
	}
	ctx, rt := context.Background(), &inputs.Runtime{}
	badStanza := modinput.Stanza{Name: "x://bad", Params: map[string]string{"bad": "1"}}
	if err := k.Validate(ctx, rt, badStanza); !errors.Is(err, bad) {
		t.Errorf("Validate err = %v", err)
	}
	if err := k.Run(ctx, rt, badStanza); !errors.Is(err, bad) {
		t.Errorf("Run err = %v", err)
	}
	if checked || ran || len(built) != 0 {
		t.Error("an input was built although its config failed")
	}
	if err := k.Validate(ctx, rt, modinput.Stanza{Name: "x://a"}); err != nil || !checked || ran {
		t.Errorf("Validate: err %v checked %v ran %v", err, checked, ran)
	}
	if err := k.Run(ctx, rt, modinput.Stanza{Name: "x://b"}); err != nil || !ran {
		t.Errorf("Run: err %v ran %v", err, ran)
	}
	if strings.Join(built, ",") != "x://a,x://b" {
		t.Errorf("inputs built from %v", built)
	}
}

type fakeInput struct{ check, run *bool }

func (f fakeInput) Check(context.Context) error { *f.check = true; return nil }
func (f fakeInput) Run(context.Context) error   { *f.run = true; return nil }

func TestSchemeArgsOrder(t *testing.T) {
	args := SchemeArgs(modinput.Arg{Name: "api", Title: "API", Description: "d"}, "api url",
		modinput.Arg{Name: "own", Title: "Own", Description: "o"})
	var names []string
	for _, a := range args {
		names = append(names, a.Name)
		if a.RequiredOnCreate != (a.Name == "tenant_id" || a.Name == "client_id") {
			t.Errorf("arg %s required_on_create = %v", a.Name, a.RequiredOnCreate)
		}
		if a.Name == "api_url" && a.Description != "api url" {
			t.Errorf("api_url description %q", a.Description)
		}
	}
	want := "tenant_id,client_id,client_secret,client_certificate,environment,api,start_date,own,login_url,api_url,proxy_url,ca_file,log_level"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("args %s\nwant %s", got, want)
	}
}
