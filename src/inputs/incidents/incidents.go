package incidents

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/internal/restpoll"
)

// checkpointKey is the record the cursor is saved under (the store is
// already namespaced to the stanza).
const checkpointKey = "incidents"

// state is the checkpoint record: the cursor and the api it was built
// with, and the $expand fallback.
type state struct {
	restpoll.State
	// ExpandFailedUntil, when in the future, makes the input read alerts
	// per incident without trying $expand=alerts first.
	ExpandFailedUntil time.Time `json:"expand_failed_until,omitzero"`
}

// expandRetryAfter is how long the input keeps reading alerts per incident
// after $expand=alerts failed, before it tries $expand again.
const expandRetryAfter = 6 * time.Hour

// Input is a running m365_defender_incidents stanza.
type Input struct {
	cfg Config
	rt  *inputs.Runtime
	// Clock, when set before Run, replaces the system clock for backoff
	// and token expiry (tests).
	Clock defender.Clock
	// Retry, when set before Run, replaces the default retry policy.
	Retry defender.RetryPolicy

	client   *defender.Client
	fallback bool // reading alerts per incident
	events   int
	pages    int
	st       state
	// alertsSince is the cursor the poll resumed from (zero on a first
	// run): an alert last updated before its time was written when it
	// changed, because an alert change moves its incident's update time;
	// so was one updated at its time if its incident is among its ids.
	alertsSince defender.Cursor
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

// Run polls once from the checkpoint to the end of the incident list.
// It returns nil when ctx ends (what was written and flushed stays
// checkpointed).
func (in *Input) Run(ctx context.Context) error {
	started := restpoll.Now(in.rt)
	var err error
	if in.client, err = restpoll.Start(ctx, in.rt, in.cfg.Config, in.connectOptions(), started, in.checkpoint()); err != nil {
		return restpoll.Cancelled(ctx, err)
	}
	in.alertsSince = defender.Cursor{}
	if in.st.Resumed {
		in.alertsSince = in.st.Cursor.Clone()
	}
	in.fallback = in.cfg.API == "graph" && in.cfg.ExpandAlerts && started.Before(in.st.ExpandFailedUntil)
	err = in.poll(ctx)
	if err != nil && ctx.Err() == nil && in.shouldFallBack(err) {
		restpoll.Logger(in.rt).Warn("$expand=alerts keeps failing, reading alerts per incident from alerts_v2",
			"error", err.Error(), "error_kind", string(defender.KindOf(err)))
		in.fallback = true
		in.st.ExpandFailedUntil = started.Add(expandRetryAfter)
		err = in.poll(ctx)
	}
	if err := restpoll.Cancelled(ctx, err); err != nil {
		return restpoll.WithParam(in.cfg.Stanza, err)
	}
	restpoll.LogComplete(in.rt, in.events, in.pages, started, in.st.State)
	return nil
}

// shouldFallBack reports whether a failed poll should be retried with
// alerts read per incident. The choice is checkpointed with the next page
// the fallback writes, so that later runs do not retry $expand for a
// while.
func (in *Input) shouldFallBack(err error) bool {
	if in.fallback || in.cfg.API != "graph" || !in.cfg.ExpandAlerts {
		return false
	}
	// Only server errors: Graph's $expand=alerts fails with 500 on large
	// tenants. A network outage is not a reason to drop $expand.
	var ae *defender.APIError
	return errors.As(err, &ae) && ae.Status >= 500
}

func (in *Input) poll(ctx context.Context) error {
	coll := in.cfg.Collection()
	p := &defender.Poller{
		Client:     in.client,
		Collection: coll,
		Object:     in.writeIncident,
		PageDone:   in.commit,
	}
	if coll == defender.GraphIncidents && in.cfg.ExpandAlerts && !in.fallback {
		p.Query = url.Values{"$expand": {"alerts"}}
	}
	stats, err := p.Poll(ctx, in.st.Cursor)
	in.pages += stats.Pages
	return err
}

// writeIncident writes one incident and its alerts.
func (in *Input) writeIncident(ctx context.Context, o *defender.Object) error {
	st := in.cfg.Stanza
	ev := inputs.Event(st, SourcetypeIncident, in.cfg.source())
	ev.Time = o.Time
	ev.Data = o.Without("alerts")
	if err := in.rt.Events.Write(&ev); err != nil {
		return err
	}
	in.events++
	if !in.cfg.ExpandAlerts {
		return nil
	}
	if in.fallback {
		return in.fetchAlerts(ctx, o)
	}
	raw, ok := o.Field("alerts")
	if !ok {
		return nil
	}
	return defender.SplitArray(raw, func(alert []byte) error { return in.writeAlert(alert, o) })
}

// fetchAlerts reads an incident's alerts from alerts_v2 (the $expand
// fallback).
func (in *Input) fetchAlerts(ctx context.Context, incident *defender.Object) error {
	if incident.ID == "" {
		return nil
	}
	seen := map[string]bool{}
	req := defender.Request{
		Path:       defender.GraphAlerts.Path(),
		Query:      url.Values{"$filter": {"incidentId eq '" + escapeOData(incident.ID) + "'"}, "$top": {"1000"}},
		Permission: defender.GraphAlerts.Permission(),
	}
	_, err := in.client.Each(ctx, req, func(alert []byte) error {
		o, err := defender.ParseObject(alert, "id", "lastUpdateDateTime")
		if err == nil && o.ID != "" {
			if seen[o.ID] {
				return nil // a page read twice after a broken transfer
			}
			seen[o.ID] = true
		}
		return in.writeAlert(alert, incident)
	})
	if err != nil {
		return fmt.Errorf("alerts of incident %s: %w", incident.ID, err)
	}
	return nil
}

// writeAlert writes one alert; its time is its own last update (Graph
// lastUpdateDateTime, legacy lastUpdatedTime or lastUpdateTime), else the
// incident's. An alert the cursor the poll resumed from covers (see
// alertsSince) is not written again: it was written when it changed (an
// alert change moves its incident's update time, so that incident version
// was polled then), and it comes again now only because its incident
// changed. An alert without a readable time of its own is always written,
// and so is every alert on a first run.
func (in *Input) writeAlert(raw []byte, incident *defender.Object) error {
	own := alertTime(raw)
	if !own.IsZero() && in.alertsSince.Seen(own, incident.ID) {
		return nil
	}
	ev := inputs.Event(in.cfg.Stanza, SourcetypeAlert, in.cfg.source())
	ev.Time = incident.Time
	if !own.IsZero() {
		ev.Time = own
	}
	ev.Data = raw
	if err := in.rt.Events.Write(&ev); err != nil {
		return err
	}
	in.events++
	return nil
}

// alertTime is an alert's own last update time (zero when it has none or
// it does not parse).
func alertTime(raw []byte) time.Time {
	o, err := defender.ParseObject(raw, "id", "lastUpdateDateTime")
	if err != nil {
		return time.Time{}
	}
	if !o.Time.IsZero() {
		return o.Time
	}
	for _, f := range []string{"lastUpdatedTime", "lastUpdateTime"} {
		if v, ok := o.Field(f); ok {
			if t, err := defender.ParseTime(unquote(v)); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// commit flushes the page's events and then saves the cursor.
func (in *Input) commit(_ context.Context, c defender.Cursor, _ int) error {
	return in.checkpoint().Commit(in.rt, c)
}

// checkpoint is where the cursor is saved.
func (in *Input) checkpoint() restpoll.Checkpoint {
	return restpoll.Checkpoint{Key: checkpointKey, Record: &in.st, State: &in.st.State}
}

// escapeOData doubles single quotes inside an OData string literal.
func escapeOData(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func unquote(v []byte) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return string(v[1 : len(v)-1])
	}
	return string(v)
}
