package incidents

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

// wantAll checks that every incident and alert the simulator holds was
// written exactly once per version, and returns the maps.
func wantAll(t *testing.T, h *harness, evs []event, maxRepeat int) (map[key]int, map[key]int) {
	t.Helper()
	inc, al := split(t, evs)
	got := ids(inc)
	for _, id := range h.Sim.IncidentIDs() {
		if got[id] == 0 {
			t.Errorf("incident %s missing", id)
		}
	}
	gotA := ids(al)
	for _, id := range h.Sim.AlertIDs() {
		if gotA[id] == 0 {
			t.Errorf("alert %s missing", id)
		}
	}
	for k, n := range inc {
		if n > maxRepeat {
			t.Errorf("incident %v written %d times", k, n)
		}
	}
	for k, n := range al {
		if n > maxRepeat {
			t.Errorf("alert %v written %d times", k, n)
		}
	}
	return inc, al
}

func TestBacklogManyPages(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 160, AlertsPerIncident: 2, Seed: 1})
	evs := h.MustRun()
	inc, al := wantAll(t, h, evs, 1)
	tot := h.Sim.Totals()
	if len(inc) != tot.Incidents || len(al) != tot.Alerts {
		t.Errorf("wrote %d incidents, %d alerts; simulator holds %d, %d", len(inc), len(al), tot.Incidents, tot.Alerts)
	}
	st := h.Sim.Stats()
	if st.TokenRequests != 1 {
		t.Errorf("%d token requests, want 1", st.TokenRequests)
	}
	if n := st.Requests["GET /v1.0/security/incidents"]; n < 4 || n > 5 {
		t.Errorf("%d list requests for 160 incidents at $top=50", n)
	}
	// Every event: stanza, source, index, host, time = lastUpdateDateTime.
	for _, e := range evs {
		if e.Stanza != Scheme+"://test" || e.Source != Scheme+":"+h.Sim.TenantID || e.Index != "defender" || e.Host != "sim-host" {
			t.Fatalf("event metadata %+v", e)
		}
		var o struct {
			LastUpdate string          `json:"lastUpdateDateTime"`
			Alerts     json.RawMessage `json:"alerts"`
		}
		json.Unmarshal([]byte(e.Data), &o)
		tm, _ := time.Parse(time.RFC3339Nano, o.LastUpdate)
		if want := fmt.Sprintf("%d.%03d", tm.Unix(), tm.Nanosecond()/1e6); e.Time != want {
			t.Fatalf("time %s, want %s (%s)", e.Time, want, o.LastUpdate)
		}
		if e.Sourcetype == SourcetypeIncident && o.Alerts != nil {
			t.Fatalf("incident event still has alerts: %.200s", e.Data)
		}
	}
	// The incident event is Microsoft's JSON minus "alerts", byte for byte.
	id := h.Sim.IncidentIDs()[0]
	full, err := h.Sim.Incident(id)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	json.Unmarshal(full, &m)
	for _, e := range evs {
		if e.Sourcetype == SourcetypeIncident && strings.Contains(e.Data, `"id":"`+id+`"`) {
			var got map[string]json.RawMessage
			json.Unmarshal([]byte(e.Data), &got)
			delete(m, "alerts")
			if len(got) != len(m) {
				t.Errorf("incident %s has %d members, want %d", id, len(got), len(m))
			}
			for k, v := range m {
				if string(got[k]) != string(v) {
					t.Errorf("member %s: %s, want %s", k, got[k], v)
				}
			}
		}
	}
	// Requests: cursor filter, ascending order, $top ≤ 50, $expand, headers.
	for _, r := range h.Sim.Requests() {
		if r.Path != "/v1.0/security/incidents" {
			continue
		}
		q, _ := url.ParseQuery(r.RawQuery)
		if top := q.Get("$top"); top != "50" && top != "" {
			t.Errorf("$top=%s", top)
		}
		if q.Get("$skiptoken") == "" && (!strings.HasPrefix(q.Get("$filter"), "lastUpdateDateTime ge ") || q.Get("$orderby") != "lastUpdateDateTime asc" || q.Get("$expand") != "alerts") {
			t.Errorf("query %s", r.RawQuery)
		}
		if r.Header.Get("Prefer") != "include-unknown-enum-members" || !strings.HasPrefix(r.Header.Get("User-Agent"), "M365DPartner-TA-m365-defender/") {
			t.Errorf("headers %v", r.Header)
		}
	}
	if !strings.Contains(h.Logs.String(), `INFO msg="poll complete"`) || !strings.Contains(h.Logs.String(), fmt.Sprintf("events=%d", len(evs))) {
		t.Errorf("no poll complete line:\n%s", h.Logs.String())
	}
}

