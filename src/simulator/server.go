package simulator

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// PagingMode selects what the $skiptoken of an @odata.nextLink encodes.
type PagingMode int

const (
	// PagingKeyset (the zero value) encodes the sort key of the last object
	// returned: objects updated during paging reappear later, none is skipped.
	PagingKeyset PagingMode = iota
	// PagingOffset encodes a plain offset, as a $skip-based server would: an
	// object that moves while a client pages shifts the others and one may be
	// skipped in that pass.
	PagingOffset
)

// Application roles (Entra ID app permissions) the simulated APIs check.
const (
	RoleSecurityIncidentRead      = "SecurityIncident.Read.All"
	RoleSecurityIncidentReadWrite = "SecurityIncident.ReadWrite.All"
	RoleSecurityAlertRead         = "SecurityAlert.Read.All"
	RoleSecurityAlertReadWrite    = "SecurityAlert.ReadWrite.All"
	RoleIncidentRead              = "Incident.Read.All"      // legacy /api/incidents
	RoleIncidentReadWrite         = "Incident.ReadWrite.All" // legacy /api/incidents
	RoleAlertRead                 = "Alert.Read.All"         // legacy /api/alerts
	RoleAlertReadWrite            = "Alert.ReadWrite.All"    // legacy /api/alerts
)

// AllRoles lists every role above; the default client has all of them.
func AllRoles() []string {
	return []string{
		RoleSecurityIncidentRead, RoleSecurityIncidentReadWrite,
		RoleSecurityAlertRead, RoleSecurityAlertReadWrite,
		RoleIncidentRead, RoleIncidentReadWrite,
		RoleAlertRead, RoleAlertReadWrite,
	}
}

// Options configures a Server. The zero value is a server with no incidents.
type Options struct {
	// Incidents is the number of incidents generated at start.
	Incidents int
	// AlertsPerIncident is the number of alerts of each generated incident
	// (redirected incidents have none). Zero means 2.
	AlertsPerIncident int
	// Seed makes the data deterministic: same Seed and options, same bytes.
	Seed uint64
	// Now is the newest generated lastUpdateDateTime. Zero means Clock()
	// truncated to the second at New.
	Now time.Time
	// Span is how far back generated lastUpdateDateTimes go before Now.
	// Zero means 7 days.
	Span time.Duration
	// SameTimeBatch is how many consecutive incidents share one
	// lastUpdateDateTime (their alerts share it too). Zero means 1.
	SameTimeBatch int
	// Clock is the current time, used for token expiry, updates and
	// comments. Nil means time.Now.
	Clock func() time.Time
	// TokenLifetime is the expires_in of issued tokens. Zero means 3599 s.
	TokenLifetime time.Duration
	// Roles are the application roles of the default client (ClientID).
	// Nil means AllRoles; an empty non-nil slice means none (every API
	// call is 403, as for an app without admin consent).
	Roles []string
	// Paging selects the nextLink skiptoken encoding (default keyset).
	Paging PagingMode
	// LegacyAlertsNextLink makes GET /api/alerts return @odata.nextLink when
	// a page is full. Microsoft's API does not (the zero value).
	LegacyAlertsNextLink bool
	// LegacyIgnoresOrderBy makes GET /api/incidents and GET /api/alerts
	// ignore $orderby and return the newest last update first, as the
	// real legacy APIs may (Microsoft documents only $filter, $top and
	// $skip for them). The zero value honours $orderby.
	LegacyIgnoresOrderBy bool
}

// Stats counts what a Server answered since New or ResetStats.
type Stats struct {
	// Requests counts API requests by "METHOD /path" with ids replaced by
	// "{id}", e.g. "GET /v1.0/security/incidents", "PATCH /v1.0/security/incidents/{id}".
	Requests map[string]int
	// TokenRequests counts token endpoint calls; TokensIssued the successful ones.
	TokenRequests, TokensIssued int
	// Status counts API and token responses by HTTP status code.
	Status map[int]int
	// Throttled, Failed and Dropped count injected 429s, 5xx and dropped connections.
	Throttled, Failed, Dropped int
	// Objects counts incidents and alerts written in API responses (an
	// expanded alert counts once).
	Objects int
}

// APICalls is the total of Requests (every call except the token endpoint).
func (st Stats) APICalls() int {
	n := 0
	for _, v := range st.Requests {
		n += v
	}
	return n
}

// Request records one request the server received.
type Request struct {
	Time     time.Time
	Method   string
	Path     string // URL path
	RawQuery string // undecoded query
	Status   int
	Header   http.Header // a copy of the request headers, Authorization removed
}

// Totals counts the data currently held.
type Totals struct {
	Incidents      int // incidents, including redirected ones
	Alerts         int // alerts_v2 alerts
	EndpointAlerts int // alerts served by the legacy /api/alerts (Defender for Endpoint ones)
}

// Server is a running simulator. Create it with New or NewTLS and Close it.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234", without a slash.
	URL string
	// TenantID is the valid tenant GUID; TenantDomain is accepted too.
	TenantID, TenantDomain string
	// ClientID and ClientSecret are valid credentials with AllRoles.
	ClientID, ClientSecret string

	ts    *httptest.Server
	opts  Options
	clock func() time.Time

	mu sync.Mutex
	st *state
}

// New starts an http server on 127.0.0.1 with the generated data.
func New(opts Options) *Server {
	s := newServer(opts)
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.ts.URL
	return s
}

// Listen starts an http server on addr, which must be a loopback address
// ("127.0.0.1:8443", "[::1]:0", "localhost:9000"), for a simulator that
// outlives a test, such as one a local Splunk polls.
func Listen(addr string, opts Options) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("simulator: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("simulator: listen address %q is not a loopback address", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	s := newServer(opts)
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	_ = s.ts.Listener.Close()
	s.ts.Listener = l
	s.ts.Start()
	s.URL = s.ts.URL
	return s, nil
}

// NewTLS starts an https server on 127.0.0.1 with a self-signed certificate
// trusted by Client and CertPool.
func NewTLS(opts Options) *Server {
	s := newServer(opts)
	s.ts = httptest.NewTLSServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.ts.URL
	return s
}

// Close shuts the server down, blocking until outstanding requests finish.
func (s *Server) Close() { s.ts.Close() }

// Client returns an *http.Client that trusts the server's certificate (for
// NewTLS) and closes its idle connections when the server closes.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Certificate returns the https certificate, or nil for an http server.
func (s *Server) Certificate() *x509.Certificate {
	if s.ts.TLS == nil {
		return nil
	}
	return s.ts.Certificate()
}

// CertPool returns a pool holding the https certificate (nil for http),
// for a client that builds its own transport.
func (s *Server) CertPool() *x509.CertPool {
	c := s.Certificate()
	if c == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

// CertificatePEM returns the https certificate as PEM (for a ca_file
// parameter), or nil for an http server.
func (s *Server) CertificatePEM() []byte {
	c := s.Certificate()
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// TLSConfig returns a client TLS configuration trusting the server (nil for http).
func (s *Server) TLSConfig() *tls.Config {
	p := s.CertPool()
	if p == nil {
		return nil
	}
	return &tls.Config{RootCAs: p, MinVersion: tls.VersionTLS12}
}

// TokenURL is the token endpoint for TenantID.
func (s *Server) TokenURL() string { return s.URL + "/" + s.TenantID + "/oauth2/v2.0/token" }

// Scope is a scope the token endpoint accepts for every simulated API.
func (s *Server) Scope() string { return s.URL + "/.default" }
