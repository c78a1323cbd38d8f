package defender

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock advances only when slept on, and records the waits.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// staticTokens hands out numbered tokens.
type staticTokens struct {
	n           atomic.Int32
	invalidated atomic.Int32
}

func (s *staticTokens) Token(context.Context) (string, error) {
	return fmt.Sprintf("tok%d", s.n.Load()), nil
}

func (s *staticTokens) Invalidate(string) { s.invalidated.Add(1); s.n.Add(1) }

func newTestClient(t *testing.T, h http.HandlerFunc) (*Client, *fakeClock, *staticTokens) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	clock, toks := newFakeClock(), &staticTokens{}
	c, err := NewClient(ClientOptions{BaseURL: srv.URL, Tokens: toks, HTTPClient: srv.Client(), Graph: true,
		UserAgent: UserAgent("1.2.3"), Clock: clock, AltHosts: []string{"https://graph.microsoft.com"}})
	if err != nil {
		t.Fatal(err)
	}
	return c, clock, toks
}

func TestClientRetries(t *testing.T) {
	tests := []struct {
		name      string
		answers   []func(w http.ResponseWriter)
		wantErr   string
		wantWaits []time.Duration // exact waits; nil: only count checked
		nWaits    int
		kind      ErrorKind
	}{
		{
			name: "RetryAfterSeconds",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.Header().Set("Retry-After", "7")
					w.WriteHeader(429)
					fmt.Fprint(w, `{"error":{"code":"TooManyRequests","message":"Too many requests, please try again later."}}`)
				},
			},
			wantWaits: []time.Duration{7 * time.Second},
		},
		{
			name: "RetryAfterHTTPDate",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.Header().Set("Retry-After", time.Date(2026, 1, 2, 3, 4, 35, 0, time.UTC).Format(http.TimeFormat))
					w.WriteHeader(429)
				},
			},
			wantWaits: []time.Duration{30 * time.Second},
		},
		{
			// Honoured in full: more than the 10 minutes the client once
			// capped it at.
			name: "RetryAfterLongHonoured",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.Header().Set("Retry-After", "1800")
					w.WriteHeader(429)
				},
			},
			wantWaits: []time.Duration{30 * time.Minute},
		},
		{
			name: "RetryAfterBeyondBoundFails",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.Header().Set("Retry-After", "7200")
					w.WriteHeader(429)
					fmt.Fprint(w, `{"error":{"code":"TooManyRequests","message":"Too many requests."}}`)
				},
			},
			wantErr:   "defender: throttled, and the server asked to wait 2h0m0s, longer than the 1h0m0s a request waits for: ",
			wantWaits: []time.Duration{},
			kind:      KindThrottling,
		},
		{
			name: "LegacyBodyTryAgain",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.WriteHeader(429)
					fmt.Fprint(w, `{"error":{"code":"TooManyRequests","message":"API calls quota exceeded! Maximum admitted 50 per Minute. Try again in 12 seconds."}}`)
				},
			},
			wantWaits: []time.Duration{12 * time.Second},
		},
		{
			// Microsoft's documented legacy throttling answer: no
			// Retry-After, a flat body naming the quota window.
			name: "LegacyQuotaWindow",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.WriteHeader(429)
					fmt.Fprint(w, `{"code":"429","message":"API calls quota exceeded! maximum allowed 45 per 00:01:00"}`)
				},
			},
			wantWaits: []time.Duration{time.Minute},
		},
		{
			name: "LegacyNextCallAvailable",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.WriteHeader(429)
					fmt.Fprint(w, `{"error":{"code":"TooManyRequests","message":"API calls quota exceeded! Maximum allowed 50 per Minute. Next call available in 9 seconds."}}`)
				},
			},
			wantWaits: []time.Duration{9 * time.Second},
		},
		{
			name: "LegacyQuotaWindowGivesUp",
			answers: func() []func(http.ResponseWriter) {
				var a []func(http.ResponseWriter)
				for range 13 {
					a = append(a, func(w http.ResponseWriter) {
						w.WriteHeader(429)
						fmt.Fprint(w, `{"code":"429","message":"API calls quota exceeded! maximum allowed 45 per 00:00:02"}`)
					})
				}
				return a
			}(),
			wantErr: "HTTP 429 429: API calls quota exceeded! maximum allowed 45 per 00:00:02",
			nWaits:  12,
			kind:    KindThrottling,
		},
		{
			name: "5xxBackoff",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) { w.WriteHeader(503) },
				func(w http.ResponseWriter) { w.WriteHeader(500) },
				func(w http.ResponseWriter) { w.WriteHeader(502) },
			},
			nWaits: 3,
		},
		{
			name: "5xxGivesUp",
			answers: func() []func(http.ResponseWriter) {
				var a []func(http.ResponseWriter)
				for range 6 {
					a = append(a, func(w http.ResponseWriter) {
						w.Header().Set("request-id", "req-1")
						w.WriteHeader(500)
						fmt.Fprint(w, `{"error":{"code":"InternalServerError","message":"boom"}}`)
					})
				}
				return a
			}(),
			wantErr: "HTTP 500 InternalServerError: boom (request-id req-1)",
			nWaits:  5,
			kind:    KindAPI,
		},
		{
			name: "Forbidden",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.WriteHeader(403)
					fmt.Fprint(w, `{"error":{"code":"Forbidden","message":"Missing application roles. API required roles: SecurityIncident.Read.All."}}`)
				},
			},
			wantErr: "permission denied on GET /v1.0/security/incidents: the application needs the SecurityIncident.Read.All application permission with admin consent; Microsoft said: Missing application roles",
			kind:    KindPermission,
		},
		{
			name: "BadRequestNotRetried",
			answers: []func(http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.WriteHeader(400)
					fmt.Fprint(w, `{"error":{"code":"BadRequest","message":"The limit of '50' for Top query has been exceeded."}}`)
				},
			},
			wantErr: "HTTP 400 BadRequest: The limit of '50' for Top query has been exceeded.",
			kind:    KindAPI,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			c, clock, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get("User-Agent"); got != "M365DPartner-TA-m365-defender/1.2.3" {
					t.Errorf("User-Agent = %q", got)
				}
				if got := r.Header.Get("Prefer"); got != "include-unknown-enum-members" {
					t.Errorf("Prefer = %q", got)
				}
				i := int(n.Add(1)) - 1
				if i < len(tt.answers) {
					tt.answers[i](w)
					return
				}
				fmt.Fprint(w, `{"value":[]}`)
			})
			err := c.DoJSON(context.Background(), Request{Path: "/v1.0/security/incidents", Permission: "SecurityIncident.Read.All"}, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v\nwant %q", err, tt.wantErr)
				}
				if k := KindOf(err); k != tt.kind {
					t.Errorf("kind = %q, want %q", k, tt.kind)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			waits := clock.Waits()
			if tt.wantWaits != nil {
				if fmt.Sprint(waits) != fmt.Sprint(tt.wantWaits) {
					t.Errorf("waits = %v, want %v", waits, tt.wantWaits)
				}
			} else if len(waits) != tt.nWaits {
				t.Errorf("waits = %v, want %d", waits, tt.nWaits)
			}
			for i := 1; tt.name == "5xxGivesUp" && i < len(waits); i++ {
				if waits[i] < waits[i-1]/2 {
					t.Errorf("backoff not growing: %v", waits)
				}
			}
		})
	}
}

