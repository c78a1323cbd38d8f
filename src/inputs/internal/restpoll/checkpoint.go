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
}

// Resume loads the checkpoint record rec saved under key; st is rec's
// State. Without a checkpoint, st starts at cfg.StartDate, or
// DefaultLookback before started. When the api parameter changed since,
// only the cursor's time is kept. rt.Checkpoints must be set (see
// NeedCheckpoints).
func Resume(rt *inputs.Runtime, key string, cfg Config, started time.Time, rec any, st *State) error {
	found, err := rt.Checkpoints.Load(key, rec)
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
	case st.API != cfg.API:
		Logger(rt).Info("api changed, keeping the checkpoint time only", "from", st.API, "to", cfg.API)
		st.API, st.Cursor.IDs = cfg.API, nil
	}
	return nil
}

// NeedCheckpoints is the error of a stanza without checkpoint store (nil
// when rt has one).
func NeedCheckpoints(rt *inputs.Runtime, cfg Config) error {
	if rt.Checkpoints == nil {
		return fmt.Errorf("stanza %q: no checkpoint directory", cfg.Stanza.Name)
	}
	return nil
}

// Commit flushes the events written so far, and only then moves st to c
// and saves the checkpoint record rec (of which st is part) under key.
func Commit(rt *inputs.Runtime, key string, c defender.Cursor, rec any, st *State) error {
	if err := rt.Events.Flush(); err != nil {
		return fmt.Errorf("flushing events: %w", err)
	}
	st.Cursor = c
	if err := rt.Checkpoints.Save(key, rec); err != nil {
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
