package simulator

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ErrNotFound is returned by UpdateIncident, UpdateAlert, Incident and Alert
// for an unknown id.
var ErrNotFound = errors.New("simulator: not found")

// AddClient registers another application with its secret and roles.
// An empty secret makes a certificate-only client.
func (s *Server) AddClient(clientID, secret string, roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.addClient(clientID, secret, roles)
}

// SetRoles replaces the application roles of clientID. Tokens issued
// afterwards carry the new roles; tokens already issued keep theirs, as in
// Entra ID.
func (s *Server) SetRoles(clientID string, roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.st.clients[clientID]; c != nil {
		c.roles = append([]string(nil), roles...)
	}
}

// ExpireSecret marks clientID's secret as expired: token requests with it
// get 401 invalid_client AADSTS7000222, as after the secret's end date.
func (s *Server) ExpireSecret(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.st.clients[clientID]; c != nil {
		c.secretExpired = true
	}
}

// AddClientCertificate registers cert as a credential of clientID: a
// client_assertion signed by its key (RS256 or PS256, x5t or x5t#S256 header)
// is accepted.
func (s *Server) AddClientCertificate(clientID string, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.st.clients[clientID]; c != nil {
		c.certs = append(c.certs, cert)
	}
}

// NewClientCertificate generates an RSA key and a self-signed certificate,
// registers the certificate for ClientID and returns one PEM holding the
// CERTIFICATE and the PRIVATE KEY (PKCS #8), as client_certificate expects.
func (s *Server) NewClientCertificate() ([]byte, error) {
	pemBytes, cert, err := generateClientCertificate("CN=simulator-client", s.clock())
	if err != nil {
		return nil, err
	}
	s.AddClientCertificate(s.ClientID, cert)
	return pemBytes, nil
}

// SetTokenLifetime sets expires_in for tokens issued from now on; the
// tokens really expire after it.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.tokenLifetime = d
}

// ExpireTokens revokes every token issued so far: the next API call with
// one gets 401 InvalidAuthenticationToken ("Lifetime validation failed, the
// token is expired.").
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.st.tokens {
		t.revoked = true
	}
}

// Throttle makes the next n API calls answer 429 Too Many Requests with
// Retry-After in whole seconds (at least 1) and a TooManyRequests body.
func (s *Server) Throttle(n int, retryAfter time.Duration) {
	s.arm(fault{kind: faultThrottle, n: n, retryAfter: retryAfter})
}

// ThrottleHTTPDate is Throttle with Retry-After given as an HTTP date
// (now + retryAfter by the simulator's clock, rounded up to the second).
func (s *Server) ThrottleHTTPDate(n int, retryAfter time.Duration) {
	s.arm(fault{kind: faultThrottle, n: n, retryAfter: retryAfter, httpDate: true})
}

// ThrottleLegacyQuota makes the next n API calls answer 429 as Microsoft
// documents for the legacy APIs (api/incidents, api/alerts): no
// Retry-After header and exactly the body
//
//	{"code":"429","message":"API calls quota exceeded! maximum allowed 45 per 00:01:00"}
//
// where the quota window ("00:01:00" for one minute) is window as
// hh:mm:ss. It is meant for the legacy paths; a Graph path gets the same
// answer.
func (s *Server) ThrottleLegacyQuota(n int, window time.Duration) {
	s.arm(fault{kind: faultThrottle, n: n, retryAfter: window, legacyQuota: true})
}

// LegacyQuotaBody is the body ThrottleLegacyQuota sends for window.
func LegacyQuotaBody(window time.Duration) []byte {
	secs := int64((window + time.Second - 1) / time.Second)
	return fmt.Appendf(nil, `{"code":"429","message":"API calls quota exceeded! maximum allowed 45 per %02d:%02d:%02d"}`, secs/3600, secs/60%60, secs%60)
}

// FailNext makes the next n API calls answer status (e.g. 500, 502, 503,
// 504) with the matching Graph or legacy error body.
func (s *Server) FailNext(n int, status int) {
	s.arm(fault{kind: faultFail, n: n, status: status})
}

// FailExpand makes the next n incident list requests carrying
// $expand=alerts fail with 500 InternalServerError, the failure large
// tenants see; requests without $expand still work. n < 0 fails them
// until FailExpand(0).
func (s *Server) FailExpand(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.failExpand = n
}

// DropNext makes the next n API calls close the connection without an
// answer (the client sees a network error).
func (s *Server) DropNext(n int) {
	s.arm(fault{kind: faultDrop, n: n})
}

// DropMidBodyNext makes the next n list calls send half of their real body
// and then close the connection: the client has read some of the page's
// objects, and reading the page again replays them.
func (s *Server) DropMidBodyNext(n int) {
	s.arm(fault{kind: faultDrop, n: n, midBody: true})
}

