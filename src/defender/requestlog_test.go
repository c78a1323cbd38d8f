package defender

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// logRecorder keeps the records logged through it, attributes as text.
type logRecorder struct {
	mu      sync.Mutex
	level   slog.Level
	records []map[string]string
}

func (l *logRecorder) Enabled(_ context.Context, lv slog.Level) bool { return lv >= l.level }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"level": r.Level.String(), "msg": r.Message}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	l.mu.Lock()
	l.records = append(l.records, m)
	l.mu.Unlock()
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// requests returns the DEBUG msg="request" records.
func (l *logRecorder) requests() []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, m := range l.records {
		if m["level"] == "DEBUG" && m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

func newLoggingClient(t *testing.T, base string, hc *http.Client, level slog.Level) (*Client, *logRecorder) {
	t.Helper()
	rec := &logRecorder{level: level}
	c, err := NewClient(ClientOptions{BaseURL: base, Tokens: &staticTokens{}, HTTPClient: hc,
		Clock: newFakeClock(), Logger: slog.New(rec), Retry: RetryPolicy{MaxAttempts: 2}})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func TestClientLogsEveryRequestAtDebug(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"code":"TooManyRequests","message":"slow down"}}`)
		case 2:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"code":"InvalidAuthenticationToken","message":"expired"}}`)
		default:
			fmt.Fprint(w, `{"value":[]}`)
		}
	}))
	defer srv.Close()
	c, rec := newLoggingClient(t, srv.URL, srv.Client(), slog.LevelDebug)
	req := Request{Path: "/v1.0/security/incidents", Query: url.Values{"$top": {"5"}}}
	if err := c.DoJSON(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	got := rec.requests()
	wantURL := srv.URL + "/v1.0/security/incidents?$top=5"
	want := []map[string]string{
		{"status": "429", "attempt": "1"},
		{"status": "401", "attempt": "2"},
		{"status": "200", "attempt": "3"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d request lines, want %d: %v", len(got), len(want), rec.records)
	}
	for i, w := range want {
		g := got[i]
		if g["method"] != "GET" || g["url"] != wantURL || g["status"] != w["status"] || g["attempt"] != w["attempt"] || g["duration_ms"] != "0" {
			t.Errorf("line %d: %v, want method=GET url=%s status=%s attempt=%s duration_ms=0", i, g, wantURL, w["status"], w["attempt"])
		}
		if _, ok := g["error"]; ok {
			t.Errorf("line %d has an error: %v", i, g)
		}
	}
}

func TestClientRequestLogNetworkError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	l.Close()
	c, rec := newLoggingClient(t, base, nil, slog.LevelDebug)
	if err := c.DoJSON(context.Background(), Request{Method: http.MethodPatch, Path: "/api/alerts/1", Body: []byte(`{}`)}, nil); err == nil {
		t.Fatal("no error from a closed port")
	}
	got := rec.requests()
	if len(got) != 2 {
		t.Fatalf("%d request lines, want 2 (one per attempt): %v", len(got), rec.records)
	}
	for i, g := range got {
		if g["method"] != "PATCH" || g["url"] != base+"/api/alerts/1" || g["status"] != "0" || g["attempt"] != fmt.Sprint(i+1) ||
			!strings.Contains(g["error"], "connection refused") || strings.Contains(g["error"], base) {
			t.Errorf("line %d: %v", i, g)
		}
	}
}

func TestClientRequestLogOnlyAtDebug(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"value":[]}`)
	}))
	defer srv.Close()
	c, rec := newLoggingClient(t, srv.URL, srv.Client(), slog.LevelInfo)
	if err := c.DoJSON(context.Background(), Request{Path: "/x"}, nil); err != nil {
		t.Fatal(err)
	}
	if len(rec.records) != 0 {
		t.Errorf("records at INFO: %v", rec.records)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"NoSecrets", "https://graph.microsoft.com/v1.0/security/incidents?$top=5&$filter=x", "https://graph.microsoft.com/v1.0/security/incidents?$top=5&$filter=x"},
		{"ClientSecret", "https://h/x?client_id=a&client_secret=s3cr3t", "https://h/x?client_id=a&client_secret=xxxxx"},
		{"ClientAssertion", "https://h/x?client_assertion=eyJ.abc.def&$top=1", "https://h/x?$top=1&client_assertion=xxxxx"},
		{"CaseInsensitive", "https://h/x?Client_Secret=s3cr3t", "https://h/x?Client_Secret=xxxxx"},
		{"Both", "https://h/x?client_secret=a&client_assertion=b", "https://h/x?client_assertion=xxxxx&client_secret=xxxxx"},
		{"UserInfoPassword", "https://svc:pa55@h/x", "https://svc:xxxxx@h/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := redactURL(u); got != tt.want {
				t.Errorf("redactURL(%s) = %s, want %s", tt.in, got, tt.want)
			}
			if got := redactURL(u); strings.Contains(got, "s3cr3t") || strings.Contains(got, "pa55") || strings.Contains(got, "eyJ") {
				t.Errorf("secret left in %s", got)
			}
		})
	}
}
