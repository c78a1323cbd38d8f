// Package restpolltest runs a polling REST input (m365_defender_incidents,
// m365_defender_alerts) in-process against a loopback simulator of
// Microsoft's APIs, and reads back what it wrote: the event stream, the
// logs and the checkpoint files. Only tests import it, so that the shipped
// binary does not carry the simulator.
package restpolltest

import (
	"bytes"
	"context"
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

// Event is one <event> of the stream.
type Event struct {
	Stanza     string `xml:"stanza,attr"`
	Time       string `xml:"time"`
	Source     string `xml:"source"`
	Sourcetype string `xml:"sourcetype"`
	Index      string `xml:"index"`
	Host       string `xml:"host"`
	Data       string `xml:"data"`
}

// ParseStream reads the events of an XML stream, tolerating a stream cut
// anywhere (a killed process): an incomplete last event is dropped.
func ParseStream(t testing.TB, b []byte) []Event {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var evs []Event
	for {
		tok, err := dec.Token()
		if err != nil {
			return evs
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "event" {
			var e Event
			if err := dec.DecodeElement(&e, &se); err != nil {
				return evs
			}
			evs = append(evs, e)
		}
	}
}

// Key identifies one version of an object: id and last update.
type Key struct{ ID, Updated string }

// IDs returns the distinct ids of a version map with the number of
// versions written of each.
func IDs(m map[Key]int) map[string]int {
	out := map[string]int{}
	for k, n := range m {
		out[k.ID] += n
	}
	return out
}

// FakeClock never really sleeps: backoff and Retry-After are recorded and
// move the clock forward. It is safe for concurrent use.
type FakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

// NewFakeClock returns a FakeClock set to the current time.
func NewFakeClock() *FakeClock { return &FakeClock{now: time.Now()} }

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Sleep records d, moves the clock forward by d and returns ctx.Err().
func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// Waits returns the durations slept on so far.
func (c *FakeClock) Waits() []time.Duration {
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

// SyncBuffer is a bytes.Buffer safe for concurrent use (the log sink).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Runner is a configured input, ready to poll once.
type Runner interface {
	Run(ctx context.Context) error
}

// NewFunc builds the input for st on rt (its package's NewConfig and New,
// plus any test overrides); an error ends the run before anything is
// written.
type NewFunc func(st modinput.Stanza, rt *inputs.Runtime) (Runner, error)

// Harness runs an input in-process against a simulator. Its stanza is
// <scheme>://test with Params, which start out pointing at the simulator
// with its credentials, index defender and host sim-host.
type Harness struct {
	T       testing.TB
	Sim     *simulator.Server
	Dir     string // the checkpoint directory
	Clock   *FakeClock
	Secrets *modinput.Secrets
	Logs    SyncBuffer // every log line, DEBUG and up
	// Hook, when set, is called before each API request (not token
	// requests) with its 1-based number.
	Hook   func(n int, r *http.Request)
	Params map[string]string
	// OwnHTTP leaves Runtime.HTTPClient nil, so that the input builds its
	// own client from proxy_url and ca_file.
	OwnHTTP bool

	kind  inputs.Kind
	newIn NewFunc
}

// NewHarness starts a simulator with opts (closed when the test ends) and
// returns a harness for kind, whose input newIn builds. With opts.Clock
// set, the simulator and the input share the harness's fake clock.
func NewHarness(t testing.TB, opts simulator.Options, kind inputs.Kind, newIn NewFunc) *Harness {
	t.Helper()
	clock := NewFakeClock()
	if opts.Clock == nil {
		opts.Clock = time.Now
	} else {
		opts.Clock = clock.Now // the simulator and the input share the fake time
	}
	sim := simulator.New(opts)
	t.Cleanup(sim.Close)
	h := &Harness{T: t, Sim: sim, Dir: t.TempDir(), Clock: clock, Secrets: &modinput.Secrets{}, kind: kind, newIn: newIn}
	h.Params = map[string]string{
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

// Stanza returns the stanza built from a copy of Params.
func (h *Harness) Stanza() modinput.Stanza {
	p := map[string]string{}
	for k, v := range h.Params {
		p[k] = v
	}
	return modinput.Stanza{Name: h.kind.Name + "://test", App: "TA-m365-defender", Params: p}
}

// Runtime returns a runtime that writes events to out, checkpoints into
// Dir and logs into Logs.
func (h *Harness) Runtime(out io.Writer) *inputs.Runtime {
	st := h.Stanza()
	store, err := checkpoint.NewFileStore(h.Dir, st.Name)
	if err != nil {
		h.T.Fatal(err)
	}
	handler := modinput.NewLogHandler(&h.Logs, modinput.LogOptions{Level: slog.LevelDebug, Secrets: h.Secrets})
	return &inputs.Runtime{
		CheckpointDir: h.Dir,
		Events:        modinput.NewEventWriter(out),
		Checkpoints:   store,
		Secrets:       h.Secrets,
		Logger:        slog.New(handler).With("stanza", st.Name, "input", h.kind.Name),
		Now:           time.Now,
		HTTPClient:    h.httpClient(),
	}
}

func (h *Harness) httpClient() *http.Client {
	if h.OwnHTTP {
		return nil
	}
	return &http.Client{Transport: &hookTransport{base: h.Sim.Client().Transport, hook: h.Hook}}
}

// Run polls once and returns the events written.
func (h *Harness) Run(ctx context.Context) ([]Event, error) {
	h.T.Helper()
	var out bytes.Buffer
	rt := h.Runtime(&out)
	in, err := h.newIn(h.Stanza(), rt)
	if err != nil {
		return nil, err
	}
	err = in.Run(ctx)
	if cerr := rt.Events.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return ParseStream(h.T, out.Bytes()), err
}

// MustRun is Run that fails the test, with the logs, on an error.
func (h *Harness) MustRun() []Event {
	h.T.Helper()
	evs, err := h.Run(context.Background())
	if err != nil {
		h.T.Fatalf("run: %v\nlogs:\n%s", err, h.Logs.String())
	}
	return evs
}

// Validate runs the kind's --validate-arguments check.
func (h *Harness) Validate() error {
	rt := h.Runtime(io.Discard)
	return h.kind.Validate(context.Background(), rt, h.Stanza())
}

// CheckpointFiles returns the bytes of every file in the checkpoint dir.
func (h *Harness) CheckpointFiles() []byte {
	var all []byte
	filepath.Walk(h.Dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			all = append(all, b...)
		}
		return nil
	})
	return all
}
