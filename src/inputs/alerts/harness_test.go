package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

// event is one <event> of the stream.
type event struct {
	Stanza     string `xml:"stanza,attr"`
	Time       string `xml:"time"`
	Source     string `xml:"source"`
	Sourcetype string `xml:"sourcetype"`
	Index      string `xml:"index"`
	Host       string `xml:"host"`
	Data       string `xml:"data"`
}

// parseStream reads the events of an XML stream, tolerating a stream cut
// anywhere (a killed process): an incomplete last event is dropped.
func parseStream(t testing.TB, b []byte) []event {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var evs []event
	for {
		tok, err := dec.Token()
		if err != nil {
			return evs
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "event" {
			var e event
			if err := dec.DecodeElement(&e, &se); err != nil {
				return evs
			}
			evs = append(evs, e)
		}
	}
}

// fakeClock never really sleeps: backoff and Retry-After are recorded and
// move the clock forward.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// hookTransport calls hook before each API request (not token requests)
// with its 1-based number.
type hookTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	n    int
	hook func(n int, r *http.Request)
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/token") && h.hook != nil {
		h.mu.Lock()
		h.n++
		n := h.n
		h.mu.Unlock()
		h.hook(n, r)
	}
	return h.base.RoundTrip(r)
}

// harness runs the input in-process against a simulator.
type harness struct {
	t       testing.TB
	sim     *simulator.Server
	dir     string
	clock   *fakeClock
	secrets *modinput.Secrets
	logs    syncBuffer
	hook    func(n int, r *http.Request)
	params  map[string]string
	// ownHTTP leaves Runtime.HTTPClient nil, so that the input builds its
	// own client from proxy_url and ca_file.
	ownHTTP bool
	top     int // page size
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t testing.TB, opts simulator.Options) *harness {
	t.Helper()
	clock := newFakeClock()
	if opts.Clock == nil {
		opts.Clock = time.Now
	} else {
		opts.Clock = clock.Now // the simulator and the input share the fake time
	}
	sim := simulator.New(opts)
	t.Cleanup(sim.Close)
	h := &harness{t: t, sim: sim, dir: t.TempDir(), clock: clock, secrets: &modinput.Secrets{}}
	h.params = map[string]string{
		"tenant_id":     sim.TenantID,
		"client_id":     sim.ClientID,
		"client_secret": sim.ClientSecret,
		"login_url":     sim.URL,
		"api_url":       sim.URL,
		"index":         "defender",
		"host":          "sim-host",
	}
	return h
}

func (h *harness) stanza() modinput.Stanza {
	p := map[string]string{}
	for k, v := range h.params {
		p[k] = v
	}
	return modinput.Stanza{Name: Scheme + "://test", App: "TA-m365-defender", Params: p}
}

func (h *harness) runtime(out io.Writer) *inputs.Runtime {
	st := h.stanza()
	store, err := checkpoint.NewFileStore(h.dir, st.Name)
	if err != nil {
		h.t.Fatal(err)
	}
	handler := modinput.NewLogHandler(&h.logs, modinput.LogOptions{Level: slog.LevelDebug, Secrets: h.secrets})
	return &inputs.Runtime{
		CheckpointDir: h.dir,
		Events:        modinput.NewEventWriter(out),
		Checkpoints:   store,
		Secrets:       h.secrets,
		Logger:        slog.New(handler).With("stanza", st.Name, "input", Scheme),
		Now:           time.Now,
		HTTPClient:    h.httpClient(),
	}
}

func (h *harness) httpClient() *http.Client {
	if h.ownHTTP {
		return nil
	}
	return &http.Client{Transport: &hookTransport{base: h.sim.Client().Transport, hook: h.hook}}
}

// run polls once and returns the events written.
func (h *harness) run(ctx context.Context) ([]event, error) {
	h.t.Helper()
	var out bytes.Buffer
	rt := h.runtime(&out)
	cfg, err := NewConfig(h.stanza())
	if err != nil {
		return nil, err
	}
	in := New(cfg, rt)
	in.Clock = h.clock
	in.top = h.top
	err = in.Run(ctx)
	if cerr := rt.Events.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return parseStream(h.t, out.Bytes()), err
}

func (h *harness) mustRun() []event {
	h.t.Helper()
	evs, err := h.run(context.Background())
	if err != nil {
		h.t.Fatalf("run: %v\nlogs:\n%s", err, h.logs.String())
	}
	return evs
}

// validate runs the Kind's --validate-arguments check.
func (h *harness) validate() error {
	rt := h.runtime(io.Discard)
	return Kind().Validate(context.Background(), rt, h.stanza())
}

// key identifies one version of an object: id and last update.
type key struct{ id, updated string }

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
		alerts[key{id, upd}]++
	}
	return alerts
}

// ids returns the distinct ids of a version map.
func ids(m map[key]int) map[string]int {
	out := map[string]int{}
	for k, n := range m {
		out[k.id] += n
	}
	return out
}

// checkpointFiles returns the bytes of every file in the checkpoint dir.
func (h *harness) checkpointFiles() []byte {
	var all []byte
	filepath.Walk(h.dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			all = append(all, b...)
		}
		return nil
	})
	return all
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
