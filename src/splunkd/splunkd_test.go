package splunkd

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	testApp = "TA-m365-defender"
	testKey = "sess-KEY-9f8e7d6c5b4a"
)

func TestPasswordName(t *testing.T) {
	tests := []struct {
		name, realm, user, want string
	}{
		{"Plain", "realm", "user", "realm:user:"},
		{"NoRealm", "", "user", ":user:"},
		{"SDKColons", ":startR", "U:end", `\:startR:U\:end:`}, // splunk-sdk-python test_create_with_colons
		{"Backslash", `dom\ain`, `us\er`, `dom\\ain:us\\er:`},
		{"BackslashColon", `a\:b`, `c`, `a\\\:b:c:`},
		{"Stanza", "m365_defender_incidents://prod", "client_secret", `m365_defender_incidents\://prod:client_secret:`},
		{"Unicode", "réalm ü", "ユーザー", "réalm ü:ユーザー:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PasswordName(tt.realm, tt.user)
			if got != tt.want {
				t.Errorf("PasswordName(%q, %q) = %q, want %q", tt.realm, tt.user, got, tt.want)
			}
			if r, u, ok := fakeParseName(got); !ok || r != tt.realm || u != tt.user {
				t.Errorf("the fake reads %q back as %q, %q, %v", got, r, u, ok)
			}
		})
	}
}

func TestPasswordsPath(t *testing.T) {
	tests := []struct {
		realm, user, want string
	}{
		{"splunk.com", "foobar", "/servicesNS/nobody/TA-m365-defender/storage/passwords/splunk.com%3Afoobar%3A"}, // as in the Atom fixture's links
		{"", "foobar", "/servicesNS/nobody/TA-m365-defender/storage/passwords/%3Afoobar%3A"},
		{":start", "end:", "/servicesNS/nobody/TA-m365-defender/storage/passwords/%5C%3Astart%3Aend%5C%3A%3A"},
		{"a/b c?d#e%f", "u&v=w+x", "/servicesNS/nobody/TA-m365-defender/storage/passwords/a%2Fb%20c%3Fd%23e%25f%3Au%26v%3Dw%2Bx%3A"},
	}
	for _, tt := range tests {
		got, err := passwordsPath(testApp, tt.realm, tt.user, true)
		if err != nil || got != tt.want {
			t.Errorf("passwordsPath(%q, %q) = %q, %v; want %q", tt.realm, tt.user, got, err, tt.want)
		}
	}
	if got := pathEscape(".."); got != "%2E%2E" {
		t.Errorf(`pathEscape("..") = %q`, got)
	}
}

