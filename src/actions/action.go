package actions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/splunkd"
)

// DefaultApp is the add-on's app name: where its inputs and their credentials live.
const DefaultApp = "TA-m365-defender"

// Deps are what an action needs from its surroundings; every field may be zero.
type Deps struct {
	// Logger receives the action's log lines (nil: a log handler on the stderr given to Execute).
	Logger *slog.Logger
	// Secrets collects the secrets read, so that log lines redact them (nil: a new set).
	Secrets *modinput.Secrets
	// HTTPClient sends the Microsoft requests (nil: built from the input's proxy_url and ca_file).
	HTTPClient *http.Client
	// SplunkdClient talks to splunkd (nil: splunkd.LoopbackTLSClient()).
	SplunkdClient *http.Client
	// App is the app whose inputs lend credentials (empty: DefaultApp); the payload's app is
	// tried next.
	App string
	// Clock paces retries (nil: the system clock).
	Clock defender.Clock
}

// RunError is returned when some targets failed; every failure was logged.
type RunError struct {
	Action          string
	Failed, Targets int
}

func (e *RunError) Error() string {
	return fmt.Sprintf("alert action %s: %d of %d updates failed", e.Action, e.Failed, e.Targets)
}

// maxRowErrors caps the per-result lines for results without an id.
const maxRowErrors = 20

// target is one incident or alert to update, with the result rows it came from.
type target struct {
	id   string
	rows []int
}

// Execute runs the alert action name with the payload read from stdin: it validates the
// configuration, resolves the credentials, and updates every target, logging each outcome.
// It returns nil when every target was updated, a *RunError when some failed, and another
// error when the action could not run at all (bad payload or configuration, no credentials).
func Execute(ctx context.Context, name string, stdin io.Reader, stderr io.Writer, deps Deps) error {
	if deps.Secrets == nil {
		deps.Secrets = &modinput.Secrets{}
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(modinput.NewLogHandler(stderr, modinput.LogOptions{Secrets: deps.Secrets}))
	}
	log = log.With("action", name)
	start := time.Now()
	err := execute(ctx, name, stdin, deps, log)
	var re *RunError
	switch {
	case err == nil:
	case errors.As(err, &re):
	default:
		log.Error("alert action failed", "error", err.Error(), "error_kind", errorKind(err), "outcome", "failed",
			"duration_ms", time.Since(start).Milliseconds())
	}
	return err
}

func execute(ctx context.Context, name string, stdin io.Reader, deps Deps, log *slog.Logger) error {
	p, err := ReadPayload(stdin)
	if err != nil {
		return err
	}
	deps.Secrets.Add(p.SessionKey)
	cfg, err := NewConfig(name, p.Configuration)
	if err != nil {
		return err
	}
	log = log.With("credentials", cfg.Stanza())
	if p.SID != "" {
		log = log.With("sid", p.SID)
	}

	// Targets first: a results file that cannot be read fails before anything is changed.
	targets, bad, err := collectTargets(cfg, p)
	if err != nil {
		return err
	}
	client, err := connect(ctx, cfg, p, deps, log)
	if err != nil {
		return err
	}
	start := time.Now()
	failed, updated := len(bad), 0
	for i, b := range bad {
		if i == maxRowErrors {
			log.Error(cfg.noun()+" update failed", "target", cfg.noun(), "outcome", "failed", "error_kind", "config",
				"error", fmt.Sprintf("%d more results have no %s field", len(bad)-i, strings.Join(cfg.idFields(), " or ")))
			break
		}
		log.Error(cfg.noun()+" update failed", "target", cfg.noun(), "result", b, "outcome", "failed", "error_kind", "config",
			"error", fmt.Sprintf("result %d has no %s field", b, strings.Join(cfg.idFields(), " or ")))
	}
	for i, t := range targets {
		if err := ctx.Err(); err != nil {
			return err
		}
		tl := log.With("target", cfg.noun(), "id", t.id)
		if len(t.rows) > 0 {
			tl = tl.With("results", joinInts(t.rows))
		}
		err := updateOne(ctx, client, cfg, t.id, tl)
		if err == nil {
			updated++
			continue
		}
		failed++
		kind := errorKind(err)
		tl.Error(cfg.noun()+" update failed", "outcome", "failed", "error", err.Error(), "error_kind", kind)
		if rest := len(targets) - i - 1; rest > 0 && (kind == string(defender.KindAuth) || kind == string(defender.KindPermission)) {
			// The app's credentials or permissions are wrong: every other call would fail the same way.
			failed += rest
			log.Error("alert action stopped", "outcome", "skipped", "error_kind", kind, "skipped", rest,
				"error", fmt.Sprintf("not trying the other %d targets: the %s failure applies to every call", rest, kind))
			break
		}
	}
	all := len(targets) + len(bad)
	log.Info("alert action complete", "targets", all, "updated", updated, "failed", failed,
		"duration_ms", time.Since(start).Milliseconds())
	if failed > 0 {
		return &RunError{Action: name, Failed: failed, Targets: all}
	}
	return nil
}

