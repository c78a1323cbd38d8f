package inputs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// fakeKind is a Kind whose Run does what the test says.
func fakeKind(name string, run func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error) inputs.Kind {
	return inputs.Kind{Name: name, Scheme: modinput.Scheme{Title: name}, Polling: true, Run: run,
		Validate: func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
			if st.Param("ok") != "yes" {
				return st.Errorf("ok", "expected yes")
			}
			return nil
		}}
}

func write(rt *inputs.Runtime, st modinput.Stanza, data string) error {
	e := inputs.Event(st, "test:st", "src")
	e.Data = []byte(data)
	if err := rt.Events.Write(&e); err != nil {
		return err
	}
	return rt.Events.Flush()
}

func TestEngineIsolatesStanzas(t *testing.T) {
	var stdout, stderr bytes.Buffer
	eng := &inputs.Engine{
		Kinds: []inputs.Kind{
			fakeKind("good", func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
				if rt.Checkpoints == nil {
					return errors.New("no checkpoint store")
				}
				if err := rt.Checkpoints.Save("k", map[string]int{"n": 1}); err != nil {
					return err
				}
				rt.Logger.Debug("debug line")
				return write(rt, st, "from "+st.Name)
			}),
			fakeKind("panicky", func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
				var m map[string]int
				m["boom"]++ // nil map write panics
				return nil
			}),
			fakeKind("failing", func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
				return st.Errorf("tenant_id", "is wrong")
			}),
		},
		Events:  modinput.NewEventWriter(&stdout),
		Log:     modinput.LockedWriter(&stderr),
		Secrets: &modinput.Secrets{},
	}
	def := &modinput.InputDefinition{CheckpointDir: t.TempDir(), Stanzas: []modinput.Stanza{
		{Name: "good://a", Params: map[string]string{"index": "main", "log_level": "debug"}},
		{Name: "panicky://b", Params: map[string]string{}},
		{Name: "good://c", Params: map[string]string{"log_level": "loud"}},
		{Name: "failing://d", Params: map[string]string{}},
		{Name: "unknown://e", Params: map[string]string{}},
	}}
	err := eng.Stream(context.Background(), def)
	if !errors.Is(err, inputs.ErrStanzasFailed) {
		t.Fatalf("Stream err = %v", err)
	}
	for _, name := range []string{"panicky://b", "failing://d", "unknown://e"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	out := stdout.String()
	if !strings.Contains(out, "from good://a") || !strings.Contains(out, "from good://c") || !strings.HasSuffix(out, "</stream>") {
		t.Errorf("good stanzas' events missing or stream not closed:\n%s", out)
	}
	logs := stderr.String()
	for _, want := range []string{
		`ERROR msg="input panicked" stanza=panicky://b input=panicky error_kind=internal error="assignment to entry in nil map"`,
		`ERROR msg="input failed" stanza=failing://d input=failing error_kind=config error="stanza \"failing://d\": parameter \"tenant_id\": is wrong"`,
		`ERROR msg="unknown input scheme" stanza=unknown://e input=unknown error_kind=config`,
		`WARN msg="bad log_level, using INFO" stanza=good://c`,
		`DEBUG msg="debug line" stanza=good://a input=good`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s\n%s", want, logs)
		}
	}
	if strings.Contains(logs, `DEBUG msg="debug line" stanza=good://c`) {
		t.Error("log_level not applied per stanza")
	}
}

func TestEngineValidate(t *testing.T) {
	eng := &inputs.Engine{Kinds: []inputs.Kind{fakeKind("v", nil)}, Events: modinput.NewEventWriter(io.Discard), Log: io.Discard, Secrets: &modinput.Secrets{}}
	def := &modinput.ValidationDefinition{Item: modinput.Stanza{Name: "x", Params: map[string]string{"ok": "no"}}}
	err := eng.Validate(context.Background(), "v", def)
	if err == nil || err.Error() != `stanza "v://x": parameter "ok": expected yes` {
		t.Fatalf("err = %v", err)
	}
	if err := eng.Validate(context.Background(), "nope", def); err == nil {
		t.Fatal("unknown scheme accepted")
	}
}

