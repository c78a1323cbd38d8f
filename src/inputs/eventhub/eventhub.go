// Package eventhub is the m365_defender_eventhub input: it consumes the Event
// Hub that Microsoft Defender XDR's Streaming API writes Advanced Hunting
// records to, with azeventhubs' Processor, and writes every record to Splunk
// as one event. Checkpoints move only after the records they cover were
// flushed to stdout.
package eventhub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// Kind returns the input as the command lists it.
func Kind() inputs.Kind {
	return inputs.Kind{
		Name:   SchemeName,
		Scheme: Scheme(),
		Validate: func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
			cfg, err := NewConfig(st)
			if err != nil {
				return err
			}
			return New(cfg, rt).Check(ctx)
		},
		Run: func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
			cfg, err := NewConfig(st)
			if err != nil {
				return err
			}
			return New(cfg, rt).Run(ctx)
		},
	}
}

// Input is one running m365_defender_eventhub stanza.
type Input struct {
	cfg Config
	rt  *inputs.Runtime
	log *slog.Logger

	hub, namespace string
	partitions     sync.Map // partition ID → *partitionStats

	// newCredential builds the Entra ID credential; tests replace it.
	newCredential func(ctx context.Context) (azcore.TokenCredential, error)
}

// New returns the input for cfg.
func New(cfg Config, rt *inputs.Runtime) *Input {
	log := rt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	in := &Input{cfg: cfg, rt: rt, log: log}
	in.newCredential = in.credential
	return in
}

// partitionStats are the counters behind the periodic "partition stats" line.
type partitionStats struct {
	records, bytes, messages, notEnvelope atomic.Int64
	lastSeq                               atomic.Int64 // last checkpointed sequence number, -1 none
	reported                              atomic.Int64 // records at the last report
	avgMessage                            atomic.Int64 // moving average of message body size
	failing                               atomic.Bool  // in a fault episode: logged once, until receiving works again
	checkpointTime                        atomic.Int64 // enqueued time (Unix ns) of the last checkpointed event
	owned                                 atomic.Bool  // this input consumes the partition now
}

// observe updates the moving average of message sizes.
func (ps *partitionStats) observe(events []*azeventhubs.ReceivedEventData) {
	var sum int
	for _, ev := range events {
		sum += len(ev.Body)
	}
	avg := int64(sum / len(events))
	if old := ps.avgMessage.Load(); old > 0 {
		avg = (old*3 + avg) / 4
	}
	ps.avgMessage.Store(max(avg, 1))
}

// memoryBudget bounds the message bytes one input holds in its receive
// batches, shared by the partitions it owns.
const memoryBudget = 24 << 20

// batchSize is how many messages the next receive asks for: max_batch_size,
// lowered so that the owned partitions' batches together stay within
// memoryBudget at the sizes seen so far.
func (in *Input) batchSize(ps *partitionStats) int {
	owned := 0
	in.partitions.Range(func(_, v any) bool {
		if v.(*partitionStats).owned.Load() {
			owned++
		}
		return true
	})
	avg := ps.avgMessage.Load()
	if avg == 0 {
		return min(in.cfg.MaxBatchSize, 16) // sizes unknown yet: start small
	}
	fit := int(memoryBudget / int64(max(owned, 1)) / avg)
	return max(1, min(in.cfg.MaxBatchSize, fit))
}

func (in *Input) stats(partition string) *partitionStats {
	if p, ok := in.partitions.Load(partition); ok {
		return p.(*partitionStats)
	}
	ps := &partitionStats{}
	ps.lastSeq.Store(-1)
	p, _ := in.partitions.LoadOrStore(partition, ps)
	return p.(*partitionStats)
}