func TestClient401RefreshesOnce(t *testing.T) {
	var n atomic.Int32
	c, _, toks := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.Header.Get("Authorization") == "Bearer tok0" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}}`)
			return
		}
		fmt.Fprint(w, `{"value":[]}`)
	})
	if err := c.DoJSON(context.Background(), Request{Path: "/x"}, nil); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 || toks.invalidated.Load() != 1 {
		t.Errorf("calls %d invalidated %d", n.Load(), toks.invalidated.Load())
	}
	// Always 401: one refresh, then the error.
	c2, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":{"code":"InvalidAuthenticationToken","message":"Invalid audience."}}`)
	})
	err := c2.DoJSON(context.Background(), Request{Path: "/x"}, nil)
	if KindOf(err) != KindAuth || !strings.Contains(err.Error(), "Invalid audience") || ParamOf(err) != "environment" {
		t.Errorf("err = %v (kind %s, param %s)", err, KindOf(err), ParamOf(err))
	}
}

func TestClientLinks(t *testing.T) {
	c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"value":[]}`)
	})
	tests := []struct{ link, want, err string }{
		{link: c.BaseURL() + "/v1.0/security/incidents?$skiptoken=a", want: c.BaseURL() + "/v1.0/security/incidents?$skiptoken=a"},
		{link: "https://graph.microsoft.com/v1.0/security/incidents?$skiptoken=b", want: c.BaseURL() + "/v1.0/security/incidents?$skiptoken=b"},
		{link: "https://evil.example.com/v1.0/x", err: "unexpected host"},
	}
	for _, tt := range tests {
		u, err := c.URL(Request{Path: tt.link})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v", tt.link, err)
			}
			continue
		}
		if err != nil || u.String() != tt.want {
			t.Errorf("%s: got %v, %v; want %s", tt.link, u, err, tt.want)
		}
	}
}

func TestClientNetworkErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there now
	clock := newFakeClock()
	c, err := NewClient(ClientOptions{BaseURL: base, Tokens: &staticTokens{}, Clock: clock, Retry: RetryPolicy{MaxAttempts: 3}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.DoJSON(context.Background(), Request{Path: "/x"}, nil)
	var ne *NetworkError
	if !errors.As(err, &ne) || ParamOf(err) != "api_url" || len(clock.Waits()) != 2 {
		t.Fatalf("err = %v, waits %v", err, clock.Waits())
	}
	// TLS: an https server with a certificate nobody trusts.
	tsrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tsrv.Close()
	hc, err := NewHTTPClient(HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ = NewClient(ClientOptions{BaseURL: tsrv.URL, Tokens: &staticTokens{}, HTTPClient: hc, Clock: newFakeClock()})
	err = c.DoJSON(context.Background(), Request{Path: "/x"}, nil)
	if !errors.As(err, &ne) || !ne.TLS || !strings.Contains(err.Error(), "TLS certificate not trusted") || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("TLS err = %v", err)
	}
}

func TestCheckBaseURL(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "https://graph.microsoft.com/", want: "https://graph.microsoft.com"},
		{in: "https://proxy.example.com/graph/", want: "https://proxy.example.com/graph"},
		{in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{in: "http://[::1]:8080", want: "http://[::1]:8080"},
		{in: "http://localhost:1", want: "http://localhost:1"},
		{in: "http://graph.microsoft.com", err: `plain http:// is allowed only for loopback hosts (localhost, 127.0.0.1, ::1), not "graph.microsoft.com"`},
		{in: "ftp://x", err: "unsupported URL scheme"},
		{in: "graph.microsoft.com", err: "is not an absolute URL"},
		{in: "https://u:p@x.com", err: "credentials in the URL are not allowed"},
		{in: "https://x.com/?a=1", err: "must not have a query"},
	}
	for _, tt := range tests {
		u, err := CheckBaseURL("api_url", tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "defender: api_url: ") {
				t.Errorf("%s: err = %v", tt.in, err)
			}
			continue
		}
		if err != nil || u.String() != tt.want {
			t.Errorf("%s: got %v, %v", tt.in, u, err)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5", 5 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"Thu, 01 Jan 2026 00:01:00 GMT", time.Minute, true},
		{"Wed, 31 Dec 2025 00:00:00 GMT", 0, true},
		{"", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		d, ok := ParseRetryAfter(tt.in, now)
		if d != tt.want || ok != tt.ok {
			t.Errorf("%q: %v %v", tt.in, d, ok)
		}
	}
}