func TestRestartFromCheckpoint(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 120, AlertsPerIncident: 1, Seed: 2})
	first := h.MustRun()
	wantAll(t, h, first, 1)
	second := h.MustRun()
	if len(second) != 0 {
		t.Fatalf("second run repeated %d events, e.g. %.200s", len(second), second[0].Data)
	}
	ids := h.Sim.IncidentIDs()
	if _, err := h.Sim.UpdateIncident(ids[10]); err != nil {
		t.Fatal(err)
	}
	added := h.Sim.AddIncident()
	third := h.MustRun()
	inc, al := split(t, third)
	got := map[string]int{}
	for k := range inc {
		got[k.ID]++
	}
	if len(inc) != 2 || got[ids[10]] != 1 || got[added] != 1 {
		t.Errorf("third run wrote incidents %v, want %s (updated) and %s (new)", inc, ids[10], added)
	}
	// Only the new incident's alert: the updated incident's alert did not
	// change and was written by the first run.
	if len(al) != 1 {
		t.Errorf("third run wrote alerts %v, want only the new incident's", al)
	}
	for k := range al {
		if got := alertIncident(t, third, k.ID); got != "|"+added+"|" {
			t.Errorf("third run wrote alert %v of incident %s, want only the new incident's", k, got)
		}
	}
	if !strings.Contains(h.Logs.String(), "events=0") {
		t.Error("the empty poll logged no events=0")
	}
}

// TestUpdateArrivesMidRun: a run that resumes from a checkpoint sees
// incidents and an alert change while it pages. Every version is written
// exactly once: the changed incidents once more, the changed alert once
// more, and the unchanged alerts of a changed incident not again.
func TestUpdateArrivesMidRun(t *testing.T) {
	for _, mode := range []struct {
		name   string
		paging simulator.PagingMode
	}{{"Keyset", simulator.PagingKeyset}, {"Offset", simulator.PagingOffset}} {
		t.Run(mode.name, func(t *testing.T) {
			h := newHarness(t, simulator.Options{Incidents: 40, AlertsPerIncident: 2, Seed: 3, Paging: mode.paging})
			old := h.Sim.IncidentIDs()
			oldAlerts := h.Sim.AlertIDs()
			first := h.MustRun()
			wantAll(t, h, first, 1)
			for range 140 { // a backlog of several pages for the second run
				h.Sim.AddIncident()
			}
			updated := old[:3]
			changedAlert := oldAlerts[len(oldAlerts)-1] // of an incident not in updated
			var once sync.Once
			h.Hook = func(n int, r *http.Request) {
				if n == 3 { // two pages read: change what was written before
					once.Do(func() {
						for _, id := range updated {
							if _, err := h.Sim.UpdateIncident(id); err != nil {
								t.Error(err)
							}
						}
						if _, err := h.Sim.UpdateAlert(changedAlert); err != nil {
							t.Error(err)
						}
					})
				}
			}
			evs := h.MustRun()
			inc, al := split(t, evs)
			for k, n := range inc {
				if n != 1 {
					t.Errorf("incident version %v written %d times", k, n)
				}
			}
			for k, n := range al {
				if n != 1 {
					t.Errorf("alert version %v written %d times", k, n)
				}
			}
			gotInc, gotAl := ids(inc), ids(al)
			for _, id := range updated {
				if gotInc[id] != 1 {
					t.Errorf("updated incident %s written %d times, want 1 (its new version)", id, gotInc[id])
				}
			}
			if gotAl[changedAlert] != 1 {
				t.Errorf("changed alert %s written %d times, want 1 (its new version)", changedAlert, gotAl[changedAlert])
			}
			// 140 new incidents, 3 updated, 1 moved by its alert; their
			// alerts: the new incidents' and the changed one, nothing else.
			if len(inc) != 140+len(updated)+1 {
				t.Errorf("%d incident versions, want %d", len(inc), 140+len(updated)+1)
			}
			if len(al) != 2*140+1 {
				for k := range al {
					if strings.Contains("|"+strings.Join(updated, "|")+"|", alertIncident(t, evs, k.ID)) {
						t.Errorf("unchanged alert %v of updated incident written again", k)
					}
				}
				t.Errorf("%d alert versions, want %d", len(al), 2*140+1)
			}
			if again := h.MustRun(); len(again) != 0 {
				t.Errorf("next run repeated %d events", len(again))
			}
		})
	}
}