// fakeSplunkd answers storage/passwords and data/inputs as splunkd does.
type fakeSplunkd struct {
	mu        sync.Mutex
	passwords map[string]string
	masked    url.Values
	calls     []string
}

func (f *fakeSplunkd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Splunk sess-key-123" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/storage/passwords"):
		name := r.PostForm.Get("realm") + ":" + r.PostForm.Get("name") + ":"
		if _, ok := f.passwords[name]; ok {
			w.WriteHeader(http.StatusConflict)
			return
		}
		f.passwords[name] = r.PostForm.Get("password")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"entry":[{"name":"x","content":{}}]}`))
	case strings.Contains(r.URL.Path, "/storage/passwords/"):
		name, _ := url.PathUnescape(r.URL.EscapedPath()[strings.LastIndex(r.URL.EscapedPath(), "/")+1:])
		name = strings.ReplaceAll(name, `\:`, ":")
		pw, ok := f.passwords[name]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"messages":[{"type":"ERROR","text":"Could not find object"}]}`))
			return
		}
		if r.Method == http.MethodPost {
			f.passwords[name] = r.PostForm.Get("password")
		}
		b, _ := json.Marshal(map[string]any{"entry": []any{map[string]any{"name": name, "content": map[string]string{"clear_password": pw, "password": "********"}}}})
		_, _ = w.Write(b)
	case strings.Contains(r.URL.Path, "/data/inputs/"):
		f.masked = r.PostForm
		_, _ = w.Write([]byte(`{"entry":[{"name":"x","content":{}}]}`))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func TestRuntimeSecretMovesIntoStoragePasswords(t *testing.T) {
	fake := &fakeSplunkd{passwords: map[string]string{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var stderr bytes.Buffer
	const secret = "Zx8Q~clear.secret-value"
	var got []string
	kind := fakeKind("m365_defender_incidents", func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
		v, err := rt.Secret(ctx, st, "client_secret")
		if err != nil {
			return err
		}
		got = append(got, v)
		rt.Logger.Info("resolved", "value", v)
		return nil
	})
	eng := &inputs.Engine{Kinds: []inputs.Kind{kind}, Events: modinput.NewEventWriter(io.Discard), Log: &stderr, Secrets: &modinput.Secrets{}, SplunkdHTTP: srv.Client()}
	run := func(value string) error {
		return eng.Stream(context.Background(), &modinput.InputDefinition{ServerURI: srv.URL, SessionKey: "sess-key-123", CheckpointDir: t.TempDir(),
			Stanzas: []modinput.Stanza{{Name: "m365_defender_incidents://prod", App: "TA-m365-defender", Params: map[string]string{"client_secret": value}}}})
	}
	if err := run(secret); err != nil {
		t.Fatal(err)
	}
	if fake.passwords["m365_defender_incidents://prod:client_secret:"] != secret {
		t.Fatalf("secret not stored: %v", fake.passwords)
	}
	if fake.masked.Get("client_secret") != modinput.Mask {
		t.Fatalf("input not masked: %v", fake.masked)
	}
	// The next launch sees the mask and reads the secret back.
	if err := run(modinput.Mask); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != secret || got[1] != secret {
		t.Fatalf("resolved %q", got)
	}
	if strings.Contains(stderr.String(), secret) || strings.Contains(stderr.String(), "sess-key-123") {
		t.Errorf("secret or session key logged:\n%s", stderr.String())
	}
}

func TestRuntimeSecretWithoutSplunkd(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	uri := srv.URL
	srv.Close() // nothing listens there now
	var stderr bytes.Buffer
	var got string
	kind := fakeKind("k", func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
		var err error
		got, err = rt.Secret(ctx, st, "client_secret")
		return err
	})
	eng := &inputs.Engine{Kinds: []inputs.Kind{kind}, Events: modinput.NewEventWriter(io.Discard), Log: &stderr, Secrets: &modinput.Secrets{}}
	err := eng.Stream(context.Background(), &modinput.InputDefinition{ServerURI: uri, SessionKey: "s", CheckpointDir: t.TempDir(),
		Stanzas: []modinput.Stanza{{Name: "k://x", Params: map[string]string{"client_secret": "clear-value-1"}}}})
	if err != nil || got != "clear-value-1" {
		t.Fatalf("got %q, %v", got, err)
	}
	if n := strings.Count(stderr.String(), "WARN msg=\"secret parameter is not yet encrypted"); n != 1 {
		t.Errorf("want one WARN, got %d:\n%s", n, stderr.String())
	}
	if strings.Contains(stderr.String(), "clear-value-1") {
		t.Error("secret logged")
	}
}