// Run consumes the hub until ctx ends. Transient faults are retried with
// backoff, logged once per episode; Run returns an error only for a
// configuration that cannot work or when splunkd stops reading events.
func (in *Input) Run(ctx context.Context) error {
	clients, err := in.connectRetrying(ctx)
	if err != nil || clients == nil {
		return err
	}
	defer clients.close()
	in.log.Info("event hub input started", "event_hub", in.hub, "namespace", in.namespace, "consumer_group", in.cfg.ConsumerGroup,
		"checkpoint_store", in.cfg.CheckpointStore, "start_position", in.cfg.StartPosition)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		in.reportStats(ctx, clients.consumer)
	}()

	backoff := newBackoff(time.Second, time.Minute)
	episode := false
	for ctx.Err() == nil {
		started := time.Now()
		err := in.runProcessor(ctx, clients, cancel)
		if ctx.Err() != nil {
			break
		}
		if time.Since(started) > time.Minute {
			// It ran fine for a while: this is a new episode.
			episode = false
			backoff = newBackoff(time.Second, time.Minute)
		}
		if !episode {
			in.log.Warn("event hub processor stopped, restarting with backoff", "error_kind", kindOf(err), "error", err)
			episode = true
		}
		wait := backoff.next()
		in.log.Debug("retrying", "error_kind", kindOf(err), "wait_ms", wait.Milliseconds())
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause // stdout closed, or a partition worker panicked
	}
	return nil
}

// connectRetrying builds the clients, retrying with backoff what may be
// transient (splunkd, the checkpoint container); a configuration that cannot
// work (*modinput.ParamError) is returned at once. It returns nil clients and
// no error when ctx ends first.
func (in *Input) connectRetrying(ctx context.Context) (*clients, error) {
	backoff := newBackoff(time.Second, time.Minute)
	for attempt := 1; ; attempt++ {
		c, err := in.connect(ctx)
		var pe *modinput.ParamError
		switch {
		case err == nil:
			if attempt > 1 {
				in.log.Info("event hub input connected after retrying", "attempt", attempt)
			}
			return c, nil
		case errors.As(err, &pe):
			return nil, err
		case attempt == 1:
			in.log.Error("cannot start the event hub input; retrying", "error_kind", kindOf(err), "error", err)
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(backoff.next()):
		}
	}
}

// runProcessor runs one Processor (they cannot be reused) and its partition
// workers until the processor stops; it waits for the workers before
// returning, so their clients are never used after close.
func (in *Input) runProcessor(ctx context.Context, clients *clients, stop context.CancelCauseFunc) error {
	start := azeventhubs.StartPosition{Earliest: to(true)}
	if in.cfg.StartPosition == "latest" {
		start = azeventhubs.StartPosition{Latest: to(true)}
	}
	proc, err := azeventhubs.NewProcessor(clients.consumer, clients.store, &azeventhubs.ProcessorOptions{
		LoadBalancingStrategy: azeventhubs.ProcessorStrategyGreedy,
		StartPositions:        azeventhubs.StartPositions{Default: start},
		// No prefetch: each receive asks for exactly what batchSize allows,
		// so memory is bounded by bytes, not by a message count (Defender
		// messages can be near 1 MB each).
		Prefetch: -1,
	})
	if err != nil {
		return fmt.Errorf("eventhub: processor: %w", err)
	}
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			pc := proc.NextPartitionClient(pctx)
			if pc == nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					// A panic here would end every stanza of the process:
					// make it this stanza's error instead.
					if r := recover(); r != nil {
						stop(fmt.Errorf("eventhub: partition %s panicked: %v", pc.PartitionID(), r))
					}
				}()
				if err := in.consumePartition(pctx, pc, clients.store); err != nil && errors.Is(err, modinput.ErrOutputClosed) {
					stop(err)
				}
			}()
		}
	}()
	err = proc.Run(pctx)
	pcancel()
	wg.Wait()
	if err == nil && ctx.Err() == nil {
		err = errors.New("eventhub: processor stopped")
	}
	return err
}

