package testpeer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

// These tests drive the real azeventhubs/v2 SDK against the peer, so they check the peer's
// wire behaviour exactly as the Event Hub input will meet it.

func newConsumer(t *testing.T, eh *EventHubs) *azeventhubs.ConsumerClient {
	t.Helper()
	c, err := azeventhubs.NewConsumerClientFromConnectionString(eh.ConnectionString(), "", azeventhubs.DefaultConsumerGroup, fastRetry())
	if err != nil {
		t.Fatalf("NewConsumerClientFromConnectionString: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func newProducer(t *testing.T, eh *EventHubs) *azeventhubs.ProducerClient {
	t.Helper()
	p, err := azeventhubs.NewProducerClientFromConnectionString(eh.ConnectionString(), "", &azeventhubs.ProducerClientOptions{
		RetryOptions: fastRetry().RetryOptions,
	})
	if err != nil {
		t.Fatalf("NewProducerClientFromConnectionString: %v", err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func fastRetry() *azeventhubs.ConsumerClientOptions {
	return &azeventhubs.ConsumerClientOptions{RetryOptions: azeventhubs.RetryOptions{
		MaxRetries: 5, RetryDelay: 50 * time.Millisecond, MaxRetryDelay: 500 * time.Millisecond,
	}}
}

func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func bodies(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"records":[{"n":%d,"p":%q}]}`, i, prefix))
	}
	return out
}

// receiveN reads until it has n events or ctx ends.
func receiveN(ctx context.Context, t *testing.T, pc interface {
	ReceiveEvents(context.Context, int, *azeventhubs.ReceiveEventsOptions) ([]*azeventhubs.ReceivedEventData, error)
}, n int) []*azeventhubs.ReceivedEventData {
	t.Helper()
	var got []*azeventhubs.ReceivedEventData
	for len(got) < n {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		evs, err := pc.ReceiveEvents(rctx, n-len(got), nil)
		cancel()
		got = append(got, evs...)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ReceiveEvents after %d of %d events: %v", len(got), n, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("received %d of %d events before the deadline", len(got), n)
		}
	}
	return got
}

func TestEventHubsProperties(t *testing.T) {
	eh := StartEventHubs(t, EventHubsOptions{Hub: "insights-logs-advancedhunting-deviceevents"})
	c := newConsumer(t, eh)
	ctx := testContext(t, 20*time.Second)

	hp, err := c.GetEventHubProperties(ctx, nil)
	if err != nil {
		t.Fatalf("GetEventHubProperties: %v", err)
	}
	if hp.Name != eh.Hub() || strings.Join(hp.PartitionIDs, ",") != "0,1,2,3" || hp.GeoReplicationEnabled || hp.CreatedOn.IsZero() {
		t.Errorf("GetEventHubProperties = %+v", hp)
	}

	pp, err := c.GetPartitionProperties(ctx, "2", nil)
	if err != nil {
		t.Fatalf("GetPartitionProperties(empty): %v", err)
	}
	if !pp.IsEmpty || pp.BeginningSequenceNumber != 0 || pp.LastEnqueuedSequenceNumber != -1 || pp.PartitionID != "2" || pp.EventHubName != eh.Hub() {
		t.Errorf("empty partition properties = %+v", pp)
	}

	before := time.Now().Add(-time.Second)
	res := eh.Send("2", bodies("a", 3)...)
	if span := res.Partitions["2"]; res.Events != 3 || span.First != 0 || span.Last != 2 {
		t.Fatalf("Send = %+v", res)
	}
	pp, err = c.GetPartitionProperties(ctx, "2", nil)
	if err != nil {
		t.Fatalf("GetPartitionProperties: %v", err)
	}
	if pp.IsEmpty || pp.BeginningSequenceNumber != 0 || pp.LastEnqueuedSequenceNumber != 2 || pp.LastEnqueuedOffset == "" || pp.LastEnqueuedOn.Before(before) {
		t.Errorf("partition properties after 3 events = %+v", pp)
	}

	if _, err := c.GetPartitionProperties(ctx, "9", nil); err == nil {
		t.Errorf("GetPartitionProperties(9) succeeded on a 4-partition hub")
	}
}

func TestEventHubsBatchSendReceiveEarliest(t *testing.T) {
	eh := StartEventHubs(t, EventHubsOptions{})
	ctx := testContext(t, 30*time.Second)
	p := newProducer(t, eh)

	batch, err := p.NewEventDataBatch(ctx, &azeventhubs.EventDataBatchOptions{PartitionID: to.Ptr("1")})
	if err != nil {
		t.Fatalf("NewEventDataBatch: %v", err)
	}
	want := bodies("batch", 50)
	for i, b := range want {
		ev := &azeventhubs.EventData{Body: b, Properties: map[string]any{"i": int64(i), "kind": "test"}}
		if err := batch.AddEventData(ev, nil); err != nil {
			t.Fatalf("AddEventData(%d): %v", i, err)
		}
	}
	if err := p.SendEventDataBatch(ctx, batch, nil); err != nil {
		t.Fatalf("SendEventDataBatch: %v", err)
	}
	c := newConsumer(t, eh)
	pc, err := c.NewPartitionClient("1", &azeventhubs.PartitionClientOptions{
		StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)},
	})
	if err != nil {
		t.Fatalf("NewPartitionClient: %v", err)
	}
	defer pc.Close(ctx)
	got := receiveN(ctx, t, pc, len(want))
	var lastOffset string
	for i, ev := range got {
		if !bytes.Equal(ev.Body, want[i]) {
			t.Fatalf("event %d body = %q, want %q", i, ev.Body, want[i])
		}
		if ev.SequenceNumber != int64(i) || ev.EnqueuedTime == nil || ev.Offset == "" || ev.Offset == lastOffset {
			t.Fatalf("event %d: seq %d offset %q enqueued %v", i, ev.SequenceNumber, ev.Offset, ev.EnqueuedTime)
		}
		if ev.Properties["kind"] != "test" || fmt.Sprint(ev.Properties["i"]) != strconv.Itoa(i) {
			t.Fatalf("event %d properties = %v", i, ev.Properties)
		}
		lastOffset = ev.Offset
	}

	// An event sent with a partition key goes to one partition, chosen by the key, and
	// carries the key.
	before := eh.Stats().Partitions
	keyed, err := p.NewEventDataBatch(ctx, &azeventhubs.EventDataBatchOptions{PartitionKey: to.Ptr("tenant-7")})
	if err != nil {
		t.Fatalf("NewEventDataBatch(key): %v", err)
	}
	if err := keyed.AddEventData(&azeventhubs.EventData{Body: []byte("keyed")}, nil); err != nil {
		t.Fatalf("AddEventData(keyed): %v", err)
	}
	if err := p.SendEventDataBatch(ctx, keyed, nil); err != nil {
		t.Fatalf("SendEventDataBatch(keyed): %v", err)
	}

	after := eh.Stats().Partitions
	var keyedPartition string
	for id, st := range after {
		if st.Enqueued == before[id].Enqueued+1 {
			keyedPartition = id
		} else if st.Enqueued != before[id].Enqueued {
			t.Fatalf("partition %s grew by %d events", id, st.Enqueued-before[id].Enqueued)
		}
	}
	if keyedPartition == "" {
		t.Fatalf("keyed event stored nowhere: %+v", after)
	}
	kc, err := c.NewPartitionClient(keyedPartition, &azeventhubs.PartitionClientOptions{
		StartPosition: azeventhubs.StartPosition{SequenceNumber: to.Ptr(after[keyedPartition].LastEnqueuedSeq), Inclusive: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close(ctx)
	ev := receiveN(ctx, t, kc, 1)[0]
	if string(ev.Body) != "keyed" || ev.PartitionKey == nil || *ev.PartitionKey != "tenant-7" {
		t.Errorf("keyed event = body %q key %v", ev.Body, ev.PartitionKey)
	}
}

func TestEventHubsStartPositions(t *testing.T) {
	eh := StartEventHubs(t, EventHubsOptions{})
	ctx := testContext(t, 30*time.Second)
	eh.Send("0", bodies("x", 5)...)
	time.Sleep(20 * time.Millisecond) // a distinct enqueued time for the second half
	mid := time.Now()
	time.Sleep(20 * time.Millisecond)
	eh.Send("0", bodies("y", 5)...)

	c := newConsumer(t, eh)
	all := func() []*azeventhubs.ReceivedEventData {
		pc, err := c.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)}})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close(ctx)
		return receiveN(ctx, t, pc, 10)
	}()

	tests := []struct {
		name  string
		start azeventhubs.StartPosition
		first int64
	}{
		{"OffsetExclusive", azeventhubs.StartPosition{Offset: &all[3].Offset}, 4},
		{"OffsetInclusive", azeventhubs.StartPosition{Offset: &all[3].Offset, Inclusive: true}, 3},
		{"SequenceExclusive", azeventhubs.StartPosition{SequenceNumber: to.Ptr[int64](6)}, 7},
		{"SequenceInclusive", azeventhubs.StartPosition{SequenceNumber: to.Ptr[int64](6), Inclusive: true}, 6},
		{"SequenceLastExclusive", azeventhubs.StartPosition{SequenceNumber: to.Ptr[int64](9)}, 10},
		{"EnqueuedTime", azeventhubs.StartPosition{EnqueuedTime: &mid}, 5},
		{"Latest", azeventhubs.StartPosition{Latest: to.Ptr(true)}, 10},
		{"Default", azeventhubs.StartPosition{}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := c.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: tt.start})
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close(ctx)
			if tt.first == 10 {
				// Nothing is there yet: the link opens on the first call, then a new event arrives.
				rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				evs, _ := pc.ReceiveEvents(rctx, 1, nil)
				cancel()
				if len(evs) != 0 {
					t.Fatalf("%s: got seq %d before anything new was sent", tt.name, evs[0].SequenceNumber)
				}
				res := eh.Send("0", []byte("new"))
				ev := receiveN(ctx, t, pc, 1)[0]
				if ev.SequenceNumber != res.Partitions["0"].First || string(ev.Body) != "new" {
					t.Fatalf("%s: got seq %d %q", tt.name, ev.SequenceNumber, ev.Body)
				}
				return
			}
			ev := receiveN(ctx, t, pc, 1)[0]
			if ev.SequenceNumber != tt.first {
				t.Fatalf("%s: first event seq %d, want %d", tt.name, ev.SequenceNumber, tt.first)
			}
		})
	}

	t.Run("SequenceBeyondEnd", func(t *testing.T) {
		pc, err := c.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{SequenceNumber: to.Ptr[int64](500)}})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close(ctx)
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := pc.ReceiveEvents(rctx, 1, nil); err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ReceiveEvents from seq 500 of 12: err = %v, want the service's out-of-range error", err)
		}
	})
}

func TestEventHubsRetention(t *testing.T) {
	eh := StartEventHubs(t, EventHubsOptions{Partitions: 2})
	ctx := testContext(t, 20*time.Second)
	eh.Send("1", bodies("r", 10)...)
	eh.SetRetention("1", 6)

	c := newConsumer(t, eh)
	pp, err := c.GetPartitionProperties(ctx, "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pp.BeginningSequenceNumber != 6 || pp.LastEnqueuedSequenceNumber != 9 || pp.IsEmpty {
		t.Errorf("after retention: %+v", pp)
	}
	if s := eh.Stats().Partitions["1"]; s.Events != 4 || s.Enqueued != 10 {
		t.Errorf("stats after retention = %+v", s)
	}
	// A checkpoint older than the retained data resumes at the first retained event.
	pc, err := c.NewPartitionClient("1", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{SequenceNumber: to.Ptr[int64](2)}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(ctx)
	evs := receiveN(ctx, t, pc, 4)
	if evs[0].SequenceNumber != 6 || evs[3].SequenceNumber != 9 {
		t.Errorf("received seq %d..%d, want 6..9", evs[0].SequenceNumber, evs[3].SequenceNumber)
	}
}

// memStore is an in-memory azeventhubs.CheckpointStore with ETag semantics like the blob store:
// a claim succeeds only if its ETag matches the stored one (or both are absent).
type memStore struct {
	mu          sync.Mutex
	n           int
	ownerships  map[string]azeventhubs.Ownership
	checkpoints map[string]azeventhubs.Checkpoint
}

var _ azeventhubs.CheckpointStore = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{ownerships: map[string]azeventhubs.Ownership{}, checkpoints: map[string]azeventhubs.Checkpoint{}}
}

func storeKey(ns, hub, cg, id string) string {
	return strings.ToLower(ns + "/" + hub + "/" + cg + "/" + id)
}

func (s *memStore) ClaimOwnership(ctx context.Context, claims []azeventhubs.Ownership, _ *azeventhubs.ClaimOwnershipOptions) ([]azeventhubs.Ownership, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var won []azeventhubs.Ownership
	for _, c := range claims {
		k := storeKey(c.FullyQualifiedNamespace, c.EventHubName, c.ConsumerGroup, c.PartitionID)
		cur, exists := s.ownerships[k]
		if exists && (c.ETag == nil || cur.ETag == nil || *c.ETag != *cur.ETag) {
			continue
		}
		if !exists && c.ETag != nil {
			continue
		}
		s.n++
		c.ETag = to.Ptr(azcore.ETag(strconv.Itoa(s.n)))
		c.LastModifiedTime = time.Now().UTC()
		s.ownerships[k] = c
		won = append(won, c)
	}
	return won, nil
}

func (s *memStore) ListCheckpoints(ctx context.Context, ns, hub, cg string, _ *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix := storeKey(ns, hub, cg, "")
	var out []azeventhubs.Checkpoint
	for k, c := range s.checkpoints {
		if strings.HasPrefix(k, prefix) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *memStore) ListOwnership(ctx context.Context, ns, hub, cg string, _ *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix := storeKey(ns, hub, cg, "")
	var out []azeventhubs.Ownership
	for k, o := range s.ownerships {
		if strings.HasPrefix(k, prefix) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (s *memStore) SetCheckpoint(ctx context.Context, c azeventhubs.Checkpoint, _ *azeventhubs.SetCheckpointOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkpoints[storeKey(c.FullyQualifiedNamespace, c.EventHubName, c.ConsumerGroup, c.PartitionID)] = c
	return nil
}

// processorRun runs a Processor and a worker per claimed partition, feeding every event to
// events, and records which partitions it lost to another owner.
type processorRun struct {
	mu      sync.Mutex
	owned   map[string]bool
	lost    map[string]int
	stopped chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startProcessor(t *testing.T, eh *EventHubs, store azeventhubs.CheckpointStore, strategy azeventhubs.ProcessorStrategy, events chan<- *azeventhubs.ReceivedEventData) *processorRun {
	t.Helper()
	c := newConsumer(t, eh)
	proc, err := azeventhubs.NewProcessor(c, store, &azeventhubs.ProcessorOptions{
		LoadBalancingStrategy: strategy,
		UpdateInterval:        200 * time.Millisecond,
		StartPositions:        azeventhubs.StartPositions{Default: azeventhubs.StartPosition{Earliest: to.Ptr(true)}},
	})
	if err != nil {
		t.Fatalf("NewProcessor: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &processorRun{owned: map[string]bool{}, lost: map[string]int{}, stopped: make(chan struct{}), cancel: cancel}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(r.stopped)
		if err := proc.Run(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("Processor.Run: %v", err)
		}
	}()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			ppc := proc.NextPartitionClient(ctx)
			if ppc == nil {
				return
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				r.work(ctx, t, ppc, events)
			}()
		}
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *processorRun) work(ctx context.Context, t *testing.T, ppc *azeventhubs.ProcessorPartitionClient, events chan<- *azeventhubs.ReceivedEventData) {
	id := ppc.PartitionID()
	defer ppc.Close(context.Background())
	r.mu.Lock()
	r.owned[id] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.owned, id)
		r.mu.Unlock()
	}()
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		evs, err := ppc.ReceiveEvents(rctx, 100, nil)
		cancel()
		for _, ev := range evs {
			events <- ev
		}
		if len(evs) > 0 {
			if err := ppc.UpdateCheckpoint(ctx, evs[len(evs)-1], nil); err != nil && ctx.Err() == nil {
				t.Errorf("UpdateCheckpoint(%s): %v", id, err)
			}
		}
		var ehErr *azeventhubs.Error
		switch {
		case ctx.Err() != nil:
			return
		case errors.As(err, &ehErr) && ehErr.Code == azeventhubs.ErrorCodeOwnershipLost:
			r.mu.Lock()
			r.lost[id]++
			r.mu.Unlock()
			return
		case err != nil && !errors.Is(err, context.DeadlineExceeded):
			t.Errorf("partition %s: ReceiveEvents: %v", id, err)
			return
		}
	}
}

func (r *processorRun) ownedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.owned)
}

func (r *processorRun) stop() {
	r.cancel()
	r.wg.Wait()
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// collect reads n events from ch and returns, per partition, the sequence numbers in order.
func collect(t *testing.T, ch <-chan *azeventhubs.ReceivedEventData, n int, d time.Duration) map[string][]int64 {
	t.Helper()
	out := map[string][]int64{}
	timeout := time.After(d)
	for i := 0; i < n; i++ {
		select {
		case ev := <-ch:
			var rec struct{ P string }
			_ = rec
			p := string(ev.Body[bytes.LastIndexByte(ev.Body, '|')+1:])
			out[p] = append(out[p], ev.SequenceNumber)
		case <-timeout:
			t.Fatalf("received %d of %d events within %v", i, n, d)
		}
	}
	return out
}

// taggedBodies returns n bodies for partition p, ending in "|p" so the receiver can tell
// which partition an event came from.
func taggedBodies(p string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"records":[{"n":%d}]}|%s`, i, p))
	}
	return out
}

func checkContiguous(t *testing.T, got map[string][]int64, from, to int64) {
	t.Helper()
	for p, seqs := range got {
		for i, s := range seqs {
			if s != from+int64(i) {
				t.Fatalf("partition %s: event %d has seq %d, want %d (seqs %v)", p, i, s, from+int64(i), seqs)
			}
		}
		if len(seqs) > 0 && seqs[len(seqs)-1] != to {
			t.Fatalf("partition %s: last seq %d, want %d", p, seqs[len(seqs)-1], to)
		}
	}
}

func TestEventHubsProcessorClaimsAllPartitions(t *testing.T) {
	eh := StartEventHubs(t, EventHubsOptions{})
	for _, id := range eh.PartitionIDs() {
		eh.Send(id, taggedBodies(id, 25)...)
	}
	events := make(chan *azeventhubs.ReceivedEventData, 1000)
	store := newMemStore()
	r := startProcessor(t, eh, store, azeventhubs.ProcessorStrategyGreedy, events)
	got := collect(t, events, 100, 20*time.Second)
	if len(got) != 4 {
		t.Fatalf("events from %d partitions, want 4", len(got))
	}
	checkContiguous(t, got, 0, 24)
	if n := r.ownedCount(); n != 4 {
		t.Errorf("processor owns %d partitions, want 4", n)
	}
	if n := len(eh.Stats().Receivers); n != 4 {
		t.Errorf("peer sees %d receivers, want 4", n)
	}
	// Checkpoints were written with the SDK's offsets and sequence numbers.
	waitFor(t, 5*time.Second, "4 checkpoints at seq 24", func() bool {
		cps, _ := store.ListCheckpoints(context.Background(), eh.Address(), eh.Hub(), azeventhubs.DefaultConsumerGroup, nil)
		ok := len(cps) == 4
		for _, c := range cps {
			ok = ok && c.SequenceNumber != nil && *c.SequenceNumber == 24 && c.Offset != nil
		}
		return ok
	})
}

func TestEventHubsLinkStealing(t *testing.T) {
	eh := StartEventHubs(t, EventHubsOptions{})
	ctx := testContext(t, 30*time.Second)
	c := newConsumer(t, eh)

	t.Run("HigherEpochTakesOver", func(t *testing.T) {
		eh.Send("3", []byte("one"))
		first, err := c.NewPartitionClient("3", &azeventhubs.PartitionClientOptions{
			StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)}, OwnerLevel: to.Ptr[int64](1),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close(ctx)
		receiveN(ctx, t, first, 1)

		second, err := c.NewPartitionClient("3", &azeventhubs.PartitionClientOptions{
			StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)}, OwnerLevel: to.Ptr[int64](2),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer second.Close(ctx)
		receiveN(ctx, t, second, 1)

		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err = first.ReceiveEvents(rctx, 1, nil)
		var ehErr *azeventhubs.Error
		if !errors.As(err, &ehErr) || ehErr.Code != azeventhubs.ErrorCodeOwnershipLost {
			t.Fatalf("old owner's ReceiveEvents: err = %v, want ErrorCodeOwnershipLost", err)
		}
		if !strings.Contains(err.Error(), "amqp:link:stolen") {
			t.Errorf("error %q does not name amqp:link:stolen", err)
		}

		// A lower epoch is refused while the higher one holds the partition.
		low, err := c.NewPartitionClient("3", &azeventhubs.PartitionClientOptions{
			StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)}, OwnerLevel: to.Ptr[int64](0),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer low.Close(ctx)
		// As with the service, the refusal names amqp:link:stolen and the epoch that holds it.
		_, err = low.ReceiveEvents(rctx, 1, nil)
		if err == nil || !strings.Contains(err.Error(), "amqp:link:stolen") || !strings.Contains(err.Error(), "higher epoch '2' already exists") {
			t.Fatalf("lower epoch ReceiveEvents: err = %v, want amqp:link:stolen naming epoch 2", err)
		}
		// The holder is unaffected.
		eh.Send("3", []byte("two"))
		if ev := receiveN(ctx, t, second, 1)[0]; string(ev.Body) != "two" {
			t.Errorf("holder received %q after the refused attach", ev.Body)
		}
	})

	t.Run("TwoProcessorsSplit", func(t *testing.T) {
		eh2 := StartEventHubs(t, EventHubsOptions{})
		store := newMemStore()
		events := make(chan *azeventhubs.ReceivedEventData, 1000)
		a := startProcessor(t, eh2, store, azeventhubs.ProcessorStrategyGreedy, events)
		waitFor(t, 10*time.Second, "processor A to own 4 partitions", func() bool { return a.ownedCount() == 4 })
		b := startProcessor(t, eh2, store, azeventhubs.ProcessorStrategyBalanced, events)
		waitFor(t, 15*time.Second, "a 2/2 split", func() bool { return a.ownedCount() == 2 && b.ownedCount() == 2 })
		a.mu.Lock()
		lost := len(a.lost)
		a.mu.Unlock()
		if lost != 2 {
			t.Errorf("processor A lost %d partitions with ErrorCodeOwnershipLost, want 2", lost)
		}
		// Every partition now has exactly one receiver, and events still flow to both.
		waitFor(t, 5*time.Second, "4 receivers at the peer", func() bool { return len(eh2.Stats().Receivers) == 4 })
		for _, id := range eh2.PartitionIDs() {
			eh2.Send(id, taggedBodies(id, 5)...)
		}
		got := collect(t, events, 20, 15*time.Second)
		checkContiguous(t, got, 0, 4)

		// When A stops, B takes over A's partitions.
		a.stop()
		waitFor(t, 15*time.Second, "B to own all 4 partitions", func() bool { return b.ownedCount() == 4 })
	})
}

// streamAll receives from partition "0" into a channel until ctx ends.
func streamAll(ctx context.Context, t *testing.T, c *azeventhubs.ConsumerClient, errs chan<- error) <-chan *azeventhubs.ReceivedEventData {
	out := make(chan *azeventhubs.ReceivedEventData, 1000)
	pc, err := c.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer pc.Close(context.Background())
		for ctx.Err() == nil {
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			evs, err := pc.ReceiveEvents(rctx, 50, nil)
			cancel()
			for _, ev := range evs {
				out <- ev
			}
			if err != nil && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				errs <- err
				return
			}
		}
	}()
	return out
}