// TestValidateNeverStoresSecrets: --validate-arguments runs before splunkd
// has the input, so a clear secret is used as it is, and a masked one (an
// edit) is read back.
func TestValidateNeverStoresSecrets(t *testing.T) {
	fake := &fakeSplunkd{passwords: map[string]string{"m365_defender_incidents://prod:client_secret:": "stored-secret-1"}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var got []string
	kind := fakeKind("m365_defender_incidents", nil)
	kind.Validate = func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
		v, err := rt.Secret(ctx, st, "client_secret")
		got = append(got, v)
		return err
	}
	eng := &inputs.Engine{Kinds: []inputs.Kind{kind}, Events: modinput.NewEventWriter(io.Discard), Log: io.Discard, Secrets: &modinput.Secrets{}, SplunkdHTTP: srv.Client()}
	for _, value := range []string{"clear-new-secret", modinput.Mask} {
		def := &modinput.ValidationDefinition{ServerURI: srv.URL, SessionKey: "sess-key-123",
			Item: modinput.Stanza{Name: "prod", App: "TA-m365-defender", Params: map[string]string{"client_secret": value}}}
		if err := eng.Validate(context.Background(), "m365_defender_incidents", def); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0] != "clear-new-secret" || got[1] != "stored-secret-1" {
		t.Fatalf("resolved %q", got)
	}
	for _, c := range fake.calls {
		if strings.HasPrefix(c, "POST") {
			t.Errorf("validation wrote to splunkd: %s", c)
		}
	}
}

// TestEngineHoldsFailedLongRunningInputs: a long-running input that fails
// keeps the process up for FailureHold, so splunkd (which restarts interval-0
// inputs at once) does not loop; a polling input exits at once.
func TestEngineHoldsFailedLongRunningInputs(t *testing.T) {
	fail := func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error { return st.Errorf("x", "bad") }
	for _, polling := range []bool{false, true} {
		kind := fakeKind("k", fail)
		kind.Polling = polling
		var stderr bytes.Buffer
		eng := &inputs.Engine{Kinds: []inputs.Kind{kind}, Events: modinput.NewEventWriter(io.Discard), Log: &stderr, Secrets: &modinput.Secrets{}, FailureHold: 300 * time.Millisecond}
		start := time.Now()
		_ = eng.Stream(context.Background(), &modinput.InputDefinition{Stanzas: []modinput.Stanza{{Name: "k://a", Params: map[string]string{}}}})
		held := time.Since(start) >= 300*time.Millisecond
		if held == polling {
			t.Errorf("polling=%v: held=%v (%v)\n%s", polling, held, time.Since(start), stderr.String())
		}
	}
	// A stop signal ends the hold.
	kind := fakeKind("k", fail)
	kind.Polling = false
	eng := &inputs.Engine{Kinds: []inputs.Kind{kind}, Events: modinput.NewEventWriter(io.Discard), Log: io.Discard, Secrets: &modinput.Secrets{}}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = eng.Stream(ctx, &modinput.InputDefinition{Stanzas: []modinput.Stanza{{Name: "k://a", Params: map[string]string{}}}})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the hold ignored the context: %v", d)
	}
}