// consumePartition receives batches from one owned partition, writes their
// records, flushes, and only then moves the partition's checkpoint.
func (in *Input) consumePartition(ctx context.Context, pc *azeventhubs.ProcessorPartitionClient, store azeventhubs.CheckpointStore) error {
	defer pc.Close(context.Background())
	pid := pc.PartitionID()
	log := in.log.With("partition", pid)
	ps := in.stats(pid)
	in.seedCheckpoint(ctx, store, pid, ps)
	ps.owned.Store(true)
	defer ps.owned.Store(false)
	log.Info("partition claimed", "event_hub", in.hub)
	st := in.cfg.Stanza
	tmpl := inputs.Event(st, inputs.SourcetypeOr(st, DefaultSourcetype), "m365_defender_eventhub:"+in.hub)
	var records [][]byte
	for {
		rctx, cancel := context.WithTimeout(ctx, in.cfg.MaxWait)
		events, err := pc.ReceiveEvents(rctx, in.batchSize(ps), nil)
		cancel()
		if len(events) > 0 {
			notEnvelope := 0
			for _, ev := range events {
				var ok bool
				records, ok = splitRecords(records[:0], ev.Body)
				if !ok {
					notEnvelope++
					records = append(records[:0], ev.Body)
				}
				for _, rec := range records {
					e := tmpl
					e.Data = rec
					if e.Time = recordTime(rec); e.Time.IsZero() && ev.EnqueuedTime != nil {
						e.Time = *ev.EnqueuedTime
					}
					if err := in.rt.Events.Write(&e); err != nil {
						return err
					}
					ps.bytes.Add(int64(len(rec)))
				}
				ps.records.Add(int64(len(records)))
			}
			ps.messages.Add(int64(len(events)))
			ps.observe(events)
			if err := in.rt.Events.Flush(); err != nil {
				return err // the engine reports it; no checkpoint moves
			}
			if notEnvelope > 0 {
				ps.notEnvelope.Add(int64(notEnvelope))
				log.Warn("message bodies that are not a {\"records\":[...]} envelope were delivered whole", "count", notEnvelope, "total", ps.notEnvelope.Load())
			}
			last := events[len(events)-1]
			if err := pc.UpdateCheckpoint(ctx, last, nil); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				log.Warn("cannot save the partition checkpoint; the batch may be repeated", "error_kind", "checkpoint", "error", err)
			} else {
				ps.lastSeq.Store(last.SequenceNumber)
				if last.EnqueuedTime != nil {
					ps.checkpointTime.Store(last.EnqueuedTime.UnixNano())
				}
			}
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil, errors.Is(err, context.DeadlineExceeded):
			if ps.failing.CompareAndSwap(true, false) {
				log.Info("partition receiving again")
			}
			continue
		}
		var ehErr *azeventhubs.Error
		if errors.As(err, &ehErr) && ehErr.Code == azeventhubs.ErrorCodeOwnershipLost {
			log.Info("partition ownership moved to another consumer", "event_hub", in.hub)
			return nil
		}
		if ps.failing.CompareAndSwap(false, true) {
			log.Warn("receiving failed; the processor retries until it works again", "error_kind", kindOf(err), "error", err)
		} else {
			log.Debug("receiving still failing", "error_kind", kindOf(err), "error", err)
		}
		return err
	}
}

// seedCheckpoint sets a newly claimed partition's last checkpointed sequence
// number from the store (another owner, or an earlier run, may have moved it),
// so that its lag is right from the first stats line.
func (in *Input) seedCheckpoint(ctx context.Context, store azeventhubs.CheckpointStore, pid string, ps *partitionStats) {
	cps, err := store.ListCheckpoints(ctx, in.namespace, in.hub, in.cfg.ConsumerGroup, nil)
	if err != nil {
		in.log.Debug("cannot read checkpoints for the lag figure", "partition", pid, "error", err)
		return
	}
	for _, cp := range cps {
		if cp.PartitionID == pid && cp.SequenceNumber != nil {
			ps.lastSeq.Store(*cp.SequenceNumber)
		}
	}
}

