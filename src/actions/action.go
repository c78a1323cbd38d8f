package actions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
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
	// SplunkHome is where the ES adaptive response events are spooled
	// (<SplunkHome>/var/spool/splunk; empty: $SPLUNK_HOME).
	SplunkHome string
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
	rows []rowRef
	cfg  Config // the values for this target: the parameters with its results' m365_* fields
	err  error  // a per-result value error (*RowError): the target fails without a call
}

// Execute runs the alert action name with the payload read from stdin: it validates the
// configuration, resolves the credentials, and updates every target, logging each outcome.
// It returns nil when every target was updated, a *RunError when some failed, and another
// error when the action could not run at all (bad payload or configuration, no credentials).
// Every outcome is also written as an Enterprise Security adaptive response event (see cam.go);
// when that is not possible, one WARN line says why and the result is unchanged.
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
	var cam *camRun
	if slices.Contains(Names(), name) {
		cam = newCAM(name, p, deps.Secrets)
		defer writeCAM(cam, deps, log)
	}
	cfg, err := NewConfig(name, p.Configuration)
	// No parameter asks for a change: the results may still carry their own values.
	nothing := errors.Is(err, ErrNothingToDo) && len(cfg.IDs) == 0
	if err != nil && !nothing {
		cam.runFailed(p, err)
		return err
	}
	cfgErr := err
	log = log.With("credentials", cfg.Stanza())
	if p.SID != "" {
		log = log.With("sid", p.SID)
	}

	// Targets first: a results file that cannot be read fails before anything is changed.
	targets, bad, overrides, err := collectTargets(cfg, p, cam)
	if err != nil {
		cam.runFailed(p, err)
		return err
	}
	if nothing && !overrides {
		cam.runFailed(p, cfgErr)
		return cfgErr
	}
	for _, b := range bad {
		cam.add("", []rowRef{b}, fmt.Sprintf("Result %d has no %s field", b.n, strings.Join(cfg.idFields(), " or ")), errNoID)
	}
	client, err := connect(ctx, cfg, p, deps, log)
	if err != nil {
		for _, t := range targets {
			cam.add(t.id, t.rows, fmt.Sprintf("Failed to update %s %s: %v", cfg.noun(), t.id, err), err)
		}
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
		log.Error(cfg.noun()+" update failed", "target", cfg.noun(), "result", b.n, "outcome", "failed", "error_kind", "config",
			"error", fmt.Sprintf("result %d has no %s field", b.n, strings.Join(cfg.idFields(), " or ")))
	}
	for i, t := range targets {
		if err := ctx.Err(); err != nil {
			for _, rest := range targets[i:] {
				cam.add(rest.id, rest.rows, fmt.Sprintf("Not tried: the action was stopped (%v)", err), err)
			}
			return err
		}
		tl := log.With("target", cfg.noun(), "id", t.id)
		if len(t.rows) > 0 && len(cfg.IDs) == 0 {
			tl = tl.With("results", joinRows(t.rows))
		}
		err := t.err
		var sig string
		if err == nil {
			sig, err = updateOne(ctx, client, t.cfg, t.id, tl)
		}
		if err == nil {
			updated++
			cam.add(t.id, t.rows, sig, nil)
			continue
		}
		failed++
		kind := errorKind(err)
		tl.Error(cfg.noun()+" update failed", "outcome", "failed", "error", err.Error(), "error_kind", kind)
		cam.add(t.id, t.rows, fmt.Sprintf("Failed to update %s %s: %v", cfg.noun(), t.id, err), err)
		if rest := len(targets) - i - 1; rest > 0 && (kind == string(defender.KindAuth) || kind == string(defender.KindPermission)) {
			// The app's credentials or permissions are wrong: every other call would fail the same way.
			failed += rest
			log.Error("alert action stopped", "outcome", "skipped", "error_kind", kind, "skipped", rest,
				"error", fmt.Sprintf("not trying the other %d targets: the %s failure applies to every call", rest, kind))
			for _, s := range targets[i+1:] {
				cam.add(s.id, s.rows, fmt.Sprintf("Not tried: the %s failure on %s %s applies to every call: %v", kind, cfg.noun(), t.id, err), err)
			}
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

// errNoID marks the ES outcome of a result without a target id as a failure.
var errNoID = errors.New("actions: result without an id")

// runFailed records, for ES, that the action could not run for the payload's result.
func (c *camRun) runFailed(p *Payload, err error) {
	if c == nil {
		return
	}
	var rows []rowRef
	if len(p.Result) > 0 {
		rows = []rowRef{c.ref(1, p.Result)}
	}
	c.add("", rows, fmt.Sprintf("Alert action could not run: %v", err), err)
}

// writeCAM writes the run's ES adaptive response events; a failure is one WARN line.
func writeCAM(c *camRun, deps Deps, log *slog.Logger) {
	home := deps.SplunkHome
	if home == "" {
		home = os.Getenv("SPLUNK_HOME")
	}
	path, err := c.write(home)
	if err != nil {
		log.Warn("adaptive response events not written", "error", err.Error(), "error_kind", "output",
			"events", len(c.events), "splunk_home", home)
		return
	}
	if path != "" {
		log.Info("adaptive response events written", "events", len(c.events), "index", camIndex, "file", path)
	}
}

func (c Config) noun() string { return nounOf(c.Action) }

// collectTargets returns the ids to update, each once, with the result rows naming it and the
// values for it, the rows that name none, and whether any row carries an m365_* field.
func collectTargets(cfg Config, p *Payload, cam *camRun) ([]target, []rowRef, bool, error) {
	if len(cfg.IDs) > 0 {
		// The ids come from the parameter; the results are read only to tell ES which of
		// them the outcome belongs to.
		var refs []rowRef
		if p.ResultsFile != "" {
			_, err := ReadResults(p.ResultsFile, func(i int, r Row) error {
				refs = append(refs, cam.ref(i, r))
				return nil
			})
			if err != nil {
				refs = nil
			}
		}
		if len(refs) == 0 && len(p.Result) > 0 {
			refs = []rowRef{cam.ref(1, p.Result)}
		}
		var ts []target
		for _, id := range cfg.IDs {
			if !slices.ContainsFunc(ts, func(t target) bool { return t.id == id }) {
				ts = append(ts, target{id: id, rows: refs, cfg: cfg})
			}
		}
		return ts, nil, false, nil
	}
	var ts []target
	var bad []rowRef
	overrides := false
	index := map[string]int{}
	add := func(i int, r Row) error {
		ref := cam.ref(i, r)
		ids := r.Get(cfg.idFields()...)
		if len(ids) == 0 {
			bad = append(bad, ref)
			return nil
		}
		for _, pf := range RowFields() {
			if len(r.Get(pf[1])) > 0 {
				overrides = true
			}
		}
		rc, rerr := cfg.ForRow(i, r)
		for _, id := range ids {
			j, ok := index[id]
			if !ok {
				index[id] = len(ts)
				ts = append(ts, target{id: id, rows: []rowRef{ref}, cfg: rc, err: withID(rerr, id)})
				continue
			}
			t := &ts[j]
			t.rows = append(t.rows, ref)
			if t.err != nil {
				continue
			}
			if rerr != nil {
				t.err = withID(rerr, id)
			} else if d := diffValues(t.cfg, rc); d != "" {
				t.err = &RowError{Action: cfg.Action, Row: i, ID: id, Msg: fmt.Sprintf("%s as result %d asks: the results naming one %s must agree",
					d, t.rows[0].n, cfg.noun())}
			}
		}
		return nil
	}
	if p.ResultsFile != "" {
		if _, err := ReadResults(p.ResultsFile, add); err != nil {
			return nil, nil, false, err
		}
	}
	if len(ts) == 0 && len(bad) == 0 && len(p.Result) > 0 {
		// no results file (an ad hoc run): the payload's single result
		_ = add(1, p.Result)
	}
	idParam := map[bool]string{true: "alert_id", false: "incident_id"}[cfg.Action == UpdateAlert]
	if len(ts) == 0 && len(bad) > 0 {
		return nil, nil, false, &ParamError{Action: cfg.Action, Param: idParam,
			Msg: fmt.Sprintf("none of the %d results has a field %s: set the parameter or return that field from the search", len(bad), strings.Join(cfg.idFields(), " or "))}
	}
	if len(ts) == 0 && len(bad) == 0 {
		return nil, nil, false, &ParamError{Action: cfg.Action, Param: idParam, Msg: "the search returned no results and no id was given"}
	}
	return ts, bad, overrides, nil
}

// withID returns err with the target id set when it is a *RowError.
func withID(err error, id string) error {
	var re *RowError
	if !errors.As(err, &re) {
		return err
	}
	c := *re
	c.ID = id
	return &c
}

// updateOne applies the configuration to one incident or alert and returns what it did, in
// words, for the ES outcome.
func updateOne(ctx context.Context, c *defender.Client, cfg Config, id string, log *slog.Logger) (string, error) {
	if err := defender.CheckID(id); err != nil {
		return "", err
	}
	var fields []string
	var last string
	if cfg.Action == UpdateAlert {
		u := defender.AlertUpdate{Status: cfg.Status, AssignedTo: cfg.AssignedTo, Classification: cfg.Classification, Determination: cfg.Determination}
		if fields = u.Fields(); len(fields) > 0 {
			got, err := c.UpdateAlert(ctx, id, u)
			if err != nil {
				return "", err
			}
			last = got.LastUpdateDateTime
		}
	} else {
		u := defender.IncidentUpdate{Status: cfg.Status, AssignedTo: cfg.AssignedTo, Classification: cfg.Classification,
			Determination: cfg.Determination, CustomTags: cfg.CustomTags}
		if u.CustomTags != nil && cfg.TagsMode == "add" {
			cur, err := c.GetIncident(ctx, id)
			if err != nil {
				return "", fmt.Errorf("reading the incident's tags: %w", err)
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
				return "", err
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
				return "", fmt.Errorf("%s updated, but adding the comment failed: %w", strings.Join(fields, ","), err)
			}
			return "", fmt.Errorf("adding the comment: %w", err)
		}
	}
	attrs := []any{"outcome", "updated", "fields", strings.Join(fields, ","), "comment", cfg.Comment != ""}
	if last != "" {
		attrs = append(attrs, "last_update", last)
	}
	log.Info(cfg.noun()+" updated", attrs...)
	sig := fmt.Sprintf("Updated %s %s", cfg.noun(), id)
	switch {
	case len(fields) > 0 && cfg.Comment != "":
		sig += fmt.Sprintf(" (%s) and added a comment", strings.Join(fields, ", "))
	case len(fields) > 0:
		sig += fmt.Sprintf(" (%s)", strings.Join(fields, ", "))
	case cfg.Comment != "":
		sig = fmt.Sprintf("Added a comment to %s %s", cfg.noun(), id)
	default:
		sig = fmt.Sprintf("%s %s already as requested", strings.ToUpper(cfg.noun()[:1])+cfg.noun()[1:], id)
	}
	return sig, nil
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

func joinRows(v []rowRef) string {
	s := make([]string, len(v))
	for i, r := range v {
		s[i] = fmt.Sprint(r.n)
	}
	return strings.Join(s, ",")
}