// TestFirstRunWritesEveryAlert: without a checkpoint, every alert is
// written, however old (the start date does not filter alerts).
func TestFirstRunWritesEveryAlert(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 30, AlertsPerIncident: 3, Seed: 4})
	evs := h.MustRun()
	_, al := wantAll(t, h, evs, 1)
	if len(al) != h.Sim.Totals().Alerts {
		t.Errorf("first run wrote %d alerts, want %d", len(al), h.Sim.Totals().Alerts)
	}
}

// alertIncident returns "|<incidentId>|" for alert id, padded so that a
// containment check against "|id1|id2|" works.
func alertIncident(t *testing.T, evs []event, id string) string {
	for _, e := range evs {
		var a struct{ ID, IncidentID string }
		if e.Sourcetype == SourcetypeAlert && json.Unmarshal([]byte(e.Data), &a) == nil && a.ID == id {
			return "|" + a.IncidentID + "|"
		}
	}
	t.Fatalf("alert %s not found", id)
	return ""
}

func TestSameTimeAcrossPageBoundary(t *testing.T) {
	for _, batch := range []int{7, 60} {
		t.Run(fmt.Sprintf("Batch%d", batch), func(t *testing.T) {
			h := newHarness(t, simulator.Options{Incidents: 170, AlertsPerIncident: 1, Seed: 4, SameTimeBatch: batch})
			evs := h.MustRun()
			inc, _ := wantAll(t, h, evs, 1)
			if len(inc) != len(h.Sim.IncidentIDs()) {
				t.Errorf("%d incidents, want %d", len(inc), len(h.Sim.IncidentIDs()))
			}
			if again := h.MustRun(); len(again) != 0 {
				t.Errorf("restart repeated %d events", len(again))
			}
		})
	}
}

func TestRestartInsideEqualTimestamps(t *testing.T) {
	// Stop after the first page, inside a cluster of equal timestamps
	// that spans the page boundary; the restart must neither repeat nor
	// skip members of the cluster.
	h := newHarness(t, simulator.Options{Incidents: 150, AlertsPerIncident: 1, Seed: 5, SameTimeBatch: 30})
	ctx, cancel := context.WithCancel(context.Background())
	h.Hook = func(n int, r *http.Request) {
		if n == 2 {
			cancel()
		}
	}
	first, err := h.Run(ctx)
	if err != nil {
		t.Fatalf("cancelled run returned %v", err)
	}
	h.Hook = nil
	if len(first) == 0 {
		t.Fatal("first run wrote nothing")
	}
	second := h.MustRun()
	wantAll(t, h, append(first, second...), 1)
}

