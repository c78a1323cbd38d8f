package simulator

import (
	"crypto/x509"
	"encoding/json"
	"slices"
	"strconv"
	"time"
)

type faultKind int

const (
	faultThrottle faultKind = iota + 1
	faultFail
	faultDrop
	faultDelay
)

// fault is an armed failure for the next n calls.
type fault struct {
	kind       faultKind
	n          int
	retryAfter time.Duration // throttle: Retry-After; delay: how long
	httpDate   bool
	// legacyQuota: throttle with the legacy APIs' documented body and no
	// Retry-After; retryAfter is the quota window.
	legacyQuota bool
	status      int
	// midBody: a drop that first sends half of the real answer's body, so
	// the client has decoded some objects of the page when the connection
	// breaks.
	midBody bool
}

type client struct {
	id, secret    string
	secretExpired bool
	roles         []string
	certs         []*x509.Certificate
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
	rateN         int           // SetRateLimit: calls per window, 0 = off
	ratePer       time.Duration // window length
	rateStart     time.Time     // current window start (real clock)
	rateCount     int           // calls in the current window
	stats         Stats
	requests      []Request
	d             *data
	colls         map[string]*collection
}

func newServer(opts Options) *Server {
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	s := &Server{opts: opts, clock: clock}
	s.TenantID = "8f3c2a1e-5b7d-4e2a-9c61-0d4b7e9a1f35"
	s.TenantDomain = "contoso.onmicrosoft.com"
	s.ClientID = "3b7e4f2a-91c8-4d5e-a0b6-2c9f8e1d7a43"
	s.ClientSecret = "sim~Q8x.2vK_7pLr-9sWmZ4tYb3nC6dF1gH5jE0"
	s.st = &state{
		clients:       map[string]*client{},
		tokens:        map[string]*token{},
		tokenLifetime: opts.TokenLifetime,
		stats:         Stats{Requests: map[string]int{}, Status: map[int]int{}},
	}
	if s.st.tokenLifetime <= 0 {
		s.st.tokenLifetime = 3599 * time.Second
	}
	roles := opts.Roles
	if roles == nil {
		roles = AllRoles()
	}
	s.st.addClient(s.ClientID, s.ClientSecret, roles)
	per := opts.AlertsPerIncident
	if per == 0 {
		per = 2
	}
	if per < 0 {
		per = 0
	}
	s.st.d = &data{seed: opts.Seed, tenant: s.TenantID, alertsPer: per, alertByID: map[string]int32{}}
	now := opts.Now
	if now.IsZero() {
		now = clock().Truncate(time.Second)
	}
	span := opts.Span
	if span <= 0 {
		span = 7 * 24 * time.Hour
	}
	s.st.d.generate(opts.Incidents, opts.SameTimeBatch, now, span)
	s.st.colls = s.collections()
	return s
}

func (st *state) addClient(id, secret string, roles []string) {
	st.clients[id] = &client{id: id, secret: secret, roles: append([]string(nil), roles...)}
}

// takeFault consumes one call of the first armed fault in *q.
func (st *state) takeFault(q *[]fault) (fault, bool) {
	for len(*q) > 0 {
		f := &(*q)[0]
		if f.n <= 0 {
			*q = (*q)[1:]
			continue
		}
		f.n--
		out := *f
		if f.n == 0 {
			*q = (*q)[1:]
		}
		return out, true
	}
	return fault{}, false
}

func (st *state) findIncident(id string) (int32, bool) {
	num, err := strconv.ParseInt(id, 10, 64)
	idx := num - incidentIDBase
	if err != nil || idx < 0 || idx >= int64(len(st.d.incidents)) {
		return 0, false
	}
	return int32(idx), true
}

func (st *state) findAlert(id string) (int32, bool) {
	i, ok := st.d.alertByID[id]
	return i, ok
}

func (st *state) addIncident(now time.Time) string {
	d := st.d
	t := d.bump(now, 0)
	i := d.appendIncident(t, t, true)
	inc := &d.incidents[i]
	// A new incident is active and untriaged.
	inc.status, inc.assignedTo, inc.class, inc.determ = incActive, "", classUnknown, detUnknown
	inc.comments, inc.resolvingComment, inc.lastModifiedBy = nil, "", ""
	for _, ai := range inc.alerts {
		a := &d.alerts[ai]
		a.status, a.assignedTo, a.class, a.determ, a.resolved = alertNew, "", classUnknown, detUnknown, 0
	}
	d.incByCreated = append(d.incByCreated, i)
	d.incByUpd = slices.Insert(d.incByUpd, searchIndex(d.incByUpd, t, i, func(e int32) int64 { return d.incidents[e].updated }), i)
	for _, ai := range d.incidents[i].alerts {
		d.alertByCreated = append(d.alertByCreated, ai)
		d.alertByUpd = slices.Insert(d.alertByUpd, searchIndex(d.alertByUpd, t, ai, func(e int32) int64 { return d.alerts[e].updated }), ai)
	}
	return strconv.FormatInt(d.incidents[i].num, 10)
}

