package simulator

import (
	"crypto/x509"
	"net/http"
	"time"
)

type faultKind int

const (
	faultThrottle faultKind = iota + 1
	faultFail
	faultDrop
)

// fault is an armed failure for the next n calls.
type fault struct {
	kind       faultKind
	n          int
	retryAfter time.Duration
	httpDate   bool
	status     int
}

type client struct {
	id, secret, name string
	roles            []string
	certs            []*x509.Certificate
}

type token struct {
	client   string
	roles    []string
	audience string
	expires  time.Time
	revoked  bool
}

// state is everything the server holds; guarded by Server.mu.
type state struct {
	clients       map[string]*client
	tokens        map[string]*token
	tokenLifetime time.Duration
	faults        []fault
	tokenFaults   []fault
	failExpand    int
	stats         Stats
	requests      []Request
}

func newServer(opts Options) *Server {
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	s := &Server{opts: opts, clock: clock}
	s.st = &state{
		clients:       map[string]*client{},
		tokens:        map[string]*token{},
		tokenLifetime: opts.TokenLifetime,
		stats:         Stats{Requests: map[string]int{}, Status: map[int]int{}},
	}
	if s.st.tokenLifetime == 0 {
		s.st.tokenLifetime = 3599 * time.Second
	}
	s.TenantID = "8f3c2a1e-5b7d-4e2a-9c61-0d4b7e9a1f35"
	s.TenantDomain = "contoso.onmicrosoft.com"
	s.ClientID = "3b7e4f2a-91c8-4d5e-a0b6-2c9f8e1d7a43"
	s.ClientSecret = "sim~Q8x.2vK_7pLr-9sWmZ4tYb3nC6dF1gH5jE0"
	s.st.addClient(s.ClientID, s.ClientSecret, AllRoles())
	return s
}

func (st *state) addClient(id, secret string, roles []string) {
	st.clients[id] = &client{id: id, secret: secret, name: "Splunk TA simulator app", roles: append([]string(nil), roles...)}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented yet", http.StatusNotImplemented)
}

func (st *state) addIncident(now time.Time) string { return "" }
func (st *state) updateIncident(id string, now time.Time) (time.Time, error) {
	return time.Time{}, ErrNotFound
}
func (st *state) updateAlert(id string, now time.Time) (time.Time, error) {
	return time.Time{}, ErrNotFound
}
func (st *state) incidentJSON(id string) ([]byte, error) { return nil, ErrNotFound }
func (st *state) alertJSON(id string) ([]byte, error)    { return nil, ErrNotFound }
func (st *state) incidentIDs() []string                  { return nil }
func (st *state) alertIDs() []string                     { return nil }
func (st *state) totals() Totals                         { return Totals{} }

func generateClientCertificate(subject string, now time.Time) ([]byte, *x509.Certificate, error) {
	return nil, nil, nil
}
