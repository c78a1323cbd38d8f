package incidents

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/internal/restpolltest"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

// event is one <event> of the stream.
type event = restpolltest.Event

// key identifies one version of an object: id and last update.
type key = restpolltest.Key

func parseStream(t testing.TB, b []byte) []event { return restpolltest.ParseStream(t, b) }

// ids returns the distinct ids of a version map.
func ids(m map[key]int) map[string]int { return restpolltest.IDs(m) }

// harness runs the input in-process against a simulator.
type harness struct {
	*restpolltest.Harness
}

func newHarness(t testing.TB, opts simulator.Options) *harness {
	t.Helper()
	h := &harness{}
	h.Harness = restpolltest.NewHarness(t, opts, Kind(), func(st modinput.Stanza, rt *inputs.Runtime) (restpolltest.Runner, error) {
		cfg, err := NewConfig(st)
		if err != nil {
			return nil, err
		}
		in := New(cfg, rt)
		in.Clock = h.Clock
		return in, nil
	})
	return h
}

// split sorts events into incident and alert versions.
func split(t testing.TB, evs []event) (incidents, alerts map[key]int) {
	t.Helper()
	incidents, alerts = map[key]int{}, map[key]int{}
	for _, e := range evs {
		var o map[string]any
		if err := json.Unmarshal([]byte(e.Data), &o); err != nil {
			t.Fatalf("event data is not JSON: %v: %.200s", err, e.Data)
		}
		switch e.Sourcetype {
		case SourcetypeIncident:
			id := idText(o["id"])
			upd, _ := o["lastUpdateDateTime"].(string)
			if id == "" {
				id, upd = idText(o["incidentId"]), o["lastUpdateTime"].(string)
			}
			incidents[key{ID: id, Updated: upd}]++
		case SourcetypeAlert:
			id := idText(o["id"])
			upd, _ := o["lastUpdateDateTime"].(string)
			if id == "" {
				id, _ = o["alertId"].(string)
				upd, _ = o["lastUpdatedTime"].(string)
			}
			alerts[key{ID: id, Updated: upd}]++
		default:
			t.Fatalf("unexpected sourcetype %q", e.Sourcetype)
		}
	}
	return incidents, alerts
}

func idText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return ""
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