// reportStats writes one INFO line per partition every StatsInterval.
func (in *Input) reportStats(ctx context.Context, consumer *azeventhubs.ConsumerClient) {
	t := time.NewTicker(in.cfg.StatsInterval)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			elapsed := now.Sub(last).Seconds()
			last = now
			in.partitions.Range(func(k, v any) bool {
				pid, ps := k.(string), v.(*partitionStats)
				if !ps.owned.Load() {
					return true // another consumer has it now; its lag is that consumer's to report
				}
				records := ps.records.Load()
				rate := float64(records-ps.reported.Swap(records)) / elapsed
				attrs := []any{"event_hub", in.hub, "partition", pid, "records", records, "bytes", ps.bytes.Load(),
					"messages", ps.messages.Load(), "records_per_sec", float64(int64(rate*10)) / 10}
				pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				props, err := consumer.GetPartitionProperties(pctx, pid, nil)
				cancel()
				if err == nil {
					lag := props.LastEnqueuedSequenceNumber - ps.lastSeq.Load()
					if ps.lastSeq.Load() < 0 {
						// No checkpoint yet: from earliest, the whole retention is still to read.
						lag = props.LastEnqueuedSequenceNumber - props.BeginningSequenceNumber + 1
						if in.cfg.StartPosition == "latest" || props.IsEmpty {
							lag = 0
						}
					}
					attrs = append(attrs, "lag", max(lag, 0), "last_enqueued_sequence_number", props.LastEnqueuedSequenceNumber)
				}
				attrs = append(attrs, "checkpoint_sequence_number", ps.lastSeq.Load())
				if ct := ps.checkpointTime.Load(); ct > 0 {
					// The dashboards chart checkpoint age from this, as from
					// the polling inputs' "poll complete" lines.
					attrs = append(attrs, "checkpoint_time", time.Unix(0, ct).UTC().Format(time.RFC3339Nano))
				}
				in.log.Info("partition stats", attrs...)
				return true
			})
		}
	}
}

// Check connects and reads the hub's properties, for --validate-arguments.
func (in *Input) Check(ctx context.Context) error {
	clients, err := in.connect(ctx)
	if err != nil {
		return err
	}
	defer clients.close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	props, err := clients.consumer.GetEventHubProperties(ctx, nil)
	if err != nil {
		return in.explain(err)
	}
	in.log.Info("event hub reachable", "event_hub", props.Name, "partitions", len(props.PartitionIDs))
	return nil
}

// explain turns an SDK error into a message that names the parameter to fix.
func (in *Input) explain(err error) error {
	st := in.cfg.Stanza
	param := "connection_string"
	if in.cfg.ConnectionString == "" {
		param = "namespace"
	}
	var ehErr *azeventhubs.Error
	switch {
	case errors.As(err, &ehErr) && ehErr.Code == azeventhubs.ErrorCodeUnauthorizedAccess,
		strings.Contains(err.Error(), "status code 401"):
		if in.cfg.ConnectionString == "" {
			return st.Errorf("client_id", "the application is not authorised to receive from event hub %q (it needs the Azure Event Hubs Data Receiver role): %v", in.hub, err)
		}
		return st.Errorf(param, "the key was refused for event hub %q (it needs a shared access policy with Listen rights): %v", in.hub, err)
	case errors.Is(err, context.DeadlineExceeded):
		return st.Errorf(param, "namespace %s did not answer within 30 s (firewall, proxy or wrong host?): %v", in.namespace, err)
	}
	return st.Errorf(param, "cannot read event hub %q on %s: %v", in.hub, in.namespace, err)
}

// kindOf classifies an Event Hubs error for the error_kind log key.
func kindOf(err error) string {
	var ehErr *azeventhubs.Error
	if errors.As(err, &ehErr) {
		switch ehErr.Code {
		case azeventhubs.ErrorCodeUnauthorizedAccess:
			return "auth"
		case azeventhubs.ErrorCodeConnectionLost:
			return "network"
		}
	}
	if err != nil && strings.Contains(err.Error(), "status code 401") {
		return "auth"
	}
	return inputs.ErrorKind(err)
}

func to[T any](v T) *T { return &v }

// backoff is exponential with equal jitter: half the step fixed, half random.
type backoff struct {
	step, max time.Duration
}

func newBackoff(first, max time.Duration) *backoff { return &backoff{step: first, max: max} }

func (b *backoff) next() time.Duration {
	d := b.step/2 + rand.N(b.step/2+1)
	b.step = min(b.step*2, b.max)
	return d
}
