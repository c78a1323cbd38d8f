package incidents

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
	"github.com/ta-m365-defender/ta-m365-defender/src/splunkd"
)

// closedPort returns a loopback URL nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestValidateLiveErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		want  []string // substrings of the error
		kind  string
	}{
		{"WrongSecret", func(h *harness) { h.Params["client_secret"] = "not-the-secret" },
			[]string{`parameter "client_secret"`, "AADSTS7000215", "invalid client secret"}, "auth"},
		{"WrongTenant", func(h *harness) { h.Params["tenant_id"] = "11111111-2222-3333-4444-555555555555" },
			[]string{`parameter "tenant_id"`, "AADSTS90002", "tenant not found"}, "auth"},
		{"UnknownClient", func(h *harness) { h.Params["client_id"] = "99999999-8888-7777-6666-555555555555" },
			[]string{`parameter "client_id"`, "AADSTS700016"}, "auth"},
		{"MissingPermissionGraph", func(h *harness) {
			h.Sim.AddClient("noperm-app", "noperm-secret")
			h.Params["client_id"], h.Params["client_secret"] = "noperm-app", "noperm-secret"
		}, []string{`parameter "client_id"`, "permission denied", "SecurityIncident.Read.All"}, "permission"},
		{"MissingPermissionLegacy", func(h *harness) {
			h.Sim.AddClient("noperm-app", "noperm-secret", simulator.RoleSecurityIncidentRead)
			h.Params["client_id"], h.Params["client_secret"], h.Params["api"] = "noperm-app", "noperm-secret", "legacy"
		}, []string{`parameter "client_id"`, "Incident.Read.All"}, "permission"},
		{"LoginUnreachable", func(h *harness) { h.Params["login_url"] = closedPort(t) },
			[]string{`parameter "login_url"`, "cannot reach", "token endpoint", "connection refused"}, "network"},
		{"APIUnreachable", func(h *harness) { h.Params["api_url"] = closedPort(t) },
			[]string{`parameter "api_url"`, "cannot reach", "connection refused"}, "network"},
		{"PlainHTTPNotLoopback", func(h *harness) { h.Params["api_url"] = "http://graph.example.com" },
			[]string{`parameter "api_url"`, "plain http:// is allowed only for loopback hosts"}, "config"},
		{"BadAPI", func(h *harness) { h.Params["api"] = "beta" }, []string{`parameter "api"`}, "config"},
		{"BadEnvironment", func(h *harness) { h.Params["environment"] = "mooncake" }, []string{`parameter "environment"`}, "config"},
		{"BadStartDate", func(h *harness) { h.Params["start_date"] = "yesterday" }, []string{`parameter "start_date"`}, "config"},
		{"NoCredential", func(h *harness) { delete(h.Params, "client_secret") }, []string{`parameter "client_secret"`}, "config"},
		{"MissingCertificateFile", func(h *harness) {
			delete(h.Params, "client_secret")
			h.Params["client_certificate"] = "/nonexistent/app.pem"
		}, []string{`parameter "client_certificate"`}, "config"},
		{"BadExpand", func(h *harness) { h.Params["expand_alerts"] = "perhaps" }, []string{`parameter "expand_alerts"`}, "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, simulator.Options{Incidents: 3, Seed: 20})
			tt.setup(h)
			err := h.Validate()
			if err == nil {
				t.Fatal("validation passed")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if k := inputs.ErrorKind(err); k != tt.kind {
				t.Errorf("error_kind %q, want %q", k, tt.kind)
			}
			if !strings.Contains(err.Error(), `stanza "`+Scheme+`://test"`) {
				t.Errorf("error does not name the stanza: %v", err)
			}
		})
	}
}

func TestValidateOK(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 3, Seed: 21})
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range h.Sim.Requests() {
		if r.Path == "/v1.0/security/incidents" && strings.Contains(r.RawQuery, "top=1") {
			found = true
		}
	}
	if !found {
		t.Errorf("no $top=1 call: %+v", h.Sim.Requests())
	}
}

func TestRunErrorsNameTheParameter(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 3, Seed: 22})
	h.Params["client_secret"] = "wrong-secret-value"
	_, err := h.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `parameter "client_secret"`) || !strings.Contains(err.Error(), "AADSTS7000215") || inputs.ErrorKind(err) != "auth" {
		t.Fatalf("err = %v (kind %s)", err, inputs.ErrorKind(err))
	}
}