func TestEventHubsRecovery(t *testing.T) {
	tests := []struct {
		name  string
		fault func(eh *EventHubs) int
	}{
		{"ForcedDetach", func(eh *EventHubs) int { return eh.DetachPartition("0") }},
		{"DroppedConnection", func(eh *EventHubs) int { return eh.DropConnection() }},
		{"ClosedConnection", func(eh *EventHubs) int { return eh.CloseConnections() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eh := StartEventHubs(t, EventHubsOptions{})
			ctx := testContext(t, 30*time.Second)
			c := newConsumer(t, eh)
			errs := make(chan error, 1)
			ch := streamAll(ctx, t, c, errs)
			eh.Send("0", taggedBodies("0", 30)...)
			got := collect(t, ch, 30, 10*time.Second)
			if n := tt.fault(eh); n == 0 {
				t.Fatalf("fault hit nothing")
			}
			eh.Send("0", taggedBodies("0", 30)...)
			more := collect(t, ch, 30, 20*time.Second)
			got["0"] = append(got["0"], more["0"]...)
			checkContiguous(t, got, 0, 59)
			select {
			case err := <-errs:
				t.Fatalf("ReceiveEvents did not recover: %v", err)
			default:
			}
			if s := eh.Stats(); s.ConnectionsTotal < 1 || (tt.name != "ForcedDetach" && s.ConnectionsTotal < 2) {
				t.Errorf("connections total %d", s.ConnectionsTotal)
			}
		})
	}
}

