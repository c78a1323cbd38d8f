package alerts

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

func wantAll(t *testing.T, h *harness, evs []event, all []string) map[key]int {
	t.Helper()
	got := split(t, evs)
	n := ids(got)
	for _, id := range all {
		if n[id] == 0 {
			t.Errorf("alert %s missing", id)
		}
	}
	for k, c := range got {
		if c != 1 {
			t.Errorf("alert version %v written %d times", k, c)
		}
	}
	return got
}

func TestGraphBacklogAndRestart(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 150, AlertsPerIncident: 2, Seed: 31, SameTimeBatch: 3})
	h.top = 40 // many pages, equal timestamps across boundaries
	evs := h.MustRun()
	got := wantAll(t, h, evs, h.Sim.AlertIDs())
	if len(got) != h.Sim.Totals().Alerts {
		t.Errorf("%d alerts, simulator holds %d", len(got), h.Sim.Totals().Alerts)
	}
	for _, e := range evs {
		if e.Source != Scheme+":"+h.Sim.TenantID || e.Index != "defender" || e.Host != "sim-host" || e.Time == "" {
			t.Fatalf("event metadata %+v", e)
		}
		if !strings.Contains(e.Data, `"evidence":[`) {
			t.Fatalf("alert without evidence: %.200s", e.Data)
		}
	}
	for _, r := range h.Sim.Requests() {
		q, _ := url.ParseQuery(r.RawQuery)
		if r.Path == "/v1.0/security/alerts_v2" && q.Get("$skiptoken") == "" &&
			(q.Get("$orderby") != "lastUpdateDateTime asc" || !strings.HasPrefix(q.Get("$filter"), "lastUpdateDateTime ge ") || q.Get("$top") != "40") {
			t.Errorf("query %s", r.RawQuery)
		}
	}
	if again := h.MustRun(); len(again) != 0 {
		t.Errorf("restart repeated %d alerts", len(again))
	}
	// An alert updated later is written again, once.
	id := h.Sim.AlertIDs()[5]
	if _, err := h.Sim.UpdateAlert(id); err != nil {
		t.Fatal(err)
	}
	third := split(t, h.MustRun())
	if len(third) != 1 || ids(third)[id] != 1 {
		t.Errorf("after UpdateAlert: %v", third)
	}
	if !strings.Contains(h.Logs.String(), `INFO msg="poll complete"`) {
		t.Error("no poll complete line")
	}
}

func TestGraphUpdateMidRun(t *testing.T) {
	for _, mode := range []simulator.PagingMode{simulator.PagingKeyset, simulator.PagingOffset} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			h := newHarness(t, simulator.Options{Incidents: 100, AlertsPerIncident: 2, Seed: 32, Paging: mode})
			h.top = 30
			all := h.Sim.AlertIDs()
			h.Hook = func(n int, r *http.Request) {
				if n == 3 {
					for _, id := range all[:4] {
						h.Sim.UpdateAlert(id)
					}
				}
			}
			got := wantAll(t, h, h.MustRun(), all)
			if len(got) != len(all)+4 {
				t.Errorf("%d alert versions, want %d", len(got), len(all)+4)
			}
		})
	}
}

func TestLegacyEndpointAlerts(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 120, AlertsPerIncident: 2, Seed: 33, SameTimeBatch: 4})
	h.Params["api"] = "legacy"
	h.top = 25 // the legacy API gives no nextLink: the cursor pages
	evs := h.MustRun()
	got := split(t, evs)
	if len(got) != h.Sim.Totals().EndpointAlerts {
		t.Errorf("%d legacy alerts, simulator holds %d", len(got), h.Sim.Totals().EndpointAlerts)
	}
	for k, n := range got {
		if n != 1 || k.Updated == "" {
			t.Errorf("%v written %d times", k, n)
		}
	}
	for _, r := range h.Sim.Requests() {
		q, _ := url.ParseQuery(r.RawQuery)
		if q.Get("$top") == "1" && strings.Contains(q.Get("$filter"), " and lastUpdateTime lt ") {
			continue // the probe of whether the API honours $orderby
		}
		if r.Path == "/api/alerts" && (q.Get("$expand") != "evidence" || !strings.HasPrefix(q.Get("$filter"), "lastUpdateTime ge ")) {
			t.Errorf("legacy query %s", r.RawQuery)
		}
	}
	if again := h.MustRun(); len(again) != 0 {
		t.Errorf("legacy restart repeated %d", len(again))
	}
}