func (c Config) noun() string {
	if c.Action == UpdateAlert {
		return "alert"
	}
	return "incident"
}

// collectTargets returns the ids to update, each once, with the result rows naming it, and the
// rows that name none.
func collectTargets(cfg Config, p *Payload) ([]target, []int, error) {
	if len(cfg.IDs) > 0 {
		var ts []target
		for _, id := range cfg.IDs {
			if !slices.ContainsFunc(ts, func(t target) bool { return t.id == id }) {
				ts = append(ts, target{id: id})
			}
		}
		return ts, nil, nil
	}
	var ts []target
	var bad []int
	index := map[string]int{}
	add := func(i int, r Row) error {
		ids := r.Get(cfg.idFields()...)
		if len(ids) == 0 {
			bad = append(bad, i)
			return nil
		}
		for _, id := range ids {
			if j, ok := index[id]; ok {
				ts[j].rows = append(ts[j].rows, i)
				continue
			}
			index[id] = len(ts)
			ts = append(ts, target{id: id, rows: []int{i}})
		}
		return nil
	}
	if p.ResultsFile != "" {
		if _, err := ReadResults(p.ResultsFile, add); err != nil {
			return nil, nil, err
		}
	}
	if len(ts) == 0 && len(bad) == 0 && len(p.Result) > 0 {
		// no results file (an ad hoc run): the payload's single result
		_ = add(1, p.Result)
	}
	if len(ts) == 0 && len(bad) > 0 {
		return nil, nil, &ParamError{Action: cfg.Action, Param: map[bool]string{true: "alert_id", false: "incident_id"}[cfg.Action == UpdateAlert],
			Msg: fmt.Sprintf("none of the %d results has a field %s: set the parameter or return that field from the search", len(bad), strings.Join(cfg.idFields(), " or "))}
	}
	if len(ts) == 0 && len(bad) == 0 {
		return nil, nil, &ParamError{Action: cfg.Action, Param: map[bool]string{true: "alert_id", false: "incident_id"}[cfg.Action == UpdateAlert],
			Msg: "the search returned no results and no id was given"}
	}
	return ts, bad, nil
}

// updateOne applies the configuration to one incident or alert.
func updateOne(ctx context.Context, c *defender.Client, cfg Config, id string, log *slog.Logger) error {
	if err := defender.CheckID(id); err != nil {
		return err
	}
	var fields []string
	var last string
	if cfg.Action == UpdateAlert {
		u := defender.AlertUpdate{Status: cfg.Status, AssignedTo: cfg.AssignedTo, Classification: cfg.Classification, Determination: cfg.Determination}
		if fields = u.Fields(); len(fields) > 0 {
			got, err := c.UpdateAlert(ctx, id, u)
			if err != nil {
				return err
			}
			last = got.LastUpdateDateTime
		}
	} else {
		u := defender.IncidentUpdate{Status: cfg.Status, AssignedTo: cfg.AssignedTo, Classification: cfg.Classification,
			Determination: cfg.Determination, CustomTags: cfg.CustomTags}
		if u.CustomTags != nil && cfg.TagsMode == "add" {
			cur, err := c.GetIncident(ctx, id)
			if err != nil {
				return fmt.Errorf("reading the incident's tags: %w", err)
			}
			merged := mergeTags(cur.CustomTags, u.CustomTags)
			if len(merged) == len(cur.CustomTags) {
				u.CustomTags = nil // every tag is there already
			} else {
				u.CustomTags = merged
			}
		}
		if fields = u.Fields(); len(fields) > 0 {
			got, err := c.UpdateIncident(ctx, id, u)
			if err != nil {
				return err
			}
			last = got.LastUpdateDateTime
		}
	}
	if cfg.Comment != "" {
		var err error
		if cfg.Action == UpdateAlert {
			err = c.CommentAlert(ctx, id, cfg.Comment)
		} else {
			err = c.CommentIncident(ctx, id, cfg.Comment)
		}
		if err != nil {
			if len(fields) > 0 {
				return fmt.Errorf("%s updated, but adding the comment failed: %w", strings.Join(fields, ","), err)
			}
			return fmt.Errorf("adding the comment: %w", err)
		}
	}
	attrs := []any{"outcome", "updated", "fields", strings.Join(fields, ","), "comment", cfg.Comment != ""}
	if last != "" {
		attrs = append(attrs, "last_update", last)
	}
	log.Info(cfg.noun()+" updated", attrs...)
	return nil
}

