package inputs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/splunkd"
)

// Engine runs the stanzas of one configuration document with the Kinds it is
// given. It holds no state between calls besides its dependencies.
type Engine struct {
	Kinds   []Kind
	Events  *modinput.EventWriter
	Log     io.Writer // stderr; shared by every stanza's logger, so give a LockedWriter
	Secrets *modinput.Secrets
	Now     func() time.Time // nil means time.Now
	// FailureHold is how long a long-running (non-polling) input that
	// failed stays up before the process exits: splunkd restarts an
	// interval-0 input the moment it exits, so without it a bad
	// configuration would restart in a tight loop. Zero means one minute;
	// negative means no hold.
	FailureHold time.Duration
	// SplunkdHTTP is the client for splunkd's REST API; nil means
	// splunkd.LoopbackTLSClient (splunkd's default certificate is
	// self-signed, and the engine only ever talks to the server_uri
	// splunkd itself handed over).
	SplunkdHTTP *http.Client
}

// Kind returns the Kind called name.
func (e *Engine) Kind(name string) (Kind, bool) {
	for _, k := range e.Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// ErrStanzasFailed is wrapped by Stream when one or more stanzas failed.
var ErrStanzasFailed = errors.New("inputs: stanzas failed")

// Stream runs every stanza of def concurrently, each isolated: a stanza that
// fails or panics is logged and does not stop the others. It returns when
// every stanza has returned, after closing the event stream.
func (e *Engine) Stream(ctx context.Context, def *modinput.InputDefinition) error {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed []string
		errs   []error
	)
	for _, st := range def.Stanzas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.runStanza(ctx, def, st); err != nil {
				mu.Lock()
				failed = append(failed, st.Name)
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	closeErr := e.Events.Close()
	if len(failed) > 0 {
		return fmt.Errorf("%w: %q: %w", ErrStanzasFailed, failed, errors.Join(errs...))
	}
	if closeErr != nil {
		return closeErr
	}
	return nil
}

// runStanza runs one stanza, turning a panic into an error so that one
// misbehaving stanza cannot end the process.
func (e *Engine) runStanza(ctx context.Context, def *modinput.InputDefinition, st modinput.Stanza) (err error) {
	log := e.logger(st)
	kind, ok := e.Kind(st.Scheme())
	if !ok {
		log.Error("unknown input scheme", "error_kind", "config", "error", fmt.Sprintf("no input is called %q", st.Scheme()))
		return fmt.Errorf("inputs: unknown scheme %q", st.Scheme())
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("inputs: stanza %q panicked: %v", st.Name, r)
			log.Error("input panicked", "error_kind", "internal", "error", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	rt, err := e.runtime(def.ServerHost, def.ServerURI, def.SessionKey, def.CheckpointDir, st, log)
	if err != nil {
		log.Error("cannot start input", "error_kind", "checkpoint", "error", err)
		return err
	}
	start := e.now()
	log.Debug("input starting", "polling", kind.Polling)
	if err := kind.Run(ctx, rt, st); err != nil {
		if errors.Is(err, modinput.ErrOutputClosed) {
			log.Warn("splunkd stopped reading the event stream; input stopped without moving checkpoints", "error_kind", "output")
			return err
		}
		log.Error("input failed", "error_kind", ErrorKind(err), "error", err, "duration_ms", e.now().Sub(start).Milliseconds())
		if !kind.Polling {
			e.hold(ctx, log)
		}
		return err
	}
	log.Debug("input stopped", "duration_ms", e.now().Sub(start).Milliseconds())
	return nil
}

// hold waits out FailureHold (or until ctx ends) after a long-running input
// failed, so that splunkd's restarts of it are spaced out.
func (e *Engine) hold(ctx context.Context, log *slog.Logger) {
	d := e.FailureHold
	if d == 0 {
		d = time.Minute
	}
	if d < 0 {
		return
	}
	log.Info("waiting before exiting, so that splunkd does not restart the input in a tight loop", "wait_ms", d.Milliseconds())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Validate runs the Kind's live check on the item of def, with the scheme
// taken from the command line (splunkd does not repeat it in <items>).
func (e *Engine) Validate(ctx context.Context, scheme string, def *modinput.ValidationDefinition) error {
	kind, ok := e.Kind(scheme)
	if !ok {
		return fmt.Errorf("no input is called %q", scheme)
	}
	st := def.Item
	st.Name = scheme + "://" + st.Name
	log := e.logger(st)
	dir := def.CheckpointDir
	rt, err := e.runtime(def.ServerHost, def.ServerURI, def.SessionKey, dir, st, log)
	if err != nil {
		return err
	}
	rt.Validating = true
	return kind.Validate(ctx, rt, st)
}

func (e *Engine) runtime(host, uri, key, dir string, st modinput.Stanza, log *slog.Logger) (*Runtime, error) {
	rt := &Runtime{
		ServerHost: host, ServerURI: uri, SessionKey: key, CheckpointDir: dir,
		Events: e.Events, Secrets: e.Secrets, Logger: log, Now: e.now,
	}
	if uri != "" && key != "" {
		e.Secrets.Add(key)
		hc := e.SplunkdHTTP
		if hc == nil {
			hc = splunkd.LoopbackTLSClient()
		}
		rt.Splunkd = splunkd.New(uri, key, hc)
	}
	if dir != "" {
		store, err := checkpoint.NewFileStore(dir, st.Name)
		if err != nil {
			return nil, fmt.Errorf("inputs: stanza %q: checkpoints: %w", st.Name, err)
		}
		rt.Checkpoints = store
	}
	return rt, nil
}

// logger returns the logger of a stanza at its log_level; a bad log_level is
// reported once and INFO is used.
func (e *Engine) logger(st modinput.Stanza) *slog.Logger {
	level, lerr := modinput.ParseLevel(st.Param("log_level"))
	h := modinput.NewLogHandler(e.Log, modinput.LogOptions{Level: level, Secrets: e.Secrets})
	log := slog.New(h).With("stanza", st.Name, "input", st.Scheme())
	if lerr != nil {
		log.Warn("bad log_level, using INFO", "error_kind", "config", "error", st.Errorf("log_level", "%v", lerr))
	}
	return log
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// KindedError lets an input say which error_kind a failure is (auth,
// permission, throttling, network, config, api, checkpoint, output, internal),
// so that the health dashboard can chart failures by kind.
type KindedError interface {
	error
	ErrorKind() string
}

// ErrorKind classifies err for the error_kind log key.
func ErrorKind(err error) string {
	var k KindedError
	var pe *modinput.ParamError
	var ce *checkpoint.CorruptError
	switch {
	case errors.As(err, &k):
		return k.ErrorKind()
	case errors.Is(err, modinput.ErrOutputClosed):
		return "output"
	case errors.As(err, &pe):
		return "config"
	case errors.As(err, &ce):
		return "checkpoint"
	case errors.Is(err, context.DeadlineExceeded):
		return "network"
	}
	return "internal"
}
