package eventhub

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestPartitionStatsLines runs the input in-process with a short stats
// interval and checks the per-partition line the Streaming dashboard charts.
func TestPartitionStatsLines(t *testing.T) {
	peer := testpeer.StartEventHubs(t, testpeer.EventHubsOptions{Partitions: 2})
	for _, pid := range peer.PartitionIDs() {
		peer.Send(pid, []byte(`{"records":[{"a":1},{"b":2},{"c":3}]}`), []byte(`{"records":[{"d":4}]}`))
	}
	st := modinput.Stanza{Name: "m365_defender_eventhub://stats", Params: map[string]string{"connection_string": peer.ConnectionString(), "max_wait_seconds": "1"}}
	cfg, err := NewConfig(st)
	if err != nil {
		t.Fatal(err)
	}
	cfg.StatsInterval = 300 * time.Millisecond
	store, err := checkpoint.NewFileStore(t.TempDir(), st.Name)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	var out syncBuffer
	rt := &inputs.Runtime{
		Events: modinput.NewEventWriter(&out), Checkpoints: store, Secrets: &modinput.Secrets{}, Now: time.Now,
		Logger: slog.New(modinput.NewLogHandler(&logs, modinput.LogOptions{Level: slog.LevelInfo})).With("stanza", st.Name, "input", SchemeName),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(cfg, rt).Run(ctx) }()
	want := []string{
		`INFO msg="partition stats" stanza=m365_defender_eventhub://stats input=m365_defender_eventhub event_hub=hub partition=0 records=4 bytes=28 messages=2`,
		`INFO msg="partition stats" stanza=m365_defender_eventhub://stats input=m365_defender_eventhub event_hub=hub partition=1 records=4 bytes=28 messages=2`,
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		l := logs.String()
		if strings.Contains(l, want[0]) && strings.Contains(l, want[1]) && strings.Contains(l, " lag=0 last_enqueued_sequence_number=1 checkpoint_sequence_number=1") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	l := logs.String()
	for _, w := range want {
		if !strings.Contains(l, w) {
			t.Errorf("no line %s in:\n%s", w, l)
		}
	}
	if !strings.Contains(l, " lag=0 last_enqueued_sequence_number=1 checkpoint_sequence_number=1 checkpoint_time=20") {
		t.Errorf("lag not reported as 0 after catching up:\n%s", l)
	}
	_ = rt.Events.Close()
	if n := strings.Count(out.String(), "<event "); n != 8 {
		t.Errorf("%d events written, want 8", n)
	}

	// A restart with nothing new: the lag comes from the stored checkpoints
	// at once, not from the whole retention.
	var logs2 syncBuffer
	rt.Events = modinput.NewEventWriter(io.Discard)
	rt.Logger = slog.New(modinput.NewLogHandler(&logs2, modinput.LogOptions{Level: slog.LevelInfo}))
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { done <- New(cfg, rt).Run(ctx2) }()
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && strings.Count(logs2.String(), `msg="partition stats"`) < 2 {
		time.Sleep(100 * time.Millisecond)
	}
	cancel2()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs2.String(), `msg="partition stats"`); n < 2 {
		t.Fatalf("%d stats lines after the restart:\n%s", n, logs2.String())
	}
	for _, l := range strings.Split(logs2.String(), "\n") {
		if strings.Contains(l, `msg="partition stats"`) && !strings.Contains(l, " records=0 ") || strings.Contains(l, `msg="partition stats"`) && !strings.Contains(l, " lag=0 last_enqueued_sequence_number=1 checkpoint_sequence_number=1") {
			t.Errorf("after a restart: %s", l)
		}
	}
}