func TestTLS(t *testing.T) {
	sim := simulator.NewTLS(simulator.Options{Incidents: 5, Seed: 23})
	defer sim.Close()
	h := newHarness(t, simulator.Options{})
	h.Sim = sim
	h.OwnHTTP = true
	h.Params["tenant_id"], h.Params["client_id"], h.Params["client_secret"] = sim.TenantID, sim.ClientID, sim.ClientSecret
	h.Params["login_url"], h.Params["api_url"] = sim.URL, sim.URL
	err := h.Validate()
	if err == nil || !strings.Contains(err.Error(), "TLS certificate not trusted") || !strings.Contains(err.Error(), `parameter "login_url"`) || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("untrusted certificate: err = %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sim.Certificate().Raw}), 0o600)
	h.Params["ca_file"] = ca
	if err := h.Validate(); err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	evs := h.MustRun()
	if inc, _ := split(t, evs); len(inc) != 5 {
		t.Errorf("%d incidents over TLS", len(inc))
	}
}

func TestSecretNeverInOutput(t *testing.T) {
	const secret = "Zq8~s3cr3t.VALUE_that-must-never-leak"
	h := newHarness(t, simulator.Options{Incidents: 60, AlertsPerIncident: 1, Seed: 24})
	h.Sim.AddClient("leak-app", secret, simulator.AllRoles()...)
	h.Params["client_id"], h.Params["client_secret"] = "leak-app", secret
	h.Params["log_level"] = "DEBUG"
	var all bytes.Buffer
	collect := func(evs []event, err error) {
		for _, e := range evs {
			all.WriteString(e.Data)
		}
		if err != nil {
			all.WriteString(err.Error())
		}
	}
	h.Hook = func(n int, r *http.Request) {
		if n == 1 {
			h.Sim.Throttle(1, 0)
			h.Sim.FailNext(1, 500)
			h.Sim.ExpireTokens()
		}
	}
	collect(h.Run(context.Background()))
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	// A wrong secret is just as secret.
	const wrong = "Wr0ng~secret.VALUE_also-never-shown"
	h.Params["client_secret"] = wrong
	collect(h.Run(context.Background()))
	if err := h.Validate(); err != nil {
		all.WriteString(err.Error())
	} else {
		t.Fatal("wrong secret accepted")
	}
	all.WriteString(h.Logs.String())
	all.Write(h.CheckpointFiles())
	for _, s := range []string{secret, wrong} {
		if bytes.Contains(all.Bytes(), []byte(s)) {
			t.Errorf("secret %q found in events, logs, errors or checkpoints", s)
		}
	}
	if !strings.Contains(h.Logs.String(), "DEBUG") {
		t.Error("no DEBUG lines: the test did not exercise debug logging")
	}
}

// forwardProxy is a plain HTTP forward proxy that counts what it relays
// and demands the credentials it was given.
type forwardProxy struct {
	mu    sync.Mutex
	count int
	auth  string
}

func (p *forwardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.auth != "" && r.Header.Get("Proxy-Authorization") != p.auth {
		w.WriteHeader(http.StatusProxyAuthRequired)
		return
	}
	p.mu.Lock()
	p.count++
	p.mu.Unlock()
	out, _ := http.NewRequest(r.Method, r.URL.String(), r.Body)
	out.Header = r.Header.Clone()
	out.Header.Del("Proxy-Authorization")
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func TestProxyURL(t *testing.T) {
	h := newHarness(t, simulator.Options{Incidents: 60, AlertsPerIncident: 1, Seed: 25})
	const proxyPassword = "pr0xy-pa55word-secret"
	p := &forwardProxy{auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("svc:"+proxyPassword))}
	ps := httptest.NewServer(p)
	defer ps.Close()
	h.OwnHTTP = true
	h.Params["proxy_url"] = strings.Replace(ps.URL, "http://", "http://svc:"+proxyPassword+"@", 1)
	evs := h.MustRun()
	if inc, _ := split(t, evs); len(inc) != 60 {
		t.Errorf("%d incidents through the proxy", len(inc))
	}
	if p.count < 3 { // token + pages
		t.Errorf("proxy relayed %d requests", p.count)
	}
	if strings.Contains(h.Logs.String(), proxyPassword) {
		t.Error("proxy password in the logs")
	}
	// A proxy that refuses the credentials: a clear error, no password.
	p.auth = "Basic nope"
	_, err := h.Run(context.Background())
	if err == nil || strings.Contains(err.Error(), proxyPassword) || !strings.Contains(err.Error(), `parameter "proxy_url"`) || !strings.Contains(err.Error(), "HTTP 407") {
		t.Fatalf("err = %v", err)
	}
}

func TestValidateDoesNotStoreTheSecret(t *testing.T) {
	// During --validate-arguments the input does not exist yet: a clear
	// secret must be checked as is, not moved into storage/passwords.
	var calls int
	var mu sync.Mutex
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer fake.Close()
	h := newHarness(t, simulator.Options{Incidents: 2, Seed: 26})
	rt := h.Runtime(io.Discard)
	rt.Splunkd = splunkd.New(fake.URL, "session-key", fake.Client())
	if err := Kind().Validate(context.Background(), rt, h.Stanza()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if calls != 0 {
		t.Errorf("validation made %d splunkd calls", calls)
	}
	// A masked secret is read back from splunkd, and its failure named.
	h.Params["client_secret"] = modinput.Mask
	err := Kind().Validate(context.Background(), rt, h.Stanza())
	if err == nil || calls == 0 || !strings.Contains(err.Error(), `parameter "client_secret"`) {
		t.Errorf("masked secret: err %v, %d calls", err, calls)
	}
}