func TestThrottleAndServerErrorStorms(t *testing.T) {
	tests := []struct {
		name  string
		arm   func(s *simulator.Server)
		waits int
		min   time.Duration
		// sharedClock: the simulator dates Retry-After by the fake clock
		// the input sleeps on, so an HTTP date can be checked exactly.
		sharedClock bool
	}{
		{"429RetryAfterSeconds", func(s *simulator.Server) { s.Throttle(8, 2*time.Second) }, 8, 2 * time.Second, false},
		// 3 s: more than the client's 1 s floor, so only a client that
		// reads the date passes.
		{"429RetryAfterHTTPDate", func(s *simulator.Server) { s.ThrottleHTTPDate(4, 3*time.Second) }, 4, 3 * time.Second, true},
		{"503Storm", func(s *simulator.Server) { s.FailNext(4, 503) }, 4, 0, false},
		{"MixedStorm", func(s *simulator.Server) { s.FailNext(2, 500); s.Throttle(3, time.Second); s.FailNext(2, 504) }, 7, 0, false},
		{"DroppedConnections", func(s *simulator.Server) { s.DropNext(3) }, 3, 0, false},
		// Half a page arrives, then the connection breaks: the page is read
		// again and its first objects come twice; each is written once and
		// the replay is not taken for objects out of order.
		{"DroppedMidPage", func(s *simulator.Server) { s.DropMidBodyNext(2) }, 2, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := simulator.Options{Incidents: 120, AlertsPerIncident: 1, Seed: 6}
			if tt.sharedClock {
				opts.Clock = time.Now // replaced by the harness's fake clock
			}
			h := newHarness(t, opts)
			h.Hook = func(n int, r *http.Request) {
				if n == 2 {
					tt.arm(h.Sim)
				}
			}
			evs := h.MustRun()
			wantAll(t, h, evs, 1)
			waits := h.Clock.Waits()
			if len(waits) != tt.waits {
				t.Errorf("waits %v, want %d", waits, tt.waits)
			}
			for _, w := range waits {
				if w < tt.min {
					t.Errorf("waited %v, Retry-After asked for %v", w, tt.min)
				}
			}
			logs := h.Logs.String()
			if !strings.Contains(logs, `WARN msg=retrying`) && !strings.Contains(logs, `WARN msg="retrying"`) {
				t.Errorf("no retry logged:\n%s", logs)
			}
			if strings.HasPrefix(tt.name, "429") && !strings.Contains(logs, "error_kind=throttling") {
				t.Errorf("throttling not logged as such:\n%s", logs)
			}
		})
	}
}

func TestPersistentServerErrorFailsWithoutLosingProgress(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 150, AlertsPerIncident: 1, Seed: 7})
	h.Params["expand_alerts"] = "false"
	h.Hook = func(n int, r *http.Request) {
		if n == 2 {
			h.Sim.FailNext(1000, 500)
		}
	}
	first, err := h.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("err = %v", err)
	}
	if len(first) != 50 {
		t.Errorf("first run kept %d events, want the first page (50)", len(first))
	}
	h.Sim.ClearFaults()
	h.Hook = nil
	second := h.MustRun()
	inc, _ := split(t, append(first, second...))
	if len(inc) != 150 {
		t.Errorf("%d incidents after recovery, want 150", len(inc))
	}
	for k, n := range inc {
		if n != 1 {
			t.Errorf("%v written %d times", k, n)
		}
	}
}

// TestRetryAfterBeyondBoundFailsKeepingCheckpoint: a Retry-After longer
// than the client's bound (1 hour) fails the poll at once, as throttling,
// with what it wrote checkpointed; an hour's wait is sat out in full.
func TestRetryAfterBeyondBoundFailsKeepingCheckpoint(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 150, AlertsPerIncident: 1, Seed: 7})
	h.Params["expand_alerts"] = "false"
	h.Hook = func(n int, r *http.Request) {
		switch n {
		case 2:
			h.Sim.Throttle(1, time.Hour) // honoured
		case 4:
			h.Sim.Throttle(1, 3*time.Hour) // beyond the bound
		}
	}
	first, err := h.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "asked to wait 3h0m0s, longer than the 1h0m0s") {
		t.Fatalf("err = %v", err)
	}
	if got := fmt.Sprint(h.Clock.Waits()); got != "[1h0m0s]" {
		t.Errorf("waits %s, want the hour asked for", got)
	}
	if len(first) < 90 || len(first) >= 150 {
		t.Errorf("first run kept %d events, want the first two pages", len(first))
	}
	h.Hook = nil
	second := h.MustRun()
	inc, _ := split(t, append(first, second...))
	if len(inc) != 150 {
		t.Errorf("%d incidents after recovery, want 150", len(inc))
	}
	for k, n := range inc {
		if n != 1 {
			t.Errorf("%v written %d times", k, n)
		}
	}
}