func TestEventHubsRefusedToken(t *testing.T) {
	eh := StartEventHubs(t, EventHubsOptions{})
	ctx := testContext(t, 20*time.Second)

	eh.RefuseNextToken()
	c := newConsumer(t, eh)
	_, err := c.GetEventHubProperties(ctx, nil)
	if err == nil {
		t.Fatal("GetEventHubProperties succeeded with a refused token")
	}
	if !strings.Contains(err.Error(), "401") {
		t.Errorf("error %q does not carry the 401 status", err)
	}
	if s := eh.Stats(); s.TokensRefused != 1 || s.RefuseTokensPending != 0 {
		t.Errorf("stats after refusal: refused %d pending %d", s.TokensRefused, s.RefuseTokensPending)
	}
	// Only the next token was refused: a new client works.
	if _, err := newConsumer(t, eh).GetEventHubProperties(ctx, nil); err != nil {
		t.Errorf("GetEventHubProperties after the refusal: %v", err)
	}

	t.Run("WrongKey", func(t *testing.T) {
		cs := strings.Replace(eh.ConnectionString(), eh.Key(), "d3Jvbmcta2V5", 1)
		bad, err := azeventhubs.NewConsumerClientFromConnectionString(cs, "", azeventhubs.DefaultConsumerGroup, fastRetry())
		if err != nil {
			t.Fatal(err)
		}
		defer bad.Close(ctx)
		pc, err := bad.NewPartitionClient("0", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close(ctx)
		_, err = pc.ReceiveEvents(ctx, 1, nil)
		var ehErr *azeventhubs.Error
		if !errors.As(err, &ehErr) || ehErr.Code != azeventhubs.ErrorCodeUnauthorizedAccess {
			t.Fatalf("ReceiveEvents with a wrong key: err = %v, want ErrorCodeUnauthorizedAccess", err)
		}
	})
}

func TestEventHubsMissingPackagesAreNamed(t *testing.T) {
	root := t.TempDir()
	_, err := eventHubsNode(root, "rhea")
	if err == nil || !strings.Contains(err.Error(), "npm ci") || !strings.Contains(err.Error(), `"rhea"`) {
		t.Fatalf("eventHubsNode without node_modules: err = %v, want advice to run npm ci naming rhea", err)
	}
	t.Setenv("PATH", root)
	if _, err := eventHubsNode(root, "rhea"); err == nil || !strings.Contains(err.Error(), "node (20 or later) is required") {
		t.Fatalf("eventHubsNode without node on PATH: err = %v", err)
	}
}

func TestEventHubsPrefetchModes(t *testing.T) {
	eh := StartEventHubs(t, EventHubsOptions{Partitions: 1})
	ctx := testContext(t, 30*time.Second)
	eh.SendRepeated("0", 1200, []byte(`{"records":[{"a":1}]}`))
	c := newConsumer(t, eh)
	for _, prefetch := range []int32{-1, 0, 5000} {
		t.Run(fmt.Sprintf("prefetch=%d", prefetch), func(t *testing.T) {
			pc, err := c.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{
				StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)}, Prefetch: prefetch,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close(ctx)
			evs := receiveN(ctx, t, pc, 1200)
			for i, ev := range evs {
				if ev.SequenceNumber != int64(i) {
					t.Fatalf("event %d has seq %d", i, ev.SequenceNumber)
				}
			}
		})
	}
}
