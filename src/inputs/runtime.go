package inputs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/splunkd"
)

// Runtime is what one stanza's input runs with. The runner builds one per
// stanza; inputs must not keep it past Run.
type Runtime struct {
	ServerHost    string
	ServerURI     string
	SessionKey    string
	CheckpointDir string

	Events      *modinput.EventWriter
	Checkpoints checkpoint.Store  // namespaced to this stanza
	Splunkd     *splunkd.Client   // nil when splunkd gave no server_uri or session_key
	Secrets     *modinput.Secrets // every secret read is added, so log lines redact it
	Logger      *slog.Logger      // carries stanza= and input=, at the stanza's log_level
	Now         func() time.Time
	HTTPClient  *http.Client // nil means the input builds its own from proxy_url and ca_file

	// Validating is set for --validate-arguments: the input does not exist
	// in splunkd yet (or is being edited), so Secret must not store or mask
	// anything; splunkd writes the configuration after validation succeeds.
	Validating bool
}

// Kind is one input scheme as the command sees it.
type Kind struct {
	Scheme modinput.Scheme
	// Name is the scheme name splunkd launches the binary as.
	Name string
	// Polling inputs do one poll per launch and return; splunkd starts them
	// again every interval. The others run until their context ends.
	Polling bool
	// Validate checks a stanza for --validate-arguments: it parses the
	// configuration and makes a live check (a token, one small call).
	Validate func(ctx context.Context, rt *Runtime, st modinput.Stanza) error
	// Run runs the stanza; it returns nil when ctx ends.
	Run func(ctx context.Context, rt *Runtime, st modinput.Stanza) error
}

// Secret returns the clear value of the secret parameter param of st. A clear
// value is moved into storage/passwords and the input's configuration is
// masked; a masked value is read back from storage/passwords. When splunkd
// cannot be reached, a clear value is used as it is and one WARN says that it
// is not yet encrypted. While validating, a clear value is used as it is. The
// value is added to rt.Secrets in every case. An empty parameter gives "".
func (rt *Runtime) Secret(ctx context.Context, st modinput.Stanza, param string) (string, error) {
	value := st.Param(param)
	if value == "" {
		return "", nil
	}
	if value != splunkd.Mask {
		rt.Secrets.Add(value)
	}
	if rt.Validating && value != splunkd.Mask {
		return value, nil
	}
	if rt.Splunkd == nil {
		if value == splunkd.Mask {
			return "", st.Errorf(param, "is masked, but splunkd cannot be asked for the stored secret (no server_uri or session_key)")
		}
		rt.logger().Warn("secret parameter is not yet encrypted: no splunkd session to store it in storage/passwords", "param", param)
		return value, nil
	}
	app := st.App
	if app == "" {
		app = DefaultApp
	}
	clear, err := rt.Splunkd.ResolveSecret(ctx, splunkd.SecretRef{App: app, Scheme: st.Scheme(), Input: st.InputName(), Param: param}, value)
	rt.Secrets.Add(clear)
	switch {
	case err == nil:
		return clear, nil
	case errors.Is(err, splunkd.ErrUnreachable) && value != splunkd.Mask:
		rt.logger().Warn("secret parameter is not yet encrypted: splunkd cannot be reached", "param", param, "error", err)
		return value, nil
	}
	return "", fmt.Errorf("stanza %q: parameter %q: %w", st.Name, param, err)
}

func (rt *Runtime) logger() *slog.Logger {
	if rt.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return rt.Logger
}

// DefaultApp is the app id, used when splunkd does not name a stanza's app.
const DefaultApp = "TA-m365-defender"

// Event returns a complete (unbroken, done) event for st with the given
// sourcetype and source and with the index and host the stanza sets, so that
// an explicit stanza setting always wins.
func Event(st modinput.Stanza, sourcetype, source string) modinput.Event {
	return modinput.Event{
		Stanza:     st.Name,
		Source:     source,
		Sourcetype: sourcetype,
		Index:      st.Param("index"),
		Host:       st.Param("host"),
		Unbroken:   true,
		Done:       true,
	}
}

// SourcetypeOr returns the stanza's own sourcetype setting, or def. Inputs
// whose sourcetype the user may choose (Event Hub, storage) use it; inputs that
// write several fixed sourcetypes do not.
func SourcetypeOr(st modinput.Stanza, def string) string {
	if v := st.Param("sourcetype"); v != "" {
		return v
	}
	return def
}