// DelayNext makes the next n API calls wait d before they are answered
// normally (a slow service, for client timeouts); a client that gives up
// first just sees its own timeout.
func (s *Server) DelayNext(n int, d time.Duration) {
	s.arm(fault{kind: faultDelay, n: n, retryAfter: d})
}

// FailTokens makes the next n token requests answer status with an AADSTS
// body (500/503: AADSTS50000-style service error; 429: AADSTS50196-style throttling).
func (s *Server) FailTokens(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.tokenFaults = append(s.st.tokenFaults, fault{kind: faultFail, n: n, status: status})
}

// SetRateLimit makes the server throttle on its own, as Microsoft's APIs
// do: at most n API calls per window (per, e.g. time.Minute; by the real
// clock), then 429 with Retry-After until the window ends. n <= 0 turns it
// off (the default). Token requests are not limited.
func (s *Server) SetRateLimit(n int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.rateN, s.st.ratePer = n, per
	s.st.rateStart, s.st.rateCount = time.Time{}, 0
}

// ClearFaults disarms every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults = nil
	s.st.tokenFaults = nil
	s.st.failExpand = 0
}

func (s *Server) arm(f fault) {
	if f.n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults = append(s.st.faults, f)
}

// AddIncident adds a new active incident with AlertsPerIncident new alerts,
// created and updated now, and returns its id.
func (s *Server) AddIncident() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addIncident(s.clock())
}

// UpdateIncident changes incident id as an analyst would (status,
// assignment or a comment) and moves its lastUpdateDateTime after every
// existing one. It returns the new lastUpdateDateTime.
func (s *Server) UpdateIncident(id string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.updateIncident(id, s.clock())
}

// UpdateAlert changes alert id and moves its lastUpdateDateTime (and its
// incident's) after every existing one. It returns the new time.
func (s *Server) UpdateAlert(id string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.updateAlert(id, s.clock())
}

// Incident returns incident id as Graph renders it (with its alerts, as
// $expand=alerts would, and every enum member).
func (s *Server) Incident(id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.incidentJSON(id)
}

// Alert returns alerts_v2 alert id as Graph renders it.
func (s *Server) Alert(id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.alertJSON(id)
}

// IncidentIDs returns every incident id, oldest created first.
func (s *Server) IncidentIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.incidentIDs()
}

// AlertIDs returns every alerts_v2 id, oldest created first.
func (s *Server) AlertIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.alertIDs()
}

// Totals counts the data currently held.
func (s *Server) Totals() Totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.totals()
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.st.stats
	out.Requests = make(map[string]int, len(s.st.stats.Requests))
	for k, v := range s.st.stats.Requests {
		out.Requests[k] = v
	}
	out.Status = make(map[int]int, len(s.st.stats.Status))
	for k, v := range s.st.stats.Status {
		out.Status[k] = v
	}
	return out
}

// ResetStats zeroes the counters and forgets recorded requests.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.stats = Stats{Requests: map[string]int{}, Status: map[int]int{}}
	s.st.requests = s.st.requests[:0]
}

// Requests returns the most recent requests (up to 4096), oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.st.requests...)
}

func (s *Server) record(r *http.Request, status int) {
	h := r.Header.Clone()
	h.Del("Authorization")
	s.st.stats.Status[status]++
	if len(s.st.requests) >= maxRequests {
		copy(s.st.requests, s.st.requests[1:])
		s.st.requests = s.st.requests[:maxRequests-1]
	}
	s.st.requests = append(s.st.requests, Request{
		Time: s.clock(), Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Status: status, Header: h,
	})
}

const maxRequests = 4096

// ObjectVersion is the identity and current version of one object.
type ObjectVersion struct {
	ID         string
	IncidentID string    // an alert's incident; an incident's own id
	Updated    time.Time // lastUpdateDateTime
	Endpoint   bool      // a Defender for Endpoint alert (served by the legacy /api/alerts too)
}

// Snapshot lists every incident and alert with its current
// lastUpdateDateTime, oldest created first: what a complete, duplicate-free
// collection must hold.
type Snapshot struct {
	Incidents, Alerts []ObjectVersion
}

// Snapshot returns the current versions of all objects.
func (s *Server) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.st.d
	var out Snapshot
	out.Incidents = make([]ObjectVersion, 0, len(d.incidents))
	for i := range d.incidents {
		id := strconv.FormatInt(d.incidents[i].num, 10)
		out.Incidents = append(out.Incidents, ObjectVersion{ID: id, IncidentID: id, Updated: time.Unix(0, d.incidents[i].updated).UTC()})
	}
	out.Alerts = make([]ObjectVersion, 0, len(d.alerts))
	for _, i := range d.alertByCreated {
		a := &d.alerts[i]
		out.Alerts = append(out.Alerts, ObjectVersion{ID: a.id, IncidentID: strconv.FormatInt(d.incidents[a.inc].num, 10),
			Updated: time.Unix(0, a.updated).UTC(), Endpoint: scenarios[a.scen].service == svcEndpoint})
	}
	return out
}