func TestSetGetPassword(t *testing.T) {
	pairs := []struct{ name, realm, user string }{
		{"Plain", "realm", "user"},
		{"NoRealm", "", "user"},
		{"SDKColons", ":start" + "realm1", "user1" + ":end"},
		{"Backslashes", `C:\dir\`, `\\server`},
		{"Stanza", "m365_defender_incidents://prod west", "client_secret"},
		{"PathChars", "a/b?c#d%e f", ".."},
		{"Unicode", "réalm", "ユーザー"},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			f := newFake(t, testApp, testKey)
			c := f.client()
			ctx := context.Background()
			if err := c.SetPassword(ctx, testApp, p.realm, p.user, "first s3cret"); err != nil {
				t.Fatalf("SetPassword (create): %v", err)
			}
			if got, ok := f.password(p.realm, p.user); !ok || got != "first s3cret" {
				t.Fatalf("fake holds %q, %v", got, ok)
			}
			got, err := c.GetPassword(ctx, testApp, p.realm, p.user)
			if err != nil || got != "first s3cret" {
				t.Fatalf("GetPassword = %q, %v", got, err)
			}
			if err := c.SetPassword(ctx, testApp, p.realm, p.user, "second s3cret"); err != nil {
				t.Fatalf("SetPassword (update): %v", err)
			}
			if got, err := c.GetPassword(ctx, testApp, p.realm, p.user); err != nil || got != "second s3cret" {
				t.Fatalf("GetPassword after update = %q, %v", got, err)
			}
			entity, _ := passwordsPath(testApp, p.realm, p.user, true)
			want := []string{
				"POST /servicesNS/nobody/TA-m365-defender/storage/passwords", // 201
				"GET " + entity,
				"POST /servicesNS/nobody/TA-m365-defender/storage/passwords", // 409
				"POST " + entity, // update
				"GET " + entity,
			}
			if got := f.log(); !reflect.DeepEqual(got, want) {
				t.Errorf("requests:\n got %q\nwant %q", got, want)
			}
			if err := c.DeletePassword(ctx, testApp, p.realm, p.user); err != nil {
				t.Fatalf("DeletePassword: %v", err)
			}
			if _, ok := f.password(p.realm, p.user); ok {
				t.Error("credential still there after DeletePassword")
			}
		})
	}
}

func TestPasswordErrors(t *testing.T) {
	f := newFake(t, testApp, testKey)
	ctx := context.Background()
	c := f.client()

	_, err := c.GetPassword(ctx, testApp, "realm", "nobody-here")
	var se *Error
	if !errors.As(err, &se) || !errors.Is(err, ErrNotFound) || se.Status != 404 {
		t.Fatalf("GetPassword of a missing credential: %v", err)
	}
	want := "splunkd: GET /servicesNS/nobody/TA-m365-defender/storage/passwords/realm%3Anobody-here%3A: HTTP 404 Not Found: In handler 'passwords': Could not find object id=realm:nobody-here:"
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
	if err := c.UpdatePassword(ctx, testApp, "realm", "nobody-here", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdatePassword of a missing credential: %v", err)
	}
	if err := c.DeletePassword(ctx, testApp, "realm", "nobody-here"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeletePassword of a missing credential: %v", err)
	}

	bad := New(f.srv.URL, "wrong-key", f.srv.Client())
	err = bad.SetPassword(ctx, testApp, "realm", "user", "pw")
	if !errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrUnreachable) {
		t.Fatalf("bad session key: %v", err)
	}
	if want := "splunkd: POST /servicesNS/nobody/TA-m365-defender/storage/passwords: HTTP 401 Unauthorized: WARN: call not properly authenticated"; err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}

	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"NoUser", c.SetPassword(ctx, testApp, "r", "", "pw"), "splunkd: storage/passwords: no user name given"},
		{"NoUserGet", func() error { _, err := c.GetPassword(ctx, testApp, "r", ""); return err }(), "splunkd: storage/passwords: no user name given"},
		{"NoApp", c.SetPassword(ctx, "", "r", "u", "pw"), "splunkd: no app given for the namespace"},
		{"OtherApp", func() error { _, err := c.GetPassword(ctx, "search", "r", "u"); return err }(), "splunkd: GET /servicesNS/nobody/search/storage/passwords/r%3Au%3A: HTTP 404 Not Found: Not Found"},
	} {
		if tt.err == nil || tt.err.Error() != tt.want {
			t.Errorf("%s: error = %v, want %q", tt.name, tt.err, tt.want)
		}
	}
}

func TestGetUpdateInput(t *testing.T) {
	f := newFake(t, testApp, testKey)
	name := "prod / west:1"
	f.addInput("m365_defender_incidents", name, map[string]string{"tenant_id": "t-1", "client_id": "c-1", "client_secret": "clear"})
	c := f.client()
	ctx := context.Background()

	got, err := c.GetInput(ctx, testApp, "m365_defender_incidents", name)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"tenant_id": "t-1", "client_id": "c-1", "client_secret": "clear", "disabled": "false", "interval": "300", "host": "splunk-1", "eai:appName": testApp}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetInput:\n got %v\nwant %v", got, want)
	}
	if err := c.UpdateInput(ctx, testApp, "m365_defender_incidents", name, url.Values{"interval": {"600"}}); err != nil {
		t.Fatal(err)
	}
	if p := f.input("m365_defender_incidents", name); p["interval"] != "600" || p["tenant_id"] != "t-1" {
		t.Errorf("input after UpdateInput: %v", p)
	}
	wantPath := "/servicesNS/nobody/TA-m365-defender/data/inputs/m365_defender_incidents/prod%20%2F%20west%3A1"
	if log := f.log(); log[0] != "GET "+wantPath || log[1] != "POST "+wantPath {
		t.Errorf("requests = %q, want GET/POST %s", log, wantPath)
	}
	if _, err := c.GetInput(ctx, testApp, "m365_defender_incidents", "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetInput of a missing input: %v", err)
	}
	if _, err := c.GetInput(ctx, testApp, "", "x"); err == nil {
		t.Error("GetInput without a scheme succeeded")
	}
	f.requiredOnEdit["m365_defender_incidents"] = []string{"tenant_id"}
	err = c.UpdateInput(ctx, testApp, "m365_defender_incidents", name, nil)
	var se *Error
	if !errors.As(err, &se) || se.Status != 400 || !strings.Contains(err.Error(), `Argument "tenant_id" is required`) {
		t.Errorf("UpdateInput without required_on_edit args: %v", err)
	}
}

// secretFixture is a fake with one incidents input whose client_secret is still clear.
func secretFixture(t *testing.T, secret string) (*fakeSplunkd, SecretRef) {
	f := newFake(t, testApp, testKey)
	f.addInput("m365_defender_incidents", "prod", map[string]string{"tenant_id": "t-1", "client_id": "c-1", "client_secret": secret, "interval": "300"})
	f.requiredOnEdit["m365_defender_incidents"] = []string{"tenant_id", "client_id"}
	return f, SecretRef{App: testApp, Scheme: "m365_defender_incidents", Input: "prod", Param: "client_secret",
		Keep: url.Values{"tenant_id": {"t-1"}, "client_id": {"c-1"}}}
}

func TestResolveSecretMaskingFlow(t *testing.T) {
	const secret = "Zx8~Q-clear.secret_value"
	f, ref := secretFixture(t, secret)
	c := f.client()
	ctx := context.Background()
	keepBefore := url.Values{"tenant_id": {"t-1"}, "client_id": {"c-1"}}

	// First launch: a clear value is stored and masked.
	got, err := c.ResolveSecret(ctx, ref, secret)
	if err != nil || got != secret {
		t.Fatalf("ResolveSecret(clear) = %q, %v", got, err)
	}
	if pw, ok := f.password("m365_defender_incidents://prod", "client_secret"); !ok || pw != secret {
		t.Fatalf("storage/passwords holds %q, %v", pw, ok)
	}
	in := f.input("m365_defender_incidents", "prod")
	if in["client_secret"] != Mask || in["tenant_id"] != "t-1" || in["client_id"] != "c-1" {
		t.Fatalf("input after masking: %v", in)
	}
	if !reflect.DeepEqual(ref.Keep, keepBefore) {
		t.Errorf("ResolveSecret modified ref.Keep: %v", ref.Keep)
	}

	// Relaunch (splunkd restarts the input after the edit): the masked value is read back.
	if got, err := c.ResolveSecret(ctx, ref, Mask); err != nil || got != secret {
		t.Fatalf("ResolveSecret(mask) = %q, %v", got, err)
	}

	// The administrator enters a new secret: it replaces the stored one (409, then update).
	const rotated = "rotated-Secret-2"
	if got, err := c.ResolveSecret(ctx, ref, rotated); err != nil || got != rotated {
		t.Fatalf("ResolveSecret(new clear) = %q, %v", got, err)
	}
	if got, err := c.ResolveSecret(ctx, ref, Mask); err != nil || got != rotated {
		t.Fatalf("ResolveSecret(mask) after rotation = %q, %v", got, err)
	}
	if in := f.input("m365_defender_incidents", "prod"); in["client_secret"] != Mask {
		t.Fatalf("input after rotation: %v", in)
	}

	want := []string{
		"POST /servicesNS/nobody/TA-m365-defender/storage/passwords",
		"POST /servicesNS/nobody/TA-m365-defender/data/inputs/m365_defender_incidents/prod",
		"GET /servicesNS/nobody/TA-m365-defender/storage/passwords/m365_defender_incidents%5C%3A%2F%2Fprod%3Aclient_secret%3A",
		"POST /servicesNS/nobody/TA-m365-defender/storage/passwords",
		"POST /servicesNS/nobody/TA-m365-defender/storage/passwords/m365_defender_incidents%5C%3A%2F%2Fprod%3Aclient_secret%3A",
		"POST /servicesNS/nobody/TA-m365-defender/data/inputs/m365_defender_incidents/prod",
		"GET /servicesNS/nobody/TA-m365-defender/storage/passwords/m365_defender_incidents%5C%3A%2F%2Fprod%3Aclient_secret%3A",
	}
	if got := f.log(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests:\n got %q\nwant %q", got, want)
	}
}

func TestResolveSecretCases(t *testing.T) {
	const secret = "another-Secret-value"
	ctx := context.Background()

	t.Run("Empty", func(t *testing.T) {
		f, ref := secretFixture(t, "")
		if got, err := f.client().ResolveSecret(ctx, ref, ""); got != "" || err != nil {
			t.Fatalf("ResolveSecret(\"\") = %q, %v", got, err)
		}
		if log := f.log(); len(log) != 0 {
			t.Errorf("an empty value called splunkd: %q", log)
		}
	})
	t.Run("MaskedButMissing", func(t *testing.T) {
		f, ref := secretFixture(t, Mask)
		got, err := f.client().ResolveSecret(ctx, ref, Mask)
		if got != "" || !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnreachable) {
			t.Fatalf("ResolveSecret = %q, %v", got, err)
		}
		want := `splunkd: stanza "m365_defender_incidents://prod": parameter "client_secret" is masked but app "TA-m365-defender" has no credential "m365_defender_incidents\\://prod:client_secret:" in storage/passwords; enter the value again: `
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error:\n got %s\nwant prefix %s", err, want)
		}
	})
	t.Run("MissingRequiredOnEdit", func(t *testing.T) {
		f, ref := secretFixture(t, secret)
		ref.Keep = nil
		got, err := f.client().ResolveSecret(ctx, ref, secret)
		var se *Error
		if got != "" || !errors.As(err, &se) || se.Status != 400 || errors.Is(err, ErrUnreachable) {
			t.Fatalf("ResolveSecret = %q, %v", got, err)
		}
		if !strings.Contains(err.Error(), "masking it in the input's configuration failed") {
			t.Errorf("error does not say what failed: %v", err)
		}
	})
	t.Run("BadSessionKey", func(t *testing.T) {
		f, ref := secretFixture(t, secret)
		got, err := New(f.srv.URL, "expired", f.srv.Client()).ResolveSecret(ctx, ref, secret)
		if got != "" || !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("ResolveSecret = %q, %v", got, err)
		}
	})
	t.Run("IncompleteRef", func(t *testing.T) {
		f, ref := secretFixture(t, secret)
		ref.Param = ""
		if _, err := f.client().ResolveSecret(ctx, ref, secret); err == nil || !strings.HasPrefix(err.Error(), "splunkd: secret reference needs app, scheme, input and parameter") {
			t.Fatalf("ResolveSecret = %v", err)
		}
	})
	t.Run("DroppedDuringMasking", func(t *testing.T) {
		f, ref := secretFixture(t, secret)
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.Contains(r.URL.Path, "/data/inputs/") {
				return false
			}
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close() // splunkd restarting: the connection drops without an answer
			}
			return true
		}
		got, err := f.client().ResolveSecret(ctx, ref, secret)
		if got != secret || !errors.Is(err, ErrUnreachable) {
			t.Fatalf("ResolveSecret = %q, %v; want the clear value and ErrUnreachable", got, err)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		f, ref := secretFixture(t, secret)
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			io.Copy(io.Discard, r.Body) // the server notices the client leaving only once the body is read
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return true
		}
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		got, err := f.client().ResolveSecret(cctx, ref, secret)
		if got != "" || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnreachable) {
			t.Fatalf("ResolveSecret = %q, %v; want a context error, not ErrUnreachable", got, err)
		}
	})
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T, scheme string) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return scheme + "://" + addr
}

func TestUnreachable(t *testing.T) {
	const secret = "unreachable-Secret-1"
	ref := SecretRef{App: testApp, Scheme: "m365_defender_incidents", Input: "prod", Param: "client_secret"}
	tlsSrv := quietTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a request got through an unverified TLS connection")
	}))
	defer tlsSrv.Close()
	dnsFail := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "splunk.invalid", IsNotFound: true}}
	}}}
	tests := []struct {
		name   string
		client *Client
	}{
		{"ConnectionRefused", New(closedURL(t, "http"), testKey, nil)},
		{"ConnectionRefusedTLS", New(closedURL(t, "https"), testKey, LoopbackTLSClient())},
		{"DNS", New("https://splunk.invalid:8089", testKey, dnsFail)},
		{"UnknownCertificate", New(tlsSrv.URL, testKey, &http.Client{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.client.ResolveSecret(context.Background(), ref, secret)
			if got != secret || !errors.Is(err, ErrUnreachable) {
				t.Fatalf("ResolveSecret(clear) = %q, %v; want the clear value and ErrUnreachable", got, err)
			}
			if !strings.Contains(err.Error(), "not encrypted yet") {
				t.Errorf("error does not say the secret is not encrypted: %v", err)
			}
			got, err = tt.client.ResolveSecret(context.Background(), ref, Mask)
			if got != "" || !errors.Is(err, ErrUnreachable) {
				t.Fatalf("ResolveSecret(mask) = %q, %v; want an ErrUnreachable error and no value", got, err)
			}
		})
	}
}

func TestLoopbackTLSClient(t *testing.T) {
	srv := quietTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Splunk "+testKey {
			w.WriteHeader(401)
			return
		}
		io.WriteString(w, `{"entry":[{"name":"prod","content":{"index":"security"}}],"messages":[]}`)
	}))
	defer srv.Close()
	ctx := context.Background()

	got, err := New(srv.URL, testKey, LoopbackTLSClient()).GetInput(ctx, testApp, "m365_defender_incidents", "prod")
	if err != nil || got["index"] != "security" {
		t.Fatalf("GetInput over loopback TLS with a self-signed certificate = %v, %v", got, err)
	}
	// "localhost" resolves to loopback here, and the check is on the connected address.
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if _, err := New(localhost, testKey, LoopbackTLSClient()).GetInput(ctx, testApp, "m365_defender_incidents", "prod"); err != nil {
		t.Fatalf("GetInput via localhost: %v", err)
	}
	// The same client logic with a peer it does not treat as loopback verifies, and rejects the certificate.
	verifying := newSplunkdClient(func(net.Addr) bool { return false })
	_, err = New(srv.URL, testKey, verifying).GetInput(ctx, testApp, "m365_defender_incidents", "prod")
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("non-loopback peer with a self-signed certificate: %v", err)
	}
	if !isLoopbackPeer(&net.TCPAddr{IP: net.IPv6loopback}) || isLoopbackPeer(&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1)}) || isLoopbackPeer(&net.UnixAddr{}) {
		t.Error("isLoopbackPeer misjudges an address")
	}
	// No redirect is followed (the session key must not travel elsewhere).
	redirect := quietTLSServer(http.RedirectHandler(srv.URL+"/elsewhere", http.StatusFound))
	defer redirect.Close()
	_, err = New(redirect.URL, testKey, LoopbackTLSClient()).GetInput(ctx, testApp, "s", "n")
	var se *Error
	if !errors.As(err, &se) || se.Status != http.StatusFound {
		t.Fatalf("redirect: %v", err)
	}
}

func TestServerURI(t *testing.T) {
	noCall := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("request sent to %s", r.URL)
		return nil, errors.New("no")
	})}
	tests := []struct{ uri, want string }{
		{"http://splunk.example.com:8089", "splunkd: refusing to send the session key over plain http to splunk.example.com; use https"},
		{"http://10.1.2.3:8089", "splunkd: refusing to send the session key over plain http to 10.1.2.3; use https"},
		{"ftp://127.0.0.1", `splunkd: server_uri scheme "ftp" is not http or https`},
		{"", "splunkd: server_uri is not an absolute http(s) URL"},
		{"127.0.0.1:8089", "splunkd: server_uri is not an absolute http(s) URL"},
		{"https://admin:hunter2@[::1", "splunkd: server_uri is not an absolute http(s) URL"},
	}
	for _, tt := range tests {
		_, err := New(tt.uri, testKey, noCall).GetInput(context.Background(), testApp, "s", "n")
		if err == nil || err.Error() != tt.want {
			t.Errorf("New(%q): error = %v, want %q", tt.uri, err, tt.want)
		}
	}
	// Loopback over http is allowed (tests, and splunkd configured without TLS on this host), and a base
	// path and a trailing slash are kept and trimmed.
	f := newFake(t, testApp, testKey)
	f.addInput("s", "n", map[string]string{})
	if _, err := New(f.srv.URL+"/", testKey, nil).GetInput(context.Background(), testApp, "s", "n"); err != nil {
		t.Errorf("loopback http: %v", err)
	}
}

// quietTLSServer is httptest.NewTLSServer without the log lines of the handshakes the tests make fail.
func quietTLSServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return srv
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRequestShape(t *testing.T) {
	var got *http.Request
	var body string
	c := New("https://127.0.0.1:8089", testKey, &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		return &http.Response{StatusCode: 201, Body: io.NopCloser(strings.NewReader(`{"entry":[]}`)), Header: http.Header{}}, nil
	})})
	if err := c.SetPassword(context.Background(), testApp, "r:1", "u", "p&w=1"); err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || got.URL.String() != "https://127.0.0.1:8089/servicesNS/nobody/TA-m365-defender/storage/passwords?output_mode=json" {
		t.Errorf("request = %s %s", got.Method, got.URL)
	}
	if h := got.Header.Get("Authorization"); h != "Splunk "+testKey {
		t.Errorf("Authorization = %q", h)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", ct)
	}
	if want := "name=u&password=p%26w%3D1&realm=r%3A1"; body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
}

func TestFakeAnswersAtomWithoutOutputMode(t *testing.T) {
	f := newFake(t, testApp, testKey)
	if err := f.client().SetPassword(context.Background(), testApp, "splunk.com", "foobar", "pw"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/servicesNS/nobody/TA-m365-defender/storage/passwords/splunk.com%3Afoobar%3A", nil)
	req.Header.Set("Authorization", "Splunk "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `<s:key name="clear_password">`) {
		t.Errorf("fake did not answer Atom: %.200s", b)
	}
	// The client would not understand it, and says so without quoting the body.
	if _, err := decodeFeed(b); err == nil || !strings.Contains(err.Error(), "XML, not JSON") || strings.Contains(err.Error(), "clear_password") {
		t.Errorf("decodeFeed(Atom) = %v", err)
	}
	f.mu.Lock()
	if len(f.nonJSON) != 1 {
		t.Errorf("the fake recorded %d non-JSON requests, want 1", len(f.nonJSON))
	}
	f.nonJSON = nil // expected here
	f.mu.Unlock()
}
