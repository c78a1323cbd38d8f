package restpoll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
)

// State is the cursor part of an input's checkpoint record. An input
// embeds it in its record, so that its fields stay at the record's top
// level in JSON.
type State struct {
	// API is the api parameter the cursor was built with; ids are not
	// comparable across APIs, so a change keeps only the time.
	API    string          `json:"api"`
	Cursor defender.Cursor `json:"cursor"`
	// Resumed reports whether Resume loaded the cursor from the store
	// (false on a first run, where the cursor is the start date). It is
	// not saved.
	Resumed bool `json:"-"`
}

// Checkpoint is an input's checkpoint record: saved under Key in the
// stanza's store, Record points at the value saved (encoding/json), and
// State at its cursor part.
type Checkpoint struct {
	Key    string
	Record any
	State  *State
}

// Start begins a poll that started at started: it checks that rt has a
// checkpoint store, connects (see Connect), and resumes cp (see Resume).
// Pass its errors through Cancelled: ctx may have ended while connecting.
func Start(ctx context.Context, rt *inputs.Runtime, cfg Config, o ConnectOptions, started time.Time, cp Checkpoint) (*defender.Client, error) {
	if err := needCheckpoints(rt, cfg); err != nil {
		return nil, err
	}
	client, err := Connect(ctx, rt, cfg, o)
	if err != nil {
		return nil, err
	}
	if err := cp.Resume(rt, cfg, started); err != nil {
		return nil, err
	}
	return client, nil
}

// Resume loads cp from rt's checkpoint store. Without a checkpoint,
// cp.State starts at cfg.StartDate, or DefaultLookback before started.
// When the api parameter changed since, only the cursor's time is kept.
// rt.Checkpoints must be set.
func (cp Checkpoint) Resume(rt *inputs.Runtime, cfg Config, started time.Time) error {
	st := cp.State
	found, err := rt.Checkpoints.Load(cp.Key, cp.Record)
	if err != nil {
		return fmt.Errorf("stanza %q: loading the checkpoint: %w", cfg.Stanza.Name, err)
	}
	switch {
	case !found:
		start := cfg.StartDate
		if start.IsZero() {
			start = started.Add(-DefaultLookback)
		}
		*st = State{API: cfg.API, Cursor: defender.Cursor{Time: start.UTC()}}
		return nil
	case st.API != cfg.API:
		Logger(rt).Info("api changed, keeping the checkpoint time only", "from", st.API, "to", cfg.API)
		st.API, st.Cursor.IDs = cfg.API, nil
	}
	st.Resumed = true
	return nil
}

// needCheckpoints is the error of a stanza without checkpoint store (nil
// when rt has one).
func needCheckpoints(rt *inputs.Runtime, cfg Config) error {
	if rt.Checkpoints == nil {
		return fmt.Errorf("stanza %q: no checkpoint directory", cfg.Stanza.Name)
	}
	return nil
}

// Commit flushes the events written so far, and only then moves cp's
// cursor to c and saves cp (a defender.Poller's PageDone).
func (cp Checkpoint) Commit(rt *inputs.Runtime, c defender.Cursor) error {
	if err := rt.Events.Flush(); err != nil {
		return fmt.Errorf("flushing events: %w", err)
	}
	cp.State.Cursor = c
	if err := rt.Checkpoints.Save(cp.Key, cp.Record); err != nil {
		return fmt.Errorf("saving the checkpoint: %w", err)
	}
	return nil
}

// LogComplete writes the poll complete line of the logging contract.
func LogComplete(rt *inputs.Runtime, events, pages int, started time.Time, st State) {
	Logger(rt).Info("poll complete", "events", events, "pages", pages,
		"duration_ms", Now(rt).Sub(started).Milliseconds(),
		"checkpoint_time", st.Cursor.Time.UTC().Format(time.RFC3339Nano))
}

// Logger is rt's logger, or one that discards.
func Logger(rt *inputs.Runtime) *slog.Logger {
	if rt.Logger != nil {
		return rt.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Now is rt's clock, or the system's.
func Now(rt *inputs.Runtime) time.Time {
	if rt.Now != nil {
		return rt.Now()
	}
	return time.Now()
}

// Cancelled maps errors caused by ctx ending to nil.
func Cancelled(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ctx.Err())) {
		return nil
	}
	return err
}