func TestLegacyClusterLargerThanPageWithoutNextLink(t *testing.T) {
	// Endpoint alerts come in clusters of 15 or more sharing one
	// timestamp, pages hold 10 and the legacy API gives no nextLink: the
	// poller must step over each cluster with $skip.
	h := newHarness(t, simulator.Options{Incidents: 90, AlertsPerIncident: 2, Seed: 38, SameTimeBatch: 30})
	h.Params["api"] = "legacy"
	h.top = 10
	got := split(t, h.MustRun())
	if len(got) != h.Sim.Totals().EndpointAlerts {
		t.Errorf("%d legacy alerts, simulator holds %d", len(got), h.Sim.Totals().EndpointAlerts)
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("%v written %d times", k, n)
		}
	}
	skipped := false
	for _, r := range h.Sim.Requests() {
		if strings.Contains(r.RawQuery, "skip=") {
			skipped = true
		}
	}
	if !skipped {
		t.Error("no $skip request: the test did not reach the cluster case")
	}
	if again := h.MustRun(); len(again) != 0 {
		t.Errorf("restart repeated %d", len(again))
	}
}

func TestLegacyClusterRestartMidCluster(t *testing.T) {
	for _, stopAt := range []int{2, 3, 4} {
		t.Run(fmt.Sprint("stopAt", stopAt), func(t *testing.T) {
			h := newHarness(t, simulator.Options{Incidents: 90, AlertsPerIncident: 2, Seed: 38, SameTimeBatch: 30})
			h.Params["api"] = "legacy"
			h.top = 10
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h.Hook = func(n int, r *http.Request) {
				if n == stopAt {
					cancel()
				}
			}
			first, err := h.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			h.Hook = nil
			all := append(first, h.MustRun()...)
			got := split(t, all)
			if len(got) != h.Sim.Totals().EndpointAlerts {
				t.Errorf("%d alerts after restart, want %d", len(got), h.Sim.Totals().EndpointAlerts)
			}
			for k, n := range got {
				if n != 1 {
					t.Errorf("%v written %d times", k, n)
				}
			}
		})
	}
}

func TestStormsAndTokenExpiry(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 100, AlertsPerIncident: 2, Seed: 34})
	h.top = 50
	h.Hook = func(n int, r *http.Request) {
		switch n {
		case 2:
			h.Sim.Throttle(5, 1e9)
		case 8:
			h.Sim.FailNext(4, 503)
		case 13:
			h.Sim.ExpireTokens()
		}
	}
	wantAll(t, h, h.MustRun(), h.Sim.AlertIDs())
	if st := h.Sim.Stats(); st.TokensIssued != 2 || st.Throttled != 5 || st.Failed != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		want  []string
		kind  string
	}{
		{"WrongSecret", func(h *harness) { h.Params["client_secret"] = "nope" }, []string{`parameter "client_secret"`, "AADSTS7000215"}, "auth"},
		{"WrongTenant", func(h *harness) { h.Params["tenant_id"] = "contoso-missing.onmicrosoft.com" }, []string{`parameter "tenant_id"`, "AADSTS90002"}, "auth"},
		{"MissingPermissionGraph", func(h *harness) {
			h.Sim.AddClient("noperm", "noperm-secret", simulator.RoleSecurityIncidentRead)
			h.Params["client_id"], h.Params["client_secret"] = "noperm", "noperm-secret"
		}, []string{`parameter "client_id"`, "SecurityAlert.Read.All"}, "permission"},
		{"MissingPermissionLegacy", func(h *harness) {
			h.Sim.AddClient("noperm", "noperm-secret", simulator.RoleSecurityAlertRead)
			h.Params["client_id"], h.Params["client_secret"], h.Params["api"] = "noperm", "noperm-secret", "legacy"
		}, []string{`parameter "client_id"`, "Alert.Read.All"}, "permission"},
		{"PlainHTTP", func(h *harness) { h.Params["login_url"] = "http://login.example.com" }, []string{`parameter "login_url"`, "loopback"}, "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, simulator.Options{Incidents: 2, Seed: 35})
			tt.setup(h)
			err := h.Validate()
			if err == nil {
				t.Fatal("validation passed")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if k := inputs.ErrorKind(err); k != tt.kind {
				t.Errorf("kind %q, want %q", k, tt.kind)
			}
		})
	}
	h := newHarness(t, simulator.Options{Incidents: 2, Seed: 36})
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSourcetypeOverride(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 3, AlertsPerIncident: 1, Seed: 37})
	h.Params["sourcetype"] = "defender:custom"
	var out strings.Builder
	rt := h.Runtime(&out)
	cfg, err := NewConfig(h.Stanza())
	if err != nil {
		t.Fatal(err)
	}
	if err := New(cfg, rt).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rt.Events.Close()
	evs := parseStream(t, []byte(out.String()))
	if len(evs) == 0 || evs[0].Sourcetype != "defender:custom" {
		t.Errorf("events %+v", evs)
	}
}