// touchIncident bumps incident i's lastUpdateDateTime.
func (st *state) touchIncident(i int32, now time.Time) int64 {
	t := st.d.bump(now, st.d.incidents[i].updated)
	st.d.setIncidentUpdated(i, t)
	return t
}

// touchAlert bumps alert i and its incident.
func (st *state) touchAlert(i int32, now time.Time) int64 {
	t := st.d.bump(now, st.d.alerts[i].updated)
	st.d.setAlertUpdated(i, t)
	inc := st.d.alerts[i].inc
	if st.d.incidents[inc].updated < t {
		st.d.setIncidentUpdated(inc, t)
	}
	return t
}

func (st *state) updateIncident(id string, now time.Time) (time.Time, error) {
	i, ok := st.findIncident(id)
	if !ok {
		return time.Time{}, ErrNotFound
	}
	inc := &st.d.incidents[i]
	inc.rev++
	t := st.touchIncident(i, now)
	analyst := analysts[int(inc.num+int64(inc.rev))%len(analysts)]
	switch inc.rev % 3 {
	case 1:
		if inc.status == incActive {
			inc.status = incInProgress
		}
		inc.assignedTo = analyst
	case 2:
		inc.comments = append(inc.comments, comment{text: "Update " + strconv.Itoa(int(inc.rev)) + ": evidence reviewed.", by: analyst, at: t})
	default:
		if inc.status != incRedirected {
			inc.status = incResolved
			inc.class, inc.determ = classTruePositive, detMalware
			inc.resolvingComment = "Resolved by the simulator."
		}
	}
	inc.lastModifiedBy = analyst
	return time.Unix(0, t).UTC(), nil
}

func (st *state) updateAlert(id string, now time.Time) (time.Time, error) {
	i, ok := st.findAlert(id)
	if !ok {
		return time.Time{}, ErrNotFound
	}
	a := &st.d.alerts[i]
	t := st.touchAlert(i, now)
	switch a.status {
	case alertNew:
		a.status = alertInProgress
		a.assignedTo = analysts[int(a.gen)%len(analysts)]
	case alertInProgress:
		a.status, a.resolved = alertResolved, t
		a.class, a.determ = classTruePositive, detMalware
	default:
		a.comments = append(a.comments, comment{text: "Reviewed again.", by: analysts[0], at: t})
	}
	return time.Unix(0, t).UTC(), nil
}

func (st *state) incidentJSON(id string) ([]byte, error) {
	i, ok := st.findIncident(id)
	if !ok {
		return nil, ErrNotFound
	}
	return marshal(st.d.renderIncident(i, true, st.alertsJSON(i, true)))
}

func (st *state) alertsJSON(i int32, includeUnknown bool) json.RawMessage {
	inc := &st.d.incidents[i]
	out := make([]graphAlert, 0, len(inc.alerts))
	for _, ai := range inc.alerts {
		out = append(out, st.d.renderAlert(ai, includeUnknown))
	}
	b, _ := marshal(out)
	return b
}

func (st *state) alertJSON(id string) ([]byte, error) {
	i, ok := st.findAlert(id)
	if !ok {
		return nil, ErrNotFound
	}
	return marshal(st.d.renderAlert(i, true))
}

func (st *state) incidentIDs() []string {
	out := make([]string, len(st.d.incidents))
	for i := range st.d.incidents {
		out[i] = strconv.FormatInt(st.d.incidents[i].num, 10)
	}
	return out
}

func (st *state) alertIDs() []string {
	out := make([]string, 0, len(st.d.alerts))
	for _, i := range st.d.alertByCreated {
		out = append(out, st.d.alerts[i].id)
	}
	return out
}

func (st *state) totals() Totals {
	t := Totals{Incidents: len(st.d.incidents), Alerts: len(st.d.alerts)}
	for i := range st.d.alerts {
		if scenarios[st.d.alerts[i].scen].service == svcEndpoint {
			t.EndpointAlerts++
		}
	}
	return t
}

// rateLimited counts one API call and returns how long to wait when it is
// over the limit.
func (st *state) rateLimited(now time.Time) (time.Duration, bool) {
	if st.rateN <= 0 || st.ratePer <= 0 {
		return 0, false
	}
	if st.rateStart.IsZero() || now.Sub(st.rateStart) >= st.ratePer {
		st.rateStart, st.rateCount = now, 0
	}
	if st.rateCount >= st.rateN {
		return st.rateStart.Add(st.ratePer).Sub(now), true
	}
	st.rateCount++
	return 0, false
}
