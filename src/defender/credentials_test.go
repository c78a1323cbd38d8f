package defender

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testSecret = "s3cr3t~VALUE.never-logged"

// tokenServer is a minimal Entra ID token endpoint.
func tokenServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func aadError(w http.ResponseWriter, status int, code, desc string, n int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"error": code, "error_description": desc + "\r\nTrace ID: 0b1c\r\nCorrelation ID: 9f2e\r\nTimestamp: 2026-01-01 00:00:00Z",
		"error_codes": []int{n}, "trace_id": "0b1c", "correlation_id": "9f2e",
	})
}

func TestTokenSourceErrors(t *testing.T) {
	tests := []struct {
		name, code, desc string
		status, n        int
		param, want      string
	}{
		{"WrongSecret", "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID", 401, 7000215,
			"client_secret", "token request refused (HTTP 401 invalid_client): client_secret: invalid client secret (use the secret's value, not its id); Microsoft said: AADSTS7000215: Invalid client secret provided."},
		{"WrongTenant", "invalid_request", "AADSTS90002: Tenant 'nope' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", 400, 90002,
			"tenant_id", "tenant_id: tenant not found (check the tenant id or domain, and the environment); Microsoft said: AADSTS90002: Tenant 'nope' not found."},
		{"WrongClient", "unauthorized_client", "AADSTS700016: Application with identifier 'x' was not found in the directory 'contoso'.", 400, 700016,
			"client_id", "client_id: application not found in the tenant; Microsoft said: AADSTS700016"},
		{"ExpiredSecret", "invalid_client", "AADSTS7000222: The provided client secret keys for app 'x' are expired.", 401, 7000222,
			"client_secret", "client_secret: the client secret has expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) { aadError(w, tt.status, tt.code, tt.desc, tt.n) })
			ts, err := NewTokenSource(Credentials{TenantID: "nope", ClientID: "x", ClientSecret: testSecret, LoginURL: srv.URL, Scope: "https://graph.microsoft.com/.default"},
				TokenSourceOptions{Clock: newFakeClock()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = ts.Token(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(fmt.Sprintf("%#v", err), testSecret) {
				t.Fatal("secret in the error")
			}
			if strings.Contains(err.Error(), "Correlation ID:") {
				t.Error("trace lines kept in the description")
			}
			if ParamOf(err) != tt.param || KindOf(err) != KindAuth {
				t.Errorf("param %q kind %q", ParamOf(err), KindOf(err))
			}
		})
	}
}

func TestTokenSourceCaches(t *testing.T) {
	var calls atomic.Int32
	srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		r.ParseForm()
		if r.URL.Path != "/contoso.onmicrosoft.com/oauth2/v2.0/token" || r.Form.Get("grant_type") != "client_credentials" ||
			r.Form.Get("client_id") != "app" || r.Form.Get("client_secret") != testSecret || r.Form.Get("scope") != "https://api.security.microsoft.com/.default" {
			t.Errorf("token request %s %v", r.URL.Path, r.Form)
		}
		if ua := r.Header.Get("User-Agent"); ua != "ua/1" {
			t.Errorf("UA %q", ua)
		}
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"at%d"}`, calls.Load())
	})
	clock := newFakeClock()
	ts, err := NewTokenSource(Credentials{TenantID: "contoso.onmicrosoft.com", ClientID: "app", ClientSecret: testSecret, LoginURL: srv.URL,
		Scope: Scope("https://api.security.microsoft.com")}, TokenSourceOptions{Clock: clock, UserAgent: "ua/1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, _ := ts.Token(ctx)
	b, _ := ts.Token(ctx)
	if a != "at1" || b != "at1" || calls.Load() != 1 {
		t.Fatalf("a=%s b=%s calls=%d", a, b, calls.Load())
	}
	clock.Sleep(ctx, 3599*time.Second-61*time.Second) // still before the refresh margin
	if c, _ := ts.Token(ctx); c != "at1" {
		t.Fatalf("refreshed too early: %s", c)
	}
	clock.Sleep(ctx, 2*time.Second) // within the last minute
	if c, _ := ts.Token(ctx); c != "at2" {
		t.Fatalf("not refreshed: %s", c)
	}
	ts.Invalidate("at2")
	if c, _ := ts.Token(ctx); c != "at3" || ts.Fetches() != 3 {
		t.Fatalf("after Invalidate: %s, %d fetches", c, ts.Fetches())
	}
}

func TestTokenSourceRetriesTransient(t *testing.T) {
	var calls atomic.Int32
	srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(503)
			return
		}
		fmt.Fprint(w, `{"token_type":"Bearer","expires_in":3599,"access_token":"ok"}`)
	})
	clock := newFakeClock()
	ts, _ := NewTokenSource(Credentials{TenantID: "t", ClientID: "c", ClientSecret: "s", LoginURL: srv.URL, Scope: "x/.default"}, TokenSourceOptions{Clock: clock})
	if tok, err := ts.Token(context.Background()); err != nil || tok != "ok" || len(clock.Waits()) != 2 {
		t.Fatalf("tok %q err %v waits %v", tok, err, clock.Waits())
	}
}

// TestTokenSourceHonoursRetryAfter: a throttled token request waits what
// the token endpoint's Retry-After asks for, and one beyond the bound fails.
func TestTokenSourceHonoursRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		name      string
		header    string
		wantWaits string
		wantErr   string
	}{
		{"Seconds", "20", "[20s 20s]", ""},
		{"HTTPDate", time.Date(2026, 1, 2, 3, 4, 50, 0, time.UTC).Format(http.TimeFormat), "[45s 1s]", ""}, // the date has passed on the retry: 1 s floor
		{"BeyondBound", "86400", "[]", "asked to wait 24h0m0s, longer than the 1h0m0s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) < 3 {
					w.Header().Set("Retry-After", tt.header)
					aadError(w, 429, "temporarily_unavailable", "AADSTS90055: The tenant is being throttled.", 90055)
					return
				}
				fmt.Fprint(w, `{"token_type":"Bearer","expires_in":3599,"access_token":"ok"}`)
			})
			clock := newFakeClock()
			ts, _ := NewTokenSource(Credentials{TenantID: "t", ClientID: "c", ClientSecret: "s", LoginURL: srv.URL, Scope: "x/.default"}, TokenSourceOptions{Clock: clock})
			tok, err := ts.Token(context.Background())
			if got := fmt.Sprint(clock.Waits()); got != tt.wantWaits {
				t.Errorf("waits %s, want %s", got, tt.wantWaits)
			}
			if tt.wantErr == "" {
				if err != nil || tok != "ok" {
					t.Fatalf("tok %q err %v", tok, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || KindOf(err) != KindThrottling {
				t.Fatalf("err %v (kind %s), want %q, throttling", err, KindOf(err), tt.wantErr)
			}
		})
	}
}

func writeTestCert(t *testing.T) (path string, cert *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ta-m365-defender test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	data := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	path = filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, cert
}

func TestCertificateAssertion(t *testing.T) {
	path, cert := writeTestCert(t)
	var seen atomic.Int32
	srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("client_secret") != "" || r.Form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			t.Errorf("form %v", r.Form)
		}
		parts := strings.Split(r.Form.Get("client_assertion"), ".")
		if len(parts) != 3 {
			t.Fatalf("assertion %q", r.Form.Get("client_assertion"))
		}
		var hdr map[string]string
		var claims map[string]any
		hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
		cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
		json.Unmarshal(hb, &hdr)
		json.Unmarshal(cb, &claims)
		sum := sha1.Sum(cert.Raw)
		if hdr["alg"] != "RS256" || hdr["x5t"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
			t.Errorf("header %v", hdr)
		}
		if claims["aud"] != "http://"+r.Host+r.URL.Path || claims["iss"] != "app" || claims["sub"] != "app" || claims["jti"] == "" {
			t.Errorf("claims %v", claims)
		}
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
			t.Errorf("signature: %v", err)
		}
		seen.Add(1)
		fmt.Fprint(w, `{"token_type":"Bearer","expires_in":3599,"access_token":"ok"}`)
	})
	c, err := LoadCertificate(path)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := NewTokenSource(Credentials{TenantID: "t", ClientID: "app", Certificate: c, LoginURL: srv.URL, Scope: "x/.default"}, TokenSourceOptions{})
	if tok, err := ts.Token(context.Background()); err != nil || tok != "ok" || seen.Load() != 1 {
		t.Fatalf("tok %q err %v", tok, err)
	}
	if strings.Contains(c.String(), "PRIVATE") {
		t.Error("String shows the key")
	}
}

func TestParseCertificateErrors(t *testing.T) {
	path, _ := writeTestCert(t)
	data, _ := os.ReadFile(path)
	keyOnly := data[:strings.Index(string(data), "-----BEGIN CERTIFICATE")]
	certOnly := data[strings.Index(string(data), "-----BEGIN CERTIFICATE"):]
	other, _ := writeTestCert(t)
	otherData, _ := os.ReadFile(other)
	mismatch := append(append([]byte{}, keyOnly...), otherData[strings.Index(string(otherData), "-----BEGIN CERTIFICATE"):]...)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"KeyOnly", keyOnly, "no CERTIFICATE block"},
		{"CertOnly", certOnly, "no PRIVATE KEY block"},
		{"Mismatch", mismatch, "does not match"},
		{"Encrypted", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), "encrypted"},
		{"Garbage", []byte("hello"), "no CERTIFICATE block"},
	}
	for _, tt := range tests {
		if _, err := ParseCertificate(tt.data); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
	if _, err := LoadCertificate(filepath.Join(t.TempDir(), "missing.pem")); err == nil || ParamOf(err) != "client_certificate" {
		t.Errorf("missing file: %v", err)
	}
}