// mergeTags returns have followed by the tags of add it lacks (case-insensitively).
func mergeTags(have, add []string) []string {
	out := append([]string{}, have...)
	for _, t := range add {
		if !slices.ContainsFunc(out, func(h string) bool { return strings.EqualFold(h, t) }) {
			out = append(out, t)
		}
	}
	return out
}

// connect reads the credentials of the configured input from splunkd and builds the Graph client.
func connect(ctx context.Context, cfg Config, p *Payload, deps Deps, log *slog.Logger) (*defender.Client, error) {
	if p.ServerURI == "" || p.SessionKey == "" {
		return nil, &ParamError{Action: cfg.Action, Param: "input", Msg: "the payload has no server_uri or session_key, so the input's credentials cannot be read"}
	}
	hc := deps.SplunkdClient
	if hc == nil {
		hc = splunkd.LoopbackTLSClient()
	}
	sd := splunkd.New(p.ServerURI, p.SessionKey, hc)
	apps := []string{deps.App}
	if deps.App == "" {
		apps[0] = DefaultApp
	}
	if p.App != "" && p.App != apps[0] {
		apps = append(apps, p.App)
	}
	var params map[string]string
	var app string
	var err error
	for _, app = range apps {
		params, err = sd.GetInput(ctx, app, cfg.Scheme, cfg.Input)
		if !errors.Is(err, splunkd.ErrNotFound) {
			break
		}
	}
	if errors.Is(err, splunkd.ErrNotFound) {
		return nil, &ParamError{Action: cfg.Action, Param: "input", Msg: fmt.Sprintf("input %s not found in app %s", cfg.Stanza(), strings.Join(apps, " or "))}
	}
	if err != nil {
		return nil, fmt.Errorf("reading input %s: %w", cfg.Stanza(), err)
	}
	if a := params["eai:appName"]; a != "" {
		app = a
	}
	need := func(k string) (string, error) {
		v := strings.TrimSpace(params[k])
		if v == "" {
			return "", &ParamError{Action: cfg.Action, Param: "input", Msg: fmt.Sprintf("input %s has no %s", cfg.Stanza(), k)}
		}
		return v, nil
	}
	tenant, err := need("tenant_id")
	if err != nil {
		return nil, err
	}
	clientID, err := need("client_id")
	if err != nil {
		return nil, err
	}
	opts := defender.ConnectOptions{
		Service: defender.Graph, Environment: params["environment"], TenantID: tenant, ClientID: clientID,
		LoginURL: strings.TrimSpace(params["login_url"]), HTTPClient: deps.HTTPClient, Logger: log, Clock: deps.Clock,
	}
	// api_url points at the legacy API when the input reads it; updates always go to Graph.
	if api := strings.ToLower(strings.TrimSpace(params["api"])); api == "" || api == "graph" {
		opts.APIURL = strings.TrimSpace(params["api_url"])
	}
	if certFile := strings.TrimSpace(params["client_certificate"]); certFile != "" {
		cert, err := defender.LoadCertificate(certFile)
		if err != nil {
			return nil, fmt.Errorf("input %s: client_certificate: %w", cfg.Stanza(), err)
		}
		opts.Certificate = cert
	} else {
		secret := params["client_secret"]
		if secret == "" || secret == splunkd.Mask {
			secret, err = sd.GetPassword(ctx, app, splunkd.Realm(cfg.Scheme, cfg.Input), "client_secret")
			if errors.Is(err, splunkd.ErrNotFound) {
				return nil, &ParamError{Action: cfg.Action, Param: "input", Msg: fmt.Sprintf("input %s has no client secret in storage/passwords (has it run once since its secret was set?)", cfg.Stanza())}
			}
			if err != nil {
				return nil, fmt.Errorf("reading the client secret of input %s: %w", cfg.Stanza(), err)
			}
		}
		deps.Secrets.Add(secret)
		opts.ClientSecret = secret
	}
	if opts.HTTPClient == nil {
		hc, err := defender.NewHTTPClient(defender.HTTPOptions{ProxyURL: params["proxy_url"], CAFile: params["ca_file"]})
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", cfg.Stanza(), err)
		}
		opts.HTTPClient = hc
	}
	c, _, err := defender.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", cfg.Stanza(), err)
	}
	return c, nil
}

// errorKind names the logging contract's error_kind of err.
func errorKind(err error) string {
	var k interface{ ErrorKind() string }
	if errors.As(err, &k) {
		return k.ErrorKind()
	}
	if errors.Is(err, ErrUnknownAction) {
		return string(defender.KindConfig)
	}
	if errors.Is(err, splunkd.ErrUnreachable) {
		return string(defender.KindNetwork)
	}
	var re *ResultsError
	if errors.As(err, &re) {
		return string(defender.KindInternal)
	}
	if errors.Is(err, splunkd.ErrUnauthorized) || errors.Is(err, splunkd.ErrForbidden) {
		return string(defender.KindPermission)
	}
	return string(defender.KindOf(err))
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}
