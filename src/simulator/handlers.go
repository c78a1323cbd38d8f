package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const maxBody = 1 << 20

func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, maxBody))
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// dropConnection starts a 200 answer and closes the connection in the
// middle of its body, so the client sees an unexpected EOF (a failure an
// HTTP client cannot silently retry).
func dropConnection(w http.ResponseWriter) {
	if sw, ok := w.(*statusWriter); ok {
		w = sw.ResponseWriter
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, buf, err := hj.Hijack(); err == nil {
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"value\":[{\"id\":")
			_ = buf.Flush()
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// retryAfterValue is the Retry-After header of a throttle fault at the
// simulator's time now. An HTTP date has whole seconds: it is rounded up,
// so that it is at least f.retryAfter ahead of now.
func retryAfterValue(f fault, now time.Time) string {
	if f.httpDate {
		at := now.Add(f.retryAfter)
		if t := at.Truncate(time.Second); !t.Equal(at) {
			at = t.Add(time.Second)
		}
		return at.UTC().Format(http.TimeFormat)
	}
	secs := int((f.retryAfter + time.Second - 1) / time.Second)
	return strconv.Itoa(max(secs, 1))
}

// route is a matched API path.
type route struct {
	key    string // stats key, e.g. "GET /v1.0/security/incidents/{id}"
	coll   string // collection name
	id     string
	sub    string // "comments" or ""
	family string // token audience family
	flavor apiFlavor
}

func matchRoute(method, path string) (route, bool) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var rt route
	switch {
	case len(parts) >= 3 && (parts[0] == "v1.0" || parts[0] == "beta") && parts[1] == "security":
		rt.family, rt.flavor = audGraph, flavorGraph
		switch parts[2] {
		case "incidents":
			rt.coll = "graphIncidents"
		case "alerts_v2":
			rt.coll = "graphAlerts"
		default:
			return rt, false
		}
		rest := parts[3:]
		base := "/" + parts[0] + "/security/" + parts[2]
		switch {
		case len(rest) == 0:
			rt.key = method + " " + base
		case len(rest) == 1:
			rt.id, rt.key = rest[0], method+" "+base+"/{id}"
		case len(rest) == 2 && rest[1] == "comments":
			rt.id, rt.sub, rt.key = rest[0], "comments", method+" "+base+"/{id}/comments"
		default:
			return rt, false
		}
	case len(parts) >= 2 && parts[0] == "api" && (parts[1] == "incidents" || parts[1] == "alerts"):
		rt.family, rt.flavor = audLegacy, flavorLegacy
		rt.coll = "legacyIncidents"
		if parts[1] == "alerts" {
			rt.coll = "mdeAlerts"
		}
		base := "/api/" + parts[1]
		switch len(parts) {
		case 2:
			rt.key = method + " " + base
		case 3:
			rt.id, rt.key = parts[2], method+" "+base+"/{id}"
		default:
			return rt, false
		}
	default:
		return rt, false
	}
	return rt, true
}

// requiredRoles are the roles an operation accepts (any one suffices).
func requiredRoles(rt route, method string) []string {
	write := method != http.MethodGet && method != http.MethodHead
	switch rt.coll {
	case "graphIncidents":
		if write {
			return []string{RoleSecurityIncidentReadWrite}
		}
		return []string{RoleSecurityIncidentRead, RoleSecurityIncidentReadWrite}
	case "graphAlerts":
		if write {
			return []string{RoleSecurityAlertReadWrite}
		}
		return []string{RoleSecurityAlertRead, RoleSecurityAlertReadWrite}
	case "legacyIncidents":
		if write {
			return []string{RoleIncidentReadWrite}
		}
		return []string{RoleIncidentRead, RoleIncidentReadWrite}
	default:
		if write {
			return []string{RoleAlertReadWrite}
		}
		return []string{RoleAlertRead, RoleAlertReadWrite}
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	reqID := newGUID()
	sw.Header().Set("request-id", reqID)
	if c := r.Header.Get("client-request-id"); c != "" {
		sw.Header().Set("client-request-id", c)
	} else {
		sw.Header().Set("client-request-id", reqID)
	}
	sw.Header().Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Simulator","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"SIM"}}`)
	s.mu.Lock()
	locked := true
	defer func() {
		if !locked {
			s.mu.Lock()
		}
		if sw.status != 0 {
			s.record(r, sw.status)
		}
		s.mu.Unlock()
	}()
	unlock := func() { s.mu.Unlock(); locked = false }

	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token" {
		s.serveToken(sw, r, parts[0])
		return
	}
	rt, ok := matchRoute(r.Method, r.URL.Path)
	if !ok {
		writeAPIError(sw, r, flavorGraph, &apiError{status: http.StatusNotFound, code: "BadRequest",
			message: fmt.Sprintf("Resource not found for the segment '%s'.", parts[len(parts)-1])}, s.clock())
		return
	}
	s.st.stats.Requests[rt.key]++
	midBody := false
	f, ok := s.st.takeFault(&s.st.faults)
	if !ok {
		if wait, limited := s.st.rateLimited(time.Now()); limited {
			f, ok = fault{kind: faultThrottle, n: 1, retryAfter: wait}, true
		}
	}
	if ok && f.kind == faultDelay {
		unlock()
		t := time.NewTimer(f.retryAfter)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return // the deferred record relocks; nothing was written
		}
		s.mu.Lock()
		locked = true
		ok = false
	}
	if ok {
		switch f.kind {
		case faultDrop:
			if !f.midBody || r.Method != http.MethodGet {
				s.st.stats.Dropped++
				unlock()
				dropConnection(sw)
				return
			}
			midBody = true
		case faultThrottle:
			s.st.stats.Throttled++
			if f.legacyQuota {
				sw.Header().Set("Content-Type", "application/json; charset=utf-8")
				sw.WriteHeader(http.StatusTooManyRequests)
				_, _ = sw.Write(LegacyQuotaBody(f.retryAfter))
				return
			}
			sw.Header().Set("Retry-After", retryAfterValue(f, s.clock()))
			msg := "Too many requests, please try again later."
			if rt.flavor == flavorLegacy {
				secs := max(int((f.retryAfter+time.Second-1)/time.Second), 1)
				msg = fmt.Sprintf("API calls quota exceeded! Maximum allowed 50 per Minute. Next call available in %d seconds.", secs)
			}
			writeAPIError(sw, r, rt.flavor, &apiError{status: http.StatusTooManyRequests, code: "TooManyRequests", message: msg}, s.clock())
			return
		case faultFail:
			s.st.stats.Failed++
			writeAPIError(sw, r, rt.flavor, serverError(f.status), s.clock())
			return
		}
	}
	tok, aerr := s.authenticate(r, rt.family, requiredRoles(rt, r.Method))
	if aerr != nil {
		if aerr.status == http.StatusUnauthorized {
			sw.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
			if rt.flavor == flavorLegacy {
				aerr.code = "Unauthorized"
			}
		}
		writeAPIError(sw, r, rt.flavor, aerr, s.clock())
		return
	}
	c := s.st.colls[rt.coll]
	var body []byte
	var status int
	switch {
	case r.Method == http.MethodGet && rt.id == "":
		body, status, aerr = s.list(r, c)
	case r.Method == http.MethodGet && rt.sub == "":
		body, status, aerr = s.get(r, c, rt.id)
	case r.Method == http.MethodPatch && rt.sub == "" && rt.id != "":
		body, status, aerr = s.patch(r, c, rt.id, tok)
	case r.Method == http.MethodPost && rt.sub == "comments":
		body, status, aerr = s.postComment(r, c, rt.id, tok)
	default:
		sw.Header().Set("Allow", "GET, PATCH")
		aerr = &apiError{status: http.StatusMethodNotAllowed, code: "UnknownError", message: "The HTTP method '" + r.Method + "' is not allowed for this resource."}
	}
	if aerr != nil {
		writeAPIError(sw, r, rt.flavor, aerr, s.clock())
		return
	}
	if midBody && status == http.StatusOK {
		s.st.stats.Dropped++
		unlock()
		dropAfter(sw, body, len(body)/2)
		return
	}
	unlock()
	writeRaw(sw, status, body)
}

// dropAfter starts a 200 answer with the full Content-Length of body, sends
// its first n bytes and closes the connection.
func dropAfter(w http.ResponseWriter, body []byte, n int) {
	if sw, ok := w.(*statusWriter); ok {
		w = sw.ResponseWriter
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, buf, err := hj.Hijack(); err == nil {
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json; odata.metadata=minimal\r\nContent-Length: %d\r\n\r\n", len(body))
			_, _ = buf.Write(body[:n])
			_ = buf.Flush()
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func serverError(status int) *apiError {
	switch status {
	case 0, http.StatusInternalServerError:
		return &apiError{status: http.StatusInternalServerError, code: "InternalServerError", message: "An internal server error occurred. Please try again later."}
	case http.StatusBadGateway:
		return &apiError{status: status, code: "BadGateway", message: "The gateway received an invalid response from the upstream server."}
	case http.StatusServiceUnavailable:
		return &apiError{status: status, code: "ServiceUnavailable", message: "The service is temporarily unavailable. Please try again later."}
	case http.StatusGatewayTimeout:
		return &apiError{status: status, code: "GatewayTimeout", message: "The request timed out."}
	}
	return &apiError{status: status, code: strings.ReplaceAll(http.StatusText(status), " ", ""), message: http.StatusText(status)}
}

func includeUnknown(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "include-unknown-enum-members") {
				return true
			}
		}
	}
	return false
}

// renderObject marshals object i of c for a list or single response.
func (s *Server) renderObject(c *collection, i int32, q *query, unk bool) ([]byte, error) {
	d := s.st.d
	var v any
	switch {
	case c.flavor == flavorGraph && c.alerts:
		v = d.renderAlert(i, unk)
	case c.flavor == flavorGraph:
		var alerts json.RawMessage
		if q != nil && q.expand {
			alerts = s.st.alertsJSON(i, unk)
			s.st.stats.Objects += len(d.incidents[i].alerts)
		}
		v = d.renderIncident(i, unk, alerts)
	case c.alerts:
		v = d.renderMDEAlert(i, q != nil && q.expand)
	default:
		v = d.renderLegacyIncident(i)
	}
	s.st.stats.Objects++
	b, err := marshal(v)
	if err != nil || q == nil || len(q.selectKeys) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for _, k := range append(q.selectKeys, "@odata.type") {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return marshal(out)
}

func (s *Server) list(r *http.Request, c *collection) ([]byte, int, *apiError) {
	q, aerr := parseQuery(c, r.URL.RawQuery)
	if aerr != nil {
		return nil, 0, aerr
	}
	if c.flavor == flavorLegacy && s.opts.LegacyIgnoresOrderBy {
		q.orderBy, q.desc = "updated", true
	}
	if q.expand && c.flavor == flavorGraph && !c.alerts && s.st.failExpand != 0 {
		if s.st.failExpand > 0 {
			s.st.failExpand--
		}
		s.st.stats.Failed++
		return nil, 0, serverError(http.StatusInternalServerError)
	}
	mode := s.opts.Paging
	res := s.st.d.page(c, q, mode)
	unk := includeUnknown(r)
	base := requestBase(r)
	var buf bytes.Buffer
	per := 4 << 10
	if q.expand || c.alerts {
		per = 12 << 10
	}
	buf.Grow(len(res.items)*per + 1024)
	buf.WriteString(`{"@odata.context":`)
	ctx := base + "/v1.0/$metadata#" + c.context
	if c.flavor == flavorLegacy {
		ctx = base + "/api/$metadata#" + c.context
	} else if q.expand {
		ctx += "(alerts())"
	}
	writeString(&buf, ctx)
	if q.count {
		buf.WriteString(`,"@odata.count":`)
		buf.WriteString(strconv.Itoa(res.count))
	}
	next := ""
	if res.next != nil && c.nextLink {
		v := q.passthrough
		v.Set("$skiptoken", res.next.encode())
		next = base + c.path + "?" + encodeQuery(v)
		if c.flavor == flavorGraph && strings.HasPrefix(r.URL.Path, "/beta/") {
			next = base + strings.Replace(c.path, "/v1.0/", "/beta/", 1) + "?" + encodeQuery(v)
		}
	}
	if next != "" && c.flavor == flavorGraph { // Graph writes the link before the value
		buf.WriteString(`,"@odata.nextLink":`)
		writeString(&buf, next)
	}
	buf.WriteString(`,"value":[`)
	for k, i := range res.items {
		if k > 0 {
			buf.WriteByte(',')
		}
		b, err := s.renderObject(c, i, q, unk)
		if err != nil {
			return nil, 0, serverError(http.StatusInternalServerError)
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	if next != "" && c.flavor == flavorLegacy {
		buf.WriteString(`,"@odata.nextLink":`)
		writeString(&buf, next)
	}
	buf.WriteByte('}')
	return buf.Bytes(), http.StatusOK, nil
}

func writeString(buf *bytes.Buffer, s string) {
	b, _ := marshal(s)
	buf.Write(b)
}

// withContext splices "@odata.context" into a rendered object.
func withContext(ctx string, obj []byte) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"@odata.context":`)
	writeString(&buf, ctx)
	if len(obj) > 2 {
		buf.WriteByte(',')
		buf.Write(obj[1:])
	} else {
		buf.WriteByte('}')
	}
	return buf.Bytes()
}

func (s *Server) lookup(c *collection, id string) (int32, *apiError) {
	var i int32
	var ok bool
	if c.alerts {
		i, ok = s.st.findAlert(id)
		if ok && c.endpoint && scenarios[s.st.d.alerts[i].scen].service != svcEndpoint {
			ok = false
		}
	} else {
		i, ok = s.st.findIncident(id)
	}
	if ok {
		return i, nil
	}
	what := "Incident"
	if c.alerts {
		what = "Alert"
	}
	if c.flavor == flavorLegacy {
		return 0, &apiError{status: http.StatusNotFound, code: "ResourceNotFound", message: fmt.Sprintf("%s %s was not found", what, id)}
	}
	return 0, &apiError{status: http.StatusNotFound, code: "NotFound", message: fmt.Sprintf("%s with id '%s' was not found.", what, id)}
}

func (s *Server) get(r *http.Request, c *collection, id string) ([]byte, int, *apiError) {
	q, aerr := parseQuery(c, r.URL.RawQuery)
	if aerr != nil {
		return nil, 0, aerr
	}
	i, aerr := s.lookup(c, id)
	if aerr != nil {
		return nil, 0, aerr
	}
	if q.expand && c.flavor == flavorGraph && !c.alerts && s.st.failExpand != 0 {
		if s.st.failExpand > 0 {
			s.st.failExpand--
		}
		s.st.stats.Failed++
		return nil, 0, serverError(http.StatusInternalServerError)
	}
	b, err := s.renderObject(c, i, q, includeUnknown(r))
	if err != nil {
		return nil, 0, serverError(http.StatusInternalServerError)
	}
	ctx := requestBase(r) + "/v1.0/$metadata#" + c.context + "/$entity"
	if c.flavor == flavorLegacy {
		ctx = requestBase(r) + "/api/$metadata#" + c.context + "/$entity"
	}
	return withContext(ctx, b), http.StatusOK, nil
}

// patch is PATCH /v1.0/security/{incidents|alerts_v2}/{id} and the legacy
// PATCH /api/{incidents|alerts}/{id}.
func (s *Server) patch(r *http.Request, c *collection, id string, tok *token) ([]byte, int, *apiError) {
	i, aerr := s.lookup(c, id)
	if aerr != nil {
		return nil, 0, aerr
	}
	raw, err := readBody(r)
	if err != nil {
		return nil, 0, badRequest("Could not read the request body.")
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil || body == nil {
		return nil, 0, badRequest("Invalid JSON. The request body is not a JSON object.")
	}
	typeName := c.typeName
	allowed := []string{"status", "assignedTo", "classification", "determination"}
	statusTable, statusType := incidentStatuses, "microsoft.graph.security.incidentStatus"
	if c.alerts {
		statusTable, statusType = alertStatuses, "microsoft.graph.security.alertStatus"
	} else {
		allowed = append(allowed, "customTags")
	}
	if c.flavor == flavorLegacy {
		allowed = append(allowed, "comment")
		if !c.alerts {
			allowed = append(allowed, "tags")
		}
	}
	type change struct {
		status, class, determ *uint8
		assigned              *string
		tags                  []string
		tagsSet               bool
		comment               string
	}
	var ch change
	str := func(k string, v json.RawMessage) (string, *apiError) {
		var x *string
		if err := json.Unmarshal(v, &x); err != nil {
			return "", badRequest("Cannot convert a primitive value to the expected type 'Edm.String'. See the inner exception for more details. (property '%s')", k)
		}
		if x == nil {
			return "", nil
		}
		return *x, nil
	}
	enum := func(k string, v json.RawMessage, table []string, typ string) (*uint8, *apiError) {
		x, e := str(k, v)
		if e != nil {
			return nil, e
		}
		if idx, ok := lookupEnum(table, x); ok && table[idx] != "unknownFutureValue" {
			return &idx, nil
		}
		if c.flavor == flavorLegacy {
			return nil, badRequest("Invalid value '%s' for property '%s'.", x, k)
		}
		return nil, badRequest("Cannot convert the literal '%s' to the expected type '%s'.", x, typ)
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := body[k]
		if k == "@odata.type" {
			continue
		}
		if !slices.Contains(allowed, k) {
			return nil, 0, badRequest("The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", k, typeName)
		}
		switch k {
		case "status":
			ch.status, aerr = enum(k, v, statusTable, statusType)
		case "classification":
			ch.class, aerr = enum(k, v, classifications, "microsoft.graph.security.alertClassification")
		case "determination":
			ch.determ, aerr = enum(k, v, determinations, "microsoft.graph.security.alertDetermination")
		case "assignedTo":
			var a string
			a, aerr = str(k, v)
			ch.assigned = &a
		case "customTags", "tags":
			if err := json.Unmarshal(v, &ch.tags); err != nil {
				aerr = badRequest("Cannot convert a primitive value to the expected type 'Collection(Edm.String)'. (property '%s')", k)
			}
			ch.tagsSet = true
		case "comment":
			ch.comment, aerr = str(k, v)
		}
		if aerr != nil {
			return nil, 0, aerr
		}
	}
	if c.flavor == flavorLegacy && ch.determ != nil && (ch.class == nil || *ch.class != classTruePositive) && !c.alerts {
		return nil, 0, badRequest("Determination can be set only when classification is TruePositive.")
	}
	now := s.clock()
	by := "API-App:" + tok.client
	if c.alerts {
		a := &s.st.d.alerts[i]
		if ch.status != nil {
			a.status = *ch.status
			if a.status == alertResolved && a.resolved == 0 {
				a.resolved = now.UnixNano() / tick * tick
			}
		}
		if ch.class != nil {
			a.class = *ch.class
		}
		if ch.determ != nil {
			a.determ = *ch.determ
		}
		if ch.assigned != nil {
			a.assignedTo = *ch.assigned
		}
		t := s.st.touchAlert(i, now)
		if ch.comment != "" {
			a.comments = append(a.comments, comment{ch.comment, by, t})
		}
	} else {
		inc := &s.st.d.incidents[i]
		if ch.status != nil {
			inc.status = *ch.status
		}
		if ch.class != nil {
			inc.class = *ch.class
		}
		if ch.determ != nil {
			inc.determ = *ch.determ
		}
		if ch.assigned != nil {
			inc.assignedTo = *ch.assigned
		}
		if ch.tagsSet {
			inc.customTags = ch.tags
			if inc.customTags == nil {
				inc.customTags = []string{}
			}
		}
		inc.lastModifiedBy = by
		t := s.st.touchIncident(i, now)
		if ch.comment != "" {
			inc.comments = append(inc.comments, comment{ch.comment, by, t})
		}
	}
	b, err := s.renderObject(c, i, nil, includeUnknown(r))
	if err != nil {
		return nil, 0, serverError(http.StatusInternalServerError)
	}
	ctx := requestBase(r) + "/v1.0/$metadata#" + c.context + "/$entity"
	if c.flavor == flavorLegacy {
		ctx = requestBase(r) + "/api/$metadata#" + c.context + "/$entity"
	}
	return withContext(ctx, b), http.StatusOK, nil
}

// postComment is POST /v1.0/security/{incidents|alerts_v2}/{id}/comments.
func (s *Server) postComment(r *http.Request, c *collection, id string, tok *token) ([]byte, int, *apiError) {
	i, aerr := s.lookup(c, id)
	if aerr != nil {
		return nil, 0, aerr
	}
	raw, err := readBody(r)
	if err != nil {
		return nil, 0, badRequest("Could not read the request body.")
	}
	var body struct {
		Type    string  `json:"@odata.type"`
		Comment *string `json:"comment"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, 0, badRequest("Invalid JSON. The request body is not a valid alertComment.")
	}
	if body.Type != "" && body.Type != "microsoft.graph.security.alertComment" && body.Type != "#microsoft.graph.security.alertComment" {
		return nil, 0, badRequest("A type named '%s' could not be resolved by the model.", body.Type)
	}
	if body.Comment == nil || strings.TrimSpace(*body.Comment) == "" {
		return nil, 0, badRequest("The comment property is required and cannot be empty.")
	}
	now := s.clock()
	by := "API-App:" + tok.client
	var list []comment
	if c.alerts {
		t := s.st.touchAlert(i, now)
		a := &s.st.d.alerts[i]
		a.comments = append(a.comments, comment{*body.Comment, by, t})
		list = a.comments
	} else {
		t := s.st.touchIncident(i, now)
		inc := &s.st.d.incidents[i]
		inc.comments = append(inc.comments, comment{*body.Comment, by, t})
		inc.lastModifiedBy = by
		list = inc.comments
	}
	b, _ := marshal(struct {
		Context string         `json:"@odata.context"`
		Value   []graphComment `json:"value"`
	}{requestBase(r) + "/v1.0/$metadata#Collection(microsoft.graph.security.alertComment)", graphComments(list)})
	return b, http.StatusOK, nil
}