func TestScheme(t *testing.T) {
	s := Kind().Scheme
	want := []string{"tenant_id", "client_id", "client_secret", "client_certificate", "environment", "api", "start_date", "login_url", "api_url", "proxy_url", "ca_file", "log_level"}
	var got []string
	for _, a := range s.Args {
		got = append(got, a.Name)
		if a.Title == "" || a.Description == "" {
			t.Errorf("arg %s has no title or description", a.Name)
		}
		if a.RequiredOnCreate != (a.Name == "tenant_id" || a.Name == "client_id") {
			t.Errorf("arg %s required_on_create = %v", a.Name, a.RequiredOnCreate)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("args %v\nwant %v", got, want)
	}
	if !s.UseExternalValidation || Kind().Name != Scheme || !Kind().Polling {
		t.Errorf("kind %+v", Kind())
	}
}

// TestSecretNeverInOutput: neither the client secret nor a wrong one
// appears in events, logs (at DEBUG), errors or checkpoints, through
// throttling, a server error, expired tokens and a refused secret, with
// both APIs.
func TestSecretNeverInOutput(t *testing.T) {
	for _, api := range []string{"graph", "legacy"} {
		t.Run(api, func(t *testing.T) {
			const secret = "Aq8~s3cr3t.VALUE_alerts-must-never-leak"
			h := newHarness(t, simulator.Options{Incidents: 60, AlertsPerIncident: 2, Seed: 34})
			h.Sim.AddClient("leak-app", secret, simulator.AllRoles()...)
			h.Params["client_id"], h.Params["client_secret"] = "leak-app", secret
			h.Params["api"] = api
			h.Params["log_level"] = "DEBUG"
			h.top = 20
			var all bytes.Buffer
			collect := func(evs []event, err error) {
				for _, e := range evs {
					all.WriteString(e.Data)
				}
				if err != nil {
					all.WriteString(err.Error())
				}
			}
			h.Hook = func(n int, r *http.Request) {
				if n == 1 {
					h.Sim.Throttle(1, 0)
					h.Sim.FailNext(1, 500)
					h.Sim.ExpireTokens()
				}
			}
			evs, err := h.Run(context.Background())
			if err != nil || len(evs) == 0 {
				t.Fatalf("run: %d events, %v", len(evs), err)
			}
			collect(evs, err)
			if err := h.Validate(); err != nil {
				t.Fatal(err)
			}
			const wrong = "Wr0ng~secret.VALUE_alerts-also-never-shown"
			h.Params["client_secret"] = wrong
			h.Hook = nil
			collect(h.Run(context.Background()))
			if err := h.Validate(); err != nil {
				all.WriteString(err.Error())
			} else {
				t.Fatal("wrong secret accepted")
			}
			all.WriteString(h.Logs.String())
			all.Write(h.CheckpointFiles())
			for _, s := range []string{secret, wrong} {
				if bytes.Contains(all.Bytes(), []byte(s)) {
					t.Errorf("secret %q found in events, logs, errors or checkpoints", s)
				}
			}
			if !strings.Contains(h.Logs.String(), "DEBUG") || !strings.Contains(all.String(), "AADSTS7000215") {
				t.Errorf("no DEBUG lines or no refused-secret error: the test did not exercise them:\n%s", h.Logs.String())
			}
		})
	}
}
