package alerts

import (
	"cmp"
	"context"
	"net/url"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/internal/restpoll"
)

// checkpointKey is the record the cursor is saved under (the store is
// already namespaced to the stanza).
const checkpointKey = "alerts"

// state is the checkpoint record: the cursor and the api it was built
// with.
type state struct {
	restpoll.State
}

// Input is a running m365_defender_alerts stanza.
type Input struct {
	cfg Config
	rt  *inputs.Runtime
	// Clock, when set before Run, replaces the system clock for backoff
	// and token expiry (tests).
	Clock defender.Clock
	// Retry, when set before Run, replaces the default retry policy.
	Retry defender.RetryPolicy

	top    int // page size override (tests); 0 means pageSize
	client *defender.Client
	events int
	st     state
}

var _ restpoll.Input = (*Input)(nil)

// New returns the input for cfg.
func New(cfg Config, rt *inputs.Runtime) *Input {
	return &Input{cfg: cfg, rt: rt}
}

// Kind wires the input for the command.
func Kind() inputs.Kind { return restpoll.Kind(Scheme, scheme(), NewConfig, New) }

// connectOptions are the test overrides of the client.
func (in *Input) connectOptions() restpoll.ConnectOptions {
	return restpoll.ConnectOptions{Clock: in.Clock, Retry: in.Retry}
}

// Check is the live check of --validate-arguments: a token and one $top=1
// request. Its errors name the parameter at fault.
func (in *Input) Check(ctx context.Context) error {
	return restpoll.Check(ctx, in.rt, in.cfg.Config, in.connectOptions())
}

// Run polls once from the checkpoint to the end of the alert list. It
// returns nil when ctx ends (what was written and flushed stays
// checkpointed).
func (in *Input) Run(ctx context.Context) error {
	started := restpoll.Now(in.rt)
	var err error
	if in.client, err = restpoll.Start(ctx, in.rt, in.cfg.Config, in.connectOptions(), started, in.checkpoint()); err != nil {
		return restpoll.Cancelled(ctx, err)
	}
	coll := in.cfg.Collection()
	p := &defender.Poller{
		Client:     in.client,
		Collection: coll,
		Top:        cmp.Or(in.top, pageSize),
		Object:     in.writeAlert,
		PageDone:   in.commit,
	}
	if coll == defender.LegacyAlerts {
		p.Query = url.Values{"$expand": {"evidence"}}
	}
	stats, err := p.Poll(ctx, in.st.Cursor)
	if err := restpoll.Cancelled(ctx, err); err != nil {
		return restpoll.WithParam(in.cfg.Stanza, err)
	}
	restpoll.LogComplete(in.rt, in.events, stats.Pages, started, in.st.State)
	return nil
}

// writeAlert writes one alert as it came.
func (in *Input) writeAlert(_ context.Context, o *defender.Object) error {
	ev := inputs.Event(in.cfg.Stanza, inputs.SourcetypeOr(in.cfg.Stanza, Sourcetype), in.cfg.source())
	ev.Time = o.Time
	ev.Data = o.Raw
	if err := in.rt.Events.Write(&ev); err != nil {
		return err
	}
	in.events++
	return nil
}

// commit flushes the page's events and then saves the cursor.
func (in *Input) commit(_ context.Context, c defender.Cursor, _ int) error {
	return in.checkpoint().Commit(in.rt, c)
}

// checkpoint is where the cursor is saved.
func (in *Input) checkpoint() restpoll.Checkpoint {
	return restpoll.Checkpoint{Key: checkpointKey, Record: &in.st, State: &in.st.State}
}