func TestExpandFallback(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 80, AlertsPerIncident: 2, Seed: 8})
	h.Sim.FailExpand(-1)
	evs := h.MustRun()
	wantAll(t, h, evs, 1)
	if !strings.Contains(h.Logs.String(), "reading alerts per incident") {
		t.Errorf("fallback not logged:\n%s", h.Logs.String())
	}
	st := h.Sim.Stats()
	if st.Requests["GET /v1.0/security/alerts_v2"] < 80 {
		t.Errorf("alerts_v2 requests: %v", st.Requests)
	}
	// The next run remembers the failure and does not try $expand first.
	h.Sim.ResetStats()
	h.Sim.AddIncident()
	evs = h.MustRun()
	if inc, al := split(t, evs); len(inc) != 1 || len(al) != 2 {
		t.Errorf("second run: %d incidents %d alerts", len(inc), len(al))
	}
	if f := h.Sim.Stats().Status[500]; f != 0 {
		t.Errorf("second run tried $expand again (%d × 500)", f)
	}
	// An updated incident read per incident: its unchanged alerts are not
	// written again.
	if _, err := h.Sim.UpdateIncident(h.Sim.IncidentIDs()[0]); err != nil {
		t.Fatal(err)
	}
	evs = h.MustRun()
	if inc, al := split(t, evs); len(inc) != 1 || len(al) != 0 {
		t.Errorf("third run: %d incidents %d alerts, want 1 and 0", len(inc), len(al))
	}
}

func TestTokenExpiryDuringRun(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 160, AlertsPerIncident: 1, Seed: 9})
	h.Hook = func(n int, r *http.Request) {
		if n == 3 {
			h.Sim.ExpireTokens()
		}
	}
	evs := h.MustRun()
	wantAll(t, h, evs, 1)
	if st := h.Sim.Stats(); st.TokensIssued != 2 || st.Status[401] != 1 {
		t.Errorf("tokens issued %d, 401s %d; want 2 and 1", st.TokensIssued, st.Status[401])
	}
}

func TestShortLivedTokensAreRenewed(t *testing.T) {
	// The simulator and the input share a fake clock; each page takes
	// 40 s of it and tokens live 90 s, so the input must renew the token
	// before it expires, without ever seeing a 401.
	h := newHarness(t, simulator.Options{Incidents: 200, AlertsPerIncident: 1, Seed: 10, TokenLifetime: 90 * time.Second, Clock: time.Now})
	h.Hook = func(n int, r *http.Request) { h.Clock.Advance(40 * time.Second) }
	evs := h.MustRun()
	wantAll(t, h, evs, 1)
	if st := h.Sim.Stats(); st.TokensIssued < 2 || st.Status[401] != 0 {
		t.Errorf("tokens issued %d, 401s %d: the token was not renewed before it expired", st.TokensIssued, st.Status[401])
	}
}

func TestLegacyAPI(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 130, AlertsPerIncident: 2, Seed: 11})
	h.Params["api"] = "legacy"
	evs := h.MustRun()
	inc, al := split(t, evs)
	if len(inc) != h.Sim.Totals().Incidents {
		t.Errorf("%d legacy incidents, want %d", len(inc), h.Sim.Totals().Incidents)
	}
	for k, n := range inc {
		if n != 1 || k.Updated == "" {
			t.Errorf("%v written %d times", k, n)
		}
	}
	if len(al) == 0 {
		t.Error("no legacy alerts")
	}
	for _, r := range h.Sim.Requests() {
		q, _ := url.ParseQuery(r.RawQuery)
		if q.Get("$top") == "1" && strings.Contains(q.Get("$filter"), " and lastUpdateTime lt ") {
			continue // the probe of whether the API honours $orderby
		}
		if r.Path == "/api/incidents" && q.Get("$skiptoken") == "" && (q.Get("$top") != "100" || !strings.HasPrefix(q.Get("$filter"), "lastUpdateTime ge ")) {
			t.Errorf("legacy query %s", r.RawQuery)
		}
		if r.Header.Get("Prefer") != "" {
			t.Errorf("Prefer header sent to the legacy API")
		}
	}
	for _, e := range evs {
		if e.Sourcetype == SourcetypeIncident && strings.Contains(e.Data, `"alerts"`) {
			t.Fatalf("legacy incident kept its alerts: %.300s", e.Data)
		}
	}
	if again := h.MustRun(); len(again) != 0 {
		t.Errorf("legacy restart repeated %d events", len(again))
	}
}