func TestCloudFor(t *testing.T) {
	tests := []struct{ env, login, graph, xdr, mde, scope string }{
		{"", "https://login.microsoftonline.com", "https://graph.microsoft.com", "https://api.security.microsoft.com", "https://api.securitycenter.microsoft.com", "https://graph.microsoft.com/.default"},
		{"gcc", "https://login.microsoftonline.com", "https://graph.microsoft.com", "https://api-gcc.security.microsoft.us", "https://api-gcc.securitycenter.microsoft.us", "https://graph.microsoft.com/.default"},
		{"GCC_High", "https://login.microsoftonline.us", "https://graph.microsoft.us", "https://api-gov.security.microsoft.us", "https://api-gov.securitycenter.microsoft.us", "https://graph.microsoft.us/.default"},
		{"dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us", "https://api-gov.security.microsoft.us", "https://api-gov.securitycenter.microsoft.us", "https://dod-graph.microsoft.us/.default"},
	}
	for _, tt := range tests {
		c, err := CloudFor(tt.env)
		if err != nil {
			t.Fatal(err)
		}
		if c.LoginURL != tt.login || c.BaseURL(Graph) != tt.graph || c.BaseURL(XDR) != tt.xdr || c.BaseURL(MDE) != tt.mde || c.Scope(Graph) != tt.scope {
			t.Errorf("%q: %+v", tt.env, c)
		}
	}
	if _, err := CloudFor("china"); err == nil || !strings.Contains(err.Error(), "commercial, gcc, gcc_high, dod") {
		t.Errorf("err = %v", err)
	}
}
