package alerts

import (
	"encoding/json"
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
	top int // page size
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
		in.top = h.top
		return in, nil
	})
	return h
}

// split counts alert versions (id, lastUpdateDateTime or lastUpdateTime).
func split(t testing.TB, evs []event) map[key]int {
	t.Helper()
	alerts := map[key]int{}
	for _, e := range evs {
		if e.Sourcetype != Sourcetype {
			t.Fatalf("unexpected sourcetype %q", e.Sourcetype)
		}
		var o map[string]any
		if err := json.Unmarshal([]byte(e.Data), &o); err != nil {
			t.Fatalf("event data is not JSON: %v: %.200s", err, e.Data)
		}
		id, _ := o["id"].(string)
		upd, _ := o["lastUpdateDateTime"].(string)
		if upd == "" {
			upd, _ = o["lastUpdateTime"].(string)
		}
		alerts[key{ID: id, Updated: upd}]++
	}
	return alerts
}