// TestLegacyIgnoresOrderBy: a legacy API that ignores $orderby and sends
// the newest first is read in time slices, every version exactly once,
// across restarts and with changes arriving while it pages.
func TestLegacyIgnoresOrderBy(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 330, AlertsPerIncident: 1, Seed: 13, LegacyIgnoresOrderBy: true})
	h.Params["api"] = "legacy"
	old := h.Sim.IncidentIDs()
	evs := h.MustRun()
	inc, _ := split(t, evs)
	if len(inc) != len(old) {
		t.Errorf("%d legacy incidents, want %d", len(inc), len(old))
	}
	for k, n := range inc {
		if n != 1 {
			t.Errorf("%v written %d times", k, n)
		}
	}
	if again := h.MustRun(); len(again) != 0 {
		t.Errorf("restart repeated %d events", len(again))
	}
	// New incidents, and changes to old ones while the next run pages.
	var added []string
	for range 250 {
		added = append(added, h.Sim.AddIncident())
	}
	var once sync.Once
	h.Hook = func(n int, r *http.Request) {
		if n == 3 {
			once.Do(func() {
				for _, id := range old[:5] {
					if _, err := h.Sim.UpdateIncident(id); err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
	evs = h.MustRun()
	evs = append(evs, h.MustRun()...) // an update may land after its slice: the next run has it
	inc, _ = split(t, evs)
	got := ids(inc)
	for _, id := range append(added, old[:5]...) {
		if got[id] != 1 {
			t.Errorf("incident %s written %d times, want 1", id, got[id])
		}
	}
	if len(inc) != len(added)+5 {
		t.Errorf("%d incident versions, want %d", len(inc), len(added)+5)
	}
	for k, n := range inc {
		if n != 1 {
			t.Errorf("%v written %d times", k, n)
		}
	}
	if strings.Contains(h.Logs.String(), "ignored $orderby") {
		t.Errorf("the poll failed on the order:\n%s", h.Logs.String())
	}
}

// TestLegacyQuotaThrottling: the legacy API's documented 429 (no
// Retry-After, {"code":"429","message":"... maximum allowed 45 per
// 00:01:00"}) makes the input wait the quota window, then go on.
func TestLegacyQuotaThrottling(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 130, AlertsPerIncident: 1, Seed: 11})
	h.Params["api"] = "legacy"
	h.Hook = func(n int, r *http.Request) {
		if n == 2 {
			h.Sim.ThrottleLegacyQuota(2, time.Minute)
		}
	}
	evs := h.MustRun()
	inc, _ := split(t, evs)
	if len(inc) != h.Sim.Totals().Incidents {
		t.Errorf("%d legacy incidents, want %d", len(inc), h.Sim.Totals().Incidents)
	}
	if got := fmt.Sprint(h.Clock.Waits()); got != "[1m0s 1m0s]" {
		t.Errorf("waits %s, want the 1 min quota window twice", got)
	}
	if logs := h.Logs.String(); !strings.Contains(logs, "error_kind=throttling") || !strings.Contains(logs, "wait_ms=60000") {
		t.Errorf("throttling wait not logged:\n%s", logs)
	}
}

func TestExpandAlertsFalse(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 60, AlertsPerIncident: 2, Seed: 12})
	h.Params["expand_alerts"] = "0"
	evs := h.MustRun()
	inc, al := split(t, evs)
	if len(inc) != 60 || len(al) != 0 {
		t.Errorf("%d incidents, %d alerts", len(inc), len(al))
	}
	for _, r := range h.Sim.Requests() {
		if strings.Contains(r.RawQuery, "expand") {
			t.Errorf("$expand sent: %s", r.RawQuery)
		}
	}
}

func TestCertificateCredential(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 10, AlertsPerIncident: 1, Seed: 13})
	pem, err := h.Sim.NewClientCertificate()
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/app.pem"
	if err := writeFile(path, pem); err != nil {
		t.Fatal(err)
	}
	delete(h.Params, "client_secret")
	h.Params["client_certificate"] = path
	if err := h.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	evs := h.MustRun()
	wantAll(t, h, evs, 1)
}

func TestTokenEndpointFaults(t *testing.T) {
	for _, status := range []int{503, 429, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := newHarness(t, simulator.Options{Incidents: 20, AlertsPerIncident: 1, Seed: 14})
			h.Sim.FailTokens(2, status)
			wantAll(t, h, h.MustRun(), 1)
			if w := h.Clock.Waits(); len(w) != 2 {
				t.Errorf("waits %v, want 2", w)
			}
			if st := h.Sim.Stats(); st.TokenRequests != 3 || st.TokensIssued != 1 {
				t.Errorf("token requests %d issued %d", st.TokenRequests, st.TokensIssued)
			}
		})
	}
}
