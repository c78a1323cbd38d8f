package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// checkpointKey is the record the cursor is saved under (the store is
// already namespaced to the stanza).
const checkpointKey = "alerts"

// state is the checkpoint record.
type state struct {
	// API is the api parameter the cursor was built with; ids are not
	// comparable across APIs, so a change keeps only the time.
	API    string          `json:"api"`
	Cursor defender.Cursor `json:"cursor"`
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

// New returns the input for cfg.
func New(cfg Config, rt *inputs.Runtime) *Input {
	return &Input{cfg: cfg, rt: rt}
}

// Kind wires the input for the command.
func Kind() inputs.Kind {
	return inputs.Kind{
		Name:    Scheme,
		Scheme:  scheme(),
		Polling: true,
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

// connect resolves the secret and builds the API client. The live check
// (check) does not move a clear secret into storage/passwords: during
// --validate-arguments the input does not exist yet, so it could not be
// masked; a masked value is read back as usual.
func (in *Input) connect(ctx context.Context, check bool) error {
	st := in.cfg.Stanza
	var secret string
	var err error
	if v := st.Param("client_secret"); check && v != modinput.Mask {
		if in.rt.Secrets != nil {
			in.rt.Secrets.Add(v)
		}
		secret = v
	} else if secret, err = in.rt.Secret(ctx, st, "client_secret"); err != nil {
		return err
	}
	var cert *defender.Certificate
	if f := in.cfg.Entra.CertificateFile; f != "" {
		if cert, err = defender.LoadCertificate(f); err != nil {
			return withParam(st, err)
		}
	}
	if u, err := url.Parse(in.cfg.ProxyURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && in.rt.Secrets != nil {
			in.rt.Secrets.Add(pw) // a proxy password is a secret too
		}
	}
	hc := in.rt.HTTPClient
	if hc == nil {
		if hc, err = defender.NewHTTPClient(defender.HTTPOptions{ProxyURL: in.cfg.ProxyURL, CAFile: in.cfg.CAFile}); err != nil {
			return withParam(st, err)
		}
	}
	service := defender.Graph
	if in.cfg.API == "legacy" {
		service = defender.MDE
	}
	in.client, _, err = defender.Connect(defender.ConnectOptions{
		Environment: in.cfg.Entra.Environment, Service: service,
		TenantID: in.cfg.Entra.TenantID, ClientID: in.cfg.Entra.ClientID,
		ClientSecret: secret, Certificate: cert,
		LoginURL: in.cfg.LoginURL, APIURL: in.cfg.APIURL,
		HTTPClient: hc, Logger: in.logger(), Clock: in.Clock, Retry: in.Retry,
	})
	return withParam(st, err)
}

// Check is the live check of --validate-arguments: a token and one $top=1
// request. Its errors name the parameter at fault.
func (in *Input) Check(ctx context.Context) error {
	if in.Retry == (defender.RetryPolicy{}) {
		in.Retry = checkRetry() // splunkd waits for the answer: fail fast
	}
	if err := in.connect(ctx, true); err != nil {
		return err
	}
	coll := in.cfg.collection()
	q := url.Values{"$top": {"1"}}
	err := in.client.DoJSON(ctx, defender.Request{Path: coll.Path(), Query: q, Permission: coll.Permission(), MaxAttempts: 2}, nil)
	return withParam(in.cfg.Stanza, err)
}

// checkRetry is the retry policy of the live check: one retry, short waits.
func checkRetry() defender.RetryPolicy {
	return defender.RetryPolicy{
		MaxAttempts: 2, MaxThrottled: 2, BaseDelay: 500 * time.Millisecond, MaxDelay: 2 * time.Second, MaxRetryAfter: 5 * time.Second,
	}
}

// Run polls once from the checkpoint to the end of the alert list. It
// returns nil when ctx ends (what was written and flushed stays
// checkpointed).
func (in *Input) Run(ctx context.Context) error {
	started := in.now()
	if in.rt.Checkpoints == nil {
		return fmt.Errorf("stanza %q: no checkpoint directory", in.cfg.Stanza.Name)
	}
	if err := in.connect(ctx, false); err != nil {
		return cancelled(ctx, err)
	}
	found, err := in.rt.Checkpoints.Load(checkpointKey, &in.st)
	if err != nil {
		return fmt.Errorf("stanza %q: loading the checkpoint: %w", in.cfg.Stanza.Name, err)
	}
	switch {
	case !found:
		start := in.cfg.StartDate
		if start.IsZero() {
			start = started.Add(-DefaultLookback)
		}
		in.st = state{API: in.cfg.API, Cursor: defender.Cursor{Time: start.UTC()}}
	case in.st.API != in.cfg.API:
		in.logger().Info("api changed, keeping the checkpoint time only", "from", in.st.API, "to", in.cfg.API)
		in.st.API, in.st.Cursor.IDs = in.cfg.API, nil
	}
	coll := in.cfg.collection()
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
	if err := cancelled(ctx, err); err != nil {
		return withParam(in.cfg.Stanza, err)
	}
	in.logger().Info("poll complete", "events", in.events, "pages", stats.Pages,
		"duration_ms", in.now().Sub(started).Milliseconds(),
		"checkpoint_time", in.st.Cursor.Time.UTC().Format(time.RFC3339Nano))
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
	if err := in.rt.Events.Flush(); err != nil {
		return fmt.Errorf("flushing events: %w", err)
	}
	in.st.Cursor = c
	if err := in.rt.Checkpoints.Save(checkpointKey, in.st); err != nil {
		return fmt.Errorf("saving the checkpoint: %w", err)
	}
	return nil
}

func (in *Input) logger() *slog.Logger {
	if in.rt.Logger != nil {
		return in.rt.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (in *Input) now() time.Time {
	if in.rt.Now != nil {
		return in.rt.Now()
	}
	return time.Now()
}

// cancelled maps errors caused by ctx ending to nil.
func cancelled(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ctx.Err())) {
		return nil
	}
	return err
}
