package simulator_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

// token gets an access token for scope with the default credentials.
func token(t *testing.T, s *simulator.Server, scope string) string {
	t.Helper()
	st, body := postForm(t, s, s.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID},
		"client_secret": {s.ClientSecret}, "scope": {scope}})
	if st != 200 {
		t.Fatalf("token: %d %v", st, body)
	}
	return body["access_token"].(string)
}

func postForm(t *testing.T, s *simulator.Server, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.Client().PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func decode(t *testing.T, resp *http.Response) (int, map[string]any) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: body is not JSON: %v: %s", resp.Request.URL, err, b)
	}
	return resp.StatusCode, m
}

// call makes an API request; u is absolute or a path under s.URL.
func call(t *testing.T, s *simulator.Server, tok, method, u string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = s.URL + u
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	st, m := decode(t, resp)
	return st, resp.Header, m
}

func errMessage(m map[string]any) (code, msg string) {
	e, _ := m["error"].(map[string]any)
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	return code, msg
}

// collect follows nextLinks from first and returns every object.
func collect(t *testing.T, s *simulator.Server, tok, first string) (objs []map[string]any, pages int, boundaries [][2]map[string]any) {
	t.Helper()
	u := first
	for u != "" {
		st, _, m := call(t, s, tok, "GET", u, nil)
		if st != 200 {
			t.Fatalf("GET %s: %d %v", u, st, m)
		}
		pages++
		vals, _ := m["value"].([]any)
		for k, v := range vals {
			o := v.(map[string]any)
			if k == 0 && len(objs) > 0 {
				boundaries = append(boundaries, [2]map[string]any{objs[len(objs)-1], o})
			}
			objs = append(objs, o)
		}
		u, _ = m["@odata.nextLink"].(string)
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
	}
	return objs, pages, boundaries
}

func TestTokenErrors(t *testing.T) {
	s := simulator.New(simulator.Options{})
	defer s.Close()
	s.AddClient("11111111-2222-3333-4444-555555555555", "", simulator.RoleSecurityIncidentRead)
	good := func() url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret},
			"scope": {"https://graph.microsoft.com/.default"}}
	}
	tests := []struct {
		name   string
		tenant string
		edit   func(url.Values)
		status int
		err    string
		code   int
	}{
		{"WrongSecret", s.TenantID, func(v url.Values) { v.Set("client_secret", "nope") }, 401, "invalid_client", 7000215},
		{"UnknownTenant", "00000000-0000-0000-0000-000000000000", nil, 400, "invalid_request", 90002},
		{"UnknownClient", s.TenantID, func(v url.Values) { v.Set("client_id", "99999999-9999-9999-9999-999999999999") }, 400, "unauthorized_client", 700016},
		{"NoSecret", s.TenantID, func(v url.Values) { v.Del("client_secret") }, 401, "invalid_client", 7000218},
		{"CertOnlyClientWithSecret", s.TenantID, func(v url.Values) { v.Set("client_id", "11111111-2222-3333-4444-555555555555") }, 401, "invalid_client", 7000215},
		{"ScopeWithoutDefault", s.TenantID, func(v url.Values) { v.Set("scope", "https://graph.microsoft.com/SecurityIncident.Read.All") }, 400, "invalid_scope", 1002012},
		{"UnknownResource", s.TenantID, func(v url.Values) { v.Set("scope", "https://example.invalid/.default") }, 400, "invalid_resource", 500011},
		{"NoScope", s.TenantID, func(v url.Values) { v.Del("scope") }, 400, "invalid_request", 900144},
		{"WrongGrant", s.TenantID, func(v url.Values) { v.Set("grant_type", "password") }, 400, "unsupported_grant_type", 70003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := good()
			if tt.edit != nil {
				tt.edit(v)
			}
			st, m := postForm(t, s, s.URL+"/"+tt.tenant+"/oauth2/v2.0/token", v)
			if st != tt.status || m["error"] != tt.err {
				t.Fatalf("got %d %v, want %d %s", st, m, tt.status, tt.err)
			}
			codes, _ := m["error_codes"].([]any)
			if len(codes) != 1 || codes[0] != float64(tt.code) {
				t.Errorf("error_codes = %v, want [%d]", m["error_codes"], tt.code)
			}
			desc, _ := m["error_description"].(string)
			if !strings.HasPrefix(desc, fmt.Sprintf("AADSTS%d: ", tt.code)) || !strings.Contains(desc, "Trace ID: ") {
				t.Errorf("error_description = %q", desc)
			}
			if strings.Contains(desc, s.ClientSecret) || strings.Contains(desc, "nope") {
				t.Errorf("secret echoed in %q", desc)
			}
			for _, k := range []string{"trace_id", "correlation_id", "timestamp"} {
				if m[k] == nil {
					t.Errorf("missing %s", k)
				}
			}
		})
	}
	t.Run("TenantDomainAndBasicAuth", func(t *testing.T) {
		v := good()
		v.Del("client_id")
		v.Del("client_secret")
		req, _ := http.NewRequest("POST", s.URL+"/"+s.TenantDomain+"/oauth2/v2.0/token", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(s.ClientID), url.QueryEscape(s.ClientSecret))
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		st, m := decode(t, resp)
		if st != 200 || m["token_type"] != "Bearer" || m["expires_in"] != float64(3599) {
			t.Fatalf("%d %v", st, m)
		}
	})
	t.Run("ExpiredSecret", func(t *testing.T) {
		s.AddClient("22222222-2222-3333-4444-555555555555", "old-secret", simulator.AllRoles()...)
		s.ExpireSecret("22222222-2222-3333-4444-555555555555")
		v := good()
		v.Set("client_id", "22222222-2222-3333-4444-555555555555")
		v.Set("client_secret", "old-secret")
		st, m := postForm(t, s, s.TokenURL(), v)
		if st != 401 || m["error"] != "invalid_client" || !strings.HasPrefix(m["error_description"].(string), "AADSTS7000222: ") {
			t.Fatalf("%d %v", st, m)
		}
	})
	t.Run("GET", func(t *testing.T) {
		resp, err := s.Client().Get(s.TokenURL())
		if err != nil {
			t.Fatal(err)
		}
		if st, m := decode(t, resp); st != 400 || !strings.HasPrefix(m["error_description"].(string), "AADSTS900561") {
			t.Fatalf("%d %v", st, m)
		}
	})
	if st := s.Stats(); st.TokenRequests != len(tests)+3 || st.TokensIssued != 1 {
		t.Errorf("stats %+v", st)
	}
}

// assertion builds a client_assertion JWT signed with key.
func assertion(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate, clientID, aud string, exp time.Time) string {
	t.Helper()
	enc := base64.RawURLEncoding
	thumb := sha1.Sum(cert.Raw)
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "x5t": enc.EncodeToString(thumb[:])})
	claims, _ := json.Marshal(map[string]any{"aud": aud, "iss": clientID, "sub": clientID, "jti": "x",
		"nbf": time.Now().Unix(), "exp": exp.Unix()})
	signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(claims)
	d := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + enc.EncodeToString(sig)
}

func parsePEM(t *testing.T, b []byte) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	var cert *x509.Certificate
	var key *rsa.PrivateKey
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			cert = c
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			key = k.(*rsa.PrivateKey)
		}
	}
	if cert == nil || key == nil {
		t.Fatal("PEM lacks certificate or key")
	}
	return cert, key
}

func TestClientAssertion(t *testing.T) {
	s := simulator.NewTLS(simulator.Options{})
	defer s.Close()
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %s", s.URL)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CertificatePEM()) || s.CertPool() == nil || s.TLSConfig() == nil {
		t.Fatal("no usable certificate")
	}
	pemBytes, err := s.NewClientCertificate()
	if err != nil {
		t.Fatal(err)
	}
	cert, key := parsePEM(t, pemBytes)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name string
		jwt  string
		code int
	}{
		{"Valid", assertion(t, key, cert, s.ClientID, s.TokenURL(), time.Now().Add(5*time.Minute)), 0},
		{"WrongKey", assertion(t, otherKey, cert, s.ClientID, s.TokenURL(), time.Now().Add(5*time.Minute)), 700027},
		{"Expired", assertion(t, key, cert, s.ClientID, s.TokenURL(), time.Now().Add(-time.Hour)), 700024},
		{"WrongAudience", assertion(t, key, cert, s.ClientID, "https://example.invalid/token", time.Now().Add(5*time.Minute)), 700023},
		{"Garbage", "not-a-jwt", 50027},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, m := postForm(t, s, s.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {tt.jwt},
				"scope": {s.Scope()}})
			if tt.code == 0 {
				if st != 200 || m["access_token"] == nil {
					t.Fatalf("%d %v", st, m)
				}
				return
			}
			codes, _ := m["error_codes"].([]any)
			if st < 400 || len(codes) != 1 || codes[0] != float64(tt.code) {
				t.Fatalf("got %d %v, want AADSTS%d", st, m, tt.code)
			}
		})
	}
}

func TestPaging(t *testing.T) {
	const n = 121
	for _, mode := range []simulator.PagingMode{simulator.PagingKeyset, simulator.PagingOffset} {
		s := simulator.New(simulator.Options{Incidents: n, AlertsPerIncident: 2, Seed: 7, SameTimeBatch: 7, Paging: mode})
		tok := token(t, s, "https://graph.microsoft.com/.default")
		legacy := token(t, s, "https://api.security.microsoft.com/.default")
		tot := s.Totals()
		pages := func(n, top int) int { return (n + top - 1) / top }
		tests := []struct {
			name, first, tok, idKey, timeKey string
			want, pages                      int
			desc                             bool
		}{
			{"GraphIncidents", "/v1.0/security/incidents?$filter=lastUpdateDateTime%20ge%202000-01-01T00:00:00Z&$orderby=lastUpdateDateTime%20asc&$top=50", tok, "id", "lastUpdateDateTime", n, pages(n, 50), false},
			{"GraphIncidentsExpand", "/v1.0/security/incidents?$expand=alerts&$orderby=lastUpdateDateTime%20asc&$top=13", tok, "id", "lastUpdateDateTime", n, pages(n, 13), false},
			{"GraphIncidentsDesc", "/v1.0/security/incidents?$orderby=lastUpdateDateTime%20desc&$top=20", tok, "id", "lastUpdateDateTime", n, pages(n, 20), true},
			{"GraphIncidentsCreatedDesc", "/v1.0/security/incidents?$top=20", tok, "id", "createdDateTime", n, pages(n, 20), true},
			{"GraphAlerts", "/v1.0/security/alerts_v2?$filter=lastUpdateDateTime%20ge%202000-01-01T00:00:00Z&$orderby=lastUpdateDateTime%20asc&$top=100", tok, "id", "lastUpdateDateTime", tot.Alerts, pages(tot.Alerts, 100), false},
			{"GraphIncidentsDefaultOrder", "/v1.0/security/incidents?$top=40", tok, "id", "", n, pages(n, 40), false},
			{"LegacyIncidents", "/api/incidents?$filter=lastUpdateTime%20ge%202000-01-01T00:00:00Z&$orderby=lastUpdateTime%20asc&$top=50", legacy, "incidentId", "lastUpdateTime", n, pages(n, 50), false},
			{"LegacyAlertsNoNextLink", "/api/alerts?$orderby=lastUpdateTime%20asc&$top=10&$expand=evidence", legacy, "id", "lastUpdateTime", 10, 1, false},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/mode%d", tt.name, mode), func(t *testing.T) {
				objs, pages, bounds := collect(t, s, tt.tok, tt.first)
				if len(objs) != tt.want || pages != tt.pages {
					t.Fatalf("got %d objects in %d pages, want %d in %d", len(objs), pages, tt.want, tt.pages)
				}
				seen := map[string]bool{}
				prev := ""
				if tt.desc {
					prev = "9999"
				}
				for _, o := range objs {
					id := fmt.Sprint(o[tt.idKey])
					if seen[id] {
						t.Fatalf("%s returned twice", id)
					}
					seen[id] = true
					if tt.timeKey != "" {
						ts := o[tt.timeKey].(string)
						if (!tt.desc && ts < prev) || (tt.desc && ts > prev) {
							t.Fatalf("out of order: %s after %s", ts, prev)
						}
						prev = ts
					}
				}
				if tt.timeKey != "" && tt.pages > 1 {
					split := 0
					for _, b := range bounds {
						if b[0][tt.timeKey] == b[1][tt.timeKey] {
							split++
						}
					}
					if split == 0 {
						t.Errorf("no page boundary splits an equal %s (SameTimeBatch=7)", tt.timeKey)
					}
				}
			})
		}
		s.Close()
	}
}

func TestLegacyAlertsNextLinkOption(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 60, Seed: 3, LegacyAlertsNextLink: true})
	defer s.Close()
	tok := token(t, s, s.Scope())
	objs, pages, _ := collect(t, s, tok, "/api/alerts?$top=7")
	if len(objs) != s.Totals().EndpointAlerts || pages != (len(objs)+6)/7 {
		t.Fatalf("%d alerts in %d pages, want %d", len(objs), pages, s.Totals().EndpointAlerts)
	}
	for _, o := range objs {
		if o["evidence"] == nil || o["machineId"] == nil || o["aadTenantId"] != s.TenantID {
			t.Fatalf("bad MDE alert %v", o)
		}
	}
}

func TestFilter(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 40, Seed: 2, SameTimeBatch: 4})
	defer s.Close()
	tok := token(t, s, "https://graph.microsoft.com/.default")
	all, _, _ := collect(t, s, tok, "/v1.0/security/incidents?$orderby=lastUpdateDateTime%20asc")
	// The 5th batch: incidents 16..19 share one time.
	ts := all[17]["lastUpdateDateTime"].(string)
	count := func(filter string) int {
		objs, _, _ := collect(t, s, tok, "/v1.0/security/incidents?$filter="+url.QueryEscape(filter))
		return len(objs)
	}
	tests := []struct {
		filter string
		want   int
	}{
		{"lastUpdateDateTime ge " + ts, 24},
		{"lastUpdateDateTime gt " + ts, 20},
		{"lastUpdateDateTime lt " + ts, 16},
		{"lastUpdateDateTime le " + ts, 20},
		{"lastUpdateDateTime eq " + ts, 4},
		{"lastUpdateDateTime ge " + ts + " and lastUpdateDateTime le " + ts, 4},
		{"(lastUpdateDateTime lt " + ts + ") or lastUpdateDateTime gt " + ts, 36},
		{"createdDateTime ge 2000-01-01T00:00:00Z and lastUpdateDateTime gt " + ts, 20},
		// Rendered times are the stored ones (100 ns): gt the newest is empty.
		{"lastUpdateDateTime gt " + all[len(all)-1]["lastUpdateDateTime"].(string), 0},
		{"lastUpdateDateTime eq " + all[0]["lastUpdateDateTime"].(string), 4},
		{"createdDateTime eq " + all[7]["createdDateTime"].(string) + " and lastUpdateDateTime eq " + all[7]["lastUpdateDateTime"].(string), 1},
	}
	for _, tt := range tests {
		if got := count(tt.filter); got != tt.want {
			t.Errorf("%s: %d incidents, want %d", tt.filter, got, tt.want)
		}
	}
	// Status filter agrees with the data.
	active := 0
	for _, o := range all {
		if o["status"] == "active" {
			active++
		}
	}
	if got := count("status eq 'active'"); got != active {
		t.Errorf("status eq 'active': %d, want %d", got, active)
	}
	// alerts of one incident
	inc := all[3]["id"].(string)
	objs, _, _ := collect(t, s, tok, "/v1.0/security/alerts_v2?$filter="+url.QueryEscape("incidentId eq '"+inc+"'"))
	if len(objs) != 2 {
		t.Fatalf("alerts of %s: %d", inc, len(objs))
	}
	for _, o := range objs {
		if o["incidentId"] != inc {
			t.Errorf("alert of %v", o["incidentId"])
		}
	}
}

func TestBadQueries(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 3})
	defer s.Close()
	graph := token(t, s, "https://graph.microsoft.com/.default")
	legacy := token(t, s, "https://api.securitycenter.microsoft.com/.default")
	tests := []struct {
		name, tok, path string
		status          int
		code, msg       string
	}{
		{"IncidentsTop51", graph, "/v1.0/security/incidents?$top=51", 400, "", "The query specified in the URI is not valid. The limit of '50' for Top query has been exceeded. The value from the incoming request is '51'."},
		{"IncidentsTop50", graph, "/v1.0/security/incidents?$top=50", 200, "", ""},
		{"IncidentsTop0", graph, "/v1.0/security/incidents?$top=0&$count=true", 200, "", ""},
		{"NegativeTop", graph, "/v1.0/security/incidents?$top=-1", 400, "BadRequest", "non-negative integer"},
		{"DuplicateOption", graph, "/v1.0/security/incidents?$top=1&$top=2", 400, "BadRequest", "specified more than once"},
		{"AlertsTop1001", graph, "/v1.0/security/alerts_v2?$top=1001", 400, "", "The limit of '1000' for Top query"},
		{"AlertsTop1000", graph, "/v1.0/security/alerts_v2?$top=1000", 200, "", ""},
		{"LegacyIncidentsTop101", legacy, "/api/incidents?$top=101", 400, "BadRequest", "The limit of '100' for Top query"},
		{"LegacyAlertsTop10001", legacy, "/api/alerts?$top=10001", 400, "BadRequest", "The limit of '10000' for Top query"},
		{"LegacyAlertsTop10000", legacy, "/api/alerts?$top=10000", 200, "", ""},
		{"QuotedTime", graph, "/v1.0/security/incidents?$filter=lastUpdateDateTime%20ge%20'2024-01-01T00:00:00Z'", 400, "BadRequest", "incompatible types"},
		{"BadTime", graph, "/v1.0/security/incidents?$filter=lastUpdateDateTime%20ge%202024-01-01", 400, "BadRequest", "The DateTimeOffset text '2024-01-01'"},
		{"UnknownProperty", graph, "/v1.0/security/incidents?$filter=lastUpdateTime%20ge%202024-01-01T00:00:00Z", 400, "BadRequest", "Could not find a property named 'lastUpdateTime' on type 'microsoft.graph.security.incident'"},
		{"UnknownOption", graph, "/v1.0/security/incidents?$foo=1", 400, "BadRequest", "'$foo'"},
		{"BadOrderBy", graph, "/v1.0/security/incidents?$orderby=severity%20asc", 400, "BadRequest", "cannot be used in the $orderby"},
		{"BadExpand", graph, "/v1.0/security/alerts_v2?$expand=evidence", 400, "BadRequest", "Could not find a property named 'evidence'"},
		{"BadSkipToken", graph, "/v1.0/security/incidents?$skiptoken=xyz", 400, "BadRequest", "skip token"},
		{"LegacyTokenOnGraph", legacy, "/v1.0/security/incidents", 401, "InvalidAuthenticationToken", "Invalid audience"},
		{"GraphTokenOnLegacy", graph, "/api/incidents", 401, "Unauthorized", "Invalid audience"},
		{"NoToken", "", "/v1.0/security/incidents", 401, "InvalidAuthenticationToken", "Access token is empty."},
		{"BadToken", "abc", "/v1.0/security/incidents", 401, "InvalidAuthenticationToken", "JWT is not well formed"},
		{"UnknownIncident", graph, "/v1.0/security/incidents/1", 404, "NotFound", "was not found"},
		{"UnknownPath", graph, "/v1.0/security/alerts", 404, "BadRequest", "Resource not found for the segment 'alerts'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _, m := call(t, s, tt.tok, "GET", tt.path, nil)
			code, msg := errMessage(m)
			if st != tt.status || code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Fatalf("got %d %q %q, want %d %q %q", st, code, msg, tt.status, tt.code, tt.msg)
			}
		})
	}
}

func TestPermissions(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 2})
	defer s.Close()
	s.SetRoles(s.ClientID, simulator.RoleSecurityAlertRead)
	tok := token(t, s, s.Scope())
	st, _, m := call(t, s, tok, "GET", "/v1.0/security/incidents", nil)
	code, msg := errMessage(m)
	want := "Missing application roles. API required roles: SecurityIncident.Read.All,SecurityIncident.ReadWrite.All, application roles: SecurityAlert.Read.All."
	if st != 403 || code != "Forbidden" || msg != want {
		t.Fatalf("got %d %q %q", st, code, msg)
	}
	if inner, _ := m["error"].(map[string]any)["innerError"].(map[string]any); inner["request-id"] == nil || inner["date"] == nil {
		t.Errorf("innerError = %v", inner)
	}
	if st, _, _ := call(t, s, tok, "GET", "/v1.0/security/alerts_v2", nil); st != 200 {
		t.Errorf("alerts_v2 with SecurityAlert.Read.All: %d", st)
	}
	st, _, m = call(t, s, tok, "GET", "/api/alerts", nil)
	if code, msg := errMessage(m); st != 403 || !strings.Contains(msg, "Alert.Read.All,Alert.ReadWrite.All") || m["error"].(map[string]any)["target"] == nil {
		t.Errorf("legacy 403: %d %q %q %v", st, code, msg, m)
	}
	id := s.AlertIDs()[0]
	if st, _, _ := call(t, s, tok, "PATCH", "/v1.0/security/alerts_v2/"+id, map[string]any{"status": "resolved"}); st != 403 {
		t.Errorf("PATCH with read role: %d", st)
	}
}

func TestFaults(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 5, Seed: 1})
	defer s.Close()
	tok := token(t, s, "https://graph.microsoft.com/.default")
	list := "/v1.0/security/incidents"
	t.Run("Throttle", func(t *testing.T) {
		s.Throttle(2, 2500*time.Millisecond)
		for range 2 {
			st, h, m := call(t, s, tok, "GET", list, nil)
			if code, msg := errMessage(m); st != 429 || h.Get("Retry-After") != "3" || code != "TooManyRequests" || msg == "" {
				t.Fatalf("%d %q %v", st, h.Get("Retry-After"), m)
			}
		}
		if st, _, _ := call(t, s, tok, "GET", list, nil); st != 200 {
			t.Fatalf("after throttling: %d", st)
		}
	})
	t.Run("ThrottleHTTPDate", func(t *testing.T) {
		s.ThrottleHTTPDate(1, 30*time.Second)
		st, h, _ := call(t, s, tok, "GET", list, nil)
		at, err := http.ParseTime(h.Get("Retry-After"))
		if st != 429 || err != nil || time.Until(at) < 29*time.Second {
			t.Fatalf("%d %q %v", st, h.Get("Retry-After"), err)
		}
	})
	t.Run("ThrottleLegacyQuota", func(t *testing.T) {
		s.ThrottleLegacyQuota(1, time.Minute)
		st, h, m := call(t, s, tok, "GET", list, nil)
		b, _ := json.Marshal(m)
		want := `{"code":"429","message":"API calls quota exceeded! maximum allowed 45 per 00:01:00"}`
		if st != 429 || h.Get("Retry-After") != "" || string(b) != want || string(simulator.LegacyQuotaBody(time.Minute)) != want {
			t.Fatalf("%d Retry-After %q body %s, want %s", st, h.Get("Retry-After"), b, want)
		}
		if got := string(simulator.LegacyQuotaBody(90 * time.Minute)); !strings.HasSuffix(got, `per 01:30:00"}`) {
			t.Errorf("90 min window: %s", got)
		}
	})
	t.Run("FailNext", func(t *testing.T) {
		for _, status := range []int{500, 502, 503, 504} {
			s.FailNext(1, status)
			st, _, m := call(t, s, tok, "GET", list, nil)
			if code, _ := errMessage(m); st != status || code == "" {
				t.Fatalf("FailNext(%d): %d %v", status, st, m)
			}
		}
		if st, _, _ := call(t, s, tok, "GET", list, nil); st != 200 {
			t.Fatal("fault not cleared")
		}
	})
	t.Run("FailExpand", func(t *testing.T) {
		s.FailExpand(-1)
		st, _, m := call(t, s, tok, "GET", list+"?$expand=alerts&$top=5", nil)
		if code, _ := errMessage(m); st != 500 || code != "InternalServerError" {
			t.Fatalf("%d %v", st, m)
		}
		if st, _, _ := call(t, s, tok, "GET", list+"?$top=5", nil); st != 200 {
			t.Fatalf("without expand: %d", st)
		}
		id := s.IncidentIDs()[0]
		objs, _, _ := collect(t, s, tok, "/v1.0/security/alerts_v2?$filter="+url.QueryEscape("incidentId eq '"+id+"'"))
		if len(objs) != 2 {
			t.Fatalf("fallback got %d alerts", len(objs))
		}
		s.FailExpand(0)
		if st, _, _ := call(t, s, tok, "GET", list+"?$expand=alerts", nil); st != 200 {
			t.Fatalf("after FailExpand(0): %d", st)
		}
	})
	t.Run("DropNext", func(t *testing.T) {
		s.DropNext(1)
		req, _ := http.NewRequest("GET", s.URL+list, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := s.Client().Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Fatal("expected a network error")
		}
	})
	t.Run("FailTokens", func(t *testing.T) {
		s.FailTokens(1, 503)
		st, m := postForm(t, s, s.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID},
			"client_secret": {s.ClientSecret}, "scope": {s.Scope()}})
		if st != 503 || !strings.HasPrefix(m["error_description"].(string), "AADSTS") {
			t.Fatalf("%d %v", st, m)
		}
	})
	t.Run("ExpireTokens", func(t *testing.T) {
		s.ExpireTokens()
		st, h, m := call(t, s, tok, "GET", list, nil)
		if code, msg := errMessage(m); st != 401 || code != "InvalidAuthenticationToken" || msg != "Lifetime validation failed, the token is expired." || h.Get("WWW-Authenticate") == "" {
			t.Fatalf("%d %v", st, m)
		}
		if st, _, _ := call(t, s, token(t, s, s.Scope()), "GET", list, nil); st != 200 {
			t.Fatalf("new token: %d", st)
		}
	})
	t.Run("TokenLifetime", func(t *testing.T) {
		s.SetTokenLifetime(time.Second)
		st, m := postForm(t, s, s.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID},
			"client_secret": {s.ClientSecret}, "scope": {s.Scope()}})
		if st != 200 || m["expires_in"] != float64(1) {
			t.Fatalf("%d %v", st, m)
		}
		short := m["access_token"].(string)
		time.Sleep(1100 * time.Millisecond)
		if st, _, _ := call(t, s, short, "GET", list, nil); st != 401 {
			t.Fatalf("expired token: %d", st)
		}
		s.SetTokenLifetime(time.Hour)
	})
	stats := s.Stats()
	if stats.Throttled != 4 || stats.Failed < 5 || stats.Dropped != 1 || stats.Requests["GET /v1.0/security/incidents"] < 10 {
		t.Errorf("stats %+v", stats)
	}
}

func TestUpdatesWhilePaging(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 100, Seed: 4, SameTimeBatch: 3})
	defer s.Close()
	tok := token(t, s, s.Scope())
	st, _, m := call(t, s, tok, "GET", "/v1.0/security/incidents?$orderby=lastUpdateDateTime%20asc&$filter=lastUpdateDateTime%20ge%202000-01-01T00:00:00Z&$top=30", nil)
	if st != 200 {
		t.Fatal(st)
	}
	first := m["value"].([]any)
	seen := first[5].(map[string]any)["id"].(string)
	all := s.IncidentIDs()
	// an incident not yet returned
	var unseen string
	for _, id := range all {
		found := false
		for _, v := range first {
			found = found || v.(map[string]any)["id"] == id
		}
		if !found {
			unseen = id
			break
		}
	}
	t1, err := s.UpdateIncident(seen)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateIncident(unseen); err != nil {
		t.Fatal(err)
	}
	added := s.AddIncident()
	if _, err := s.UpdateIncident("42"); err != simulator.ErrNotFound {
		t.Errorf("unknown id: %v", err)
	}
	rest, _, _ := collect(t, s, tok, m["@odata.nextLink"].(string))
	got := map[string]int{}
	for _, v := range first {
		got[v.(map[string]any)["id"].(string)]++
	}
	var last map[string]any
	for _, o := range rest {
		got[o["id"].(string)]++
		last = o
	}
	for _, id := range all {
		if got[id] == 0 {
			t.Errorf("incident %s missed", id)
		}
	}
	if got[seen] != 2 || got[unseen] != 1 || got[added] != 1 {
		t.Errorf("seen=%d unseen=%d added=%d", got[seen], got[unseen], got[added])
	}
	if last["id"] != added {
		t.Errorf("last = %v, want the added incident %s", last["id"], added)
	}
	if last["status"] != "active" || last["assignedTo"] != nil || last["createdDateTime"] != last["lastUpdateDateTime"] {
		t.Errorf("added incident %v", last)
	}
	b, _ := s.Incident(seen)
	var inc map[string]any
	_ = json.Unmarshal(b, &inc)
	if inc["lastUpdateDateTime"] != t1.Format("2006-01-02T15:04:05.0000000Z") {
		t.Errorf("lastUpdateDateTime %v, want %v", inc["lastUpdateDateTime"], t1)
	}
}

func TestPatchAndComments(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 3, Seed: 5})
	defer s.Close()
	tok := token(t, s, "https://graph.microsoft.com/.default")
	id := s.IncidentIDs()[1]
	path := "/v1.0/security/incidents/" + id
	_, _, before := call(t, s, tok, "GET", path, nil)
	st, _, m := call(t, s, tok, "PATCH", path, map[string]any{"classification": "TruePositive", "determination": "MultiStagedAttack",
		"customTags": []string{"Demo"}, "status": "resolved", "assignedTo": "secAdmin@contoso.onmicrosoft.com"})
	if st != 200 || m["classification"] != "truePositive" || m["determination"] != "multiStagedAttack" || m["status"] != "resolved" ||
		fmt.Sprint(m["customTags"]) != "[Demo]" || m["assignedTo"] != "secAdmin@contoso.onmicrosoft.com" {
		t.Fatalf("%d %v", st, m)
	}
	if !strings.HasSuffix(m["@odata.context"].(string), "/$entity") || m["lastUpdateDateTime"].(string) <= before["lastUpdateDateTime"].(string) {
		t.Errorf("context %v, lastUpdateDateTime %v → %v", m["@odata.context"], before["lastUpdateDateTime"], m["lastUpdateDateTime"])
	}
	bad := []struct {
		name string
		body map[string]any
		msg  string
	}{
		{"BadStatus", map[string]any{"status": "closed"}, "Cannot convert the literal 'closed' to the expected type 'microsoft.graph.security.incidentStatus'."},
		{"BadClassification", map[string]any{"classification": "benign"}, "alertClassification"},
		{"CommentInPatch", map[string]any{"comment": "x"}, "The property 'comment' does not exist on type 'microsoft.graph.security.incident'."},
		{"Severity", map[string]any{"severity": "high"}, "The property 'severity' does not exist"},
		{"TagsNotArray", map[string]any{"customTags": "Demo"}, "Collection(Edm.String)"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			st, _, m := call(t, s, tok, "PATCH", path, tt.body)
			if code, msg := errMessage(m); st != 400 || code != "BadRequest" || !strings.Contains(msg, tt.msg) {
				t.Fatalf("%d %q %q", st, code, msg)
			}
		})
	}
	st, _, m = call(t, s, tok, "POST", path+"/comments", map[string]any{"@odata.type": "microsoft.graph.security.alertComment", "comment": "Escalated from Splunk"})
	vals, _ := m["value"].([]any)
	if st != 200 || len(vals) == 0 {
		t.Fatalf("%d %v", st, m)
	}
	lastC := vals[len(vals)-1].(map[string]any)
	if lastC["comment"] != "Escalated from Splunk" || lastC["createdByDisplayName"] == nil || lastC["createdDateTime"] == nil {
		t.Errorf("comment %v", lastC)
	}
	if st, _, _ := call(t, s, tok, "POST", path+"/comments", map[string]any{"comment": ""}); st != 400 {
		t.Errorf("empty comment: %d", st)
	}
	// alerts
	aid := s.AlertIDs()[0]
	apath := "/v1.0/security/alerts_v2/" + aid
	st, _, m = call(t, s, tok, "PATCH", apath, map[string]any{"assignedTo": "secAdmin@contoso.onmicrosoft.com", "classification": "truePositive", "determination": "malware", "status": "inProgress"})
	if st != 200 || m["status"] != "inProgress" || m["determination"] != "malware" || m["id"] != aid {
		t.Fatalf("%d %v", st, m)
	}
	if st, _, m := call(t, s, tok, "PATCH", apath, map[string]any{"customTags": []string{"x"}}); st != 400 {
		t.Errorf("customTags on an alert: %d %v", st, m)
	}
	if st, _, m := call(t, s, tok, "PATCH", apath, map[string]any{"status": "active"}); st != 400 || !strings.Contains(fmt.Sprint(m), "alertStatus") {
		t.Errorf("incident status on an alert: %d %v", st, m)
	}
	st, _, m = call(t, s, tok, "POST", apath+"/comments", map[string]any{"comment": "seen"})
	if st != 200 || len(m["value"].([]any)) != 1 {
		t.Fatalf("%d %v", st, m)
	}
	if st, _, _ := call(t, s, tok, "PATCH", "/v1.0/security/incidents/1", map[string]any{"status": "active"}); st != 404 {
		t.Errorf("unknown incident: %d", st)
	}
}

func TestDataShapes(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 40, Seed: 9})
	defer s.Close()
	tok := token(t, s, s.Scope())
	objs, _, _ := collect(t, s, tok, "/v1.0/security/alerts_v2")
	types := map[string]bool{}
	for _, o := range objs {
		for _, k := range []string{"id", "providerAlertId", "incidentId", "status", "severity", "serviceSource", "detectionSource",
			"detectorId", "tenantId", "title", "description", "recommendedActions", "category", "alertWebUrl", "incidentWebUrl",
			"mitreTechniques", "createdDateTime", "lastUpdateDateTime", "firstActivityDateTime", "lastActivityDateTime", "evidence"} {
			if o[k] == nil {
				t.Fatalf("alert lacks %s: %v", k, o)
			}
		}
		for _, e := range o["evidence"].([]any) {
			types[e.(map[string]any)["@odata.type"].(string)] = true
		}
		if o["serviceSource"] == "microsoftDefenderForCloud" {
			t.Errorf("evolvable member without Prefer header")
		}
	}
	for _, want := range simulator.EvidenceTypes() {
		if !types[want] {
			t.Errorf("no %s", want)
		}
	}
	// With the Prefer header, evolvable members appear.
	req, _ := http.NewRequest("GET", s.URL+"/v1.0/security/alerts_v2", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Prefer", "include-unknown-enum-members")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, m := decode(t, resp)
	if !strings.Contains(fmt.Sprint(m), "microsoftDefenderForCloud") {
		t.Error("no microsoftDefenderForCloud with Prefer: include-unknown-enum-members")
	}
	// Legacy incidents: PascalCase, int ids, alerts with entities.
	legacy, _, _ := collect(t, s, tok, "/api/incidents")
	sawRedirect := false
	entityTypes := map[string]bool{}
	for _, o := range legacy {
		if _, ok := o["incidentId"].(float64); !ok {
			t.Fatalf("incidentId %T", o["incidentId"])
		}
		switch o["status"] {
		case "Active", "Resolved", "InProgress", "Redirected", "AwaitingAction":
		default:
			t.Errorf("legacy status %v", o["status"])
		}
		if o["status"] == "Redirected" {
			sawRedirect = true
			if o["redirectIncidentId"] == nil || len(o["alerts"].([]any)) != 0 {
				t.Errorf("redirected incident %v", o)
			}
		}
		for _, a := range o["alerts"].([]any) {
			for _, e := range a.(map[string]any)["entities"].([]any) {
				entityTypes[e.(map[string]any)["entityType"].(string)] = true
			}
		}
	}
	if !sawRedirect {
		t.Error("no redirected incident among 40")
	}
	for _, want := range []string{"User", "Ip", "Url", "File", "Process", "MailBox", "MailMessage", "MailCluster", "Registry", "SecurityGroup"} {
		if !entityTypes[want] {
			t.Errorf("no legacy entity of type %s", want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	a := simulator.New(simulator.Options{Incidents: 30, Seed: 11, Now: now})
	defer a.Close()
	b := simulator.New(simulator.Options{Incidents: 30, Seed: 11, Now: now})
	defer b.Close()
	c := simulator.New(simulator.Options{Incidents: 30, Seed: 12, Now: now})
	defer c.Close()
	id := a.IncidentIDs()[17]
	ja, _ := a.Incident(id)
	jb, _ := b.Incident(id)
	jc, _ := c.Incident(id)
	if !bytes.Equal(ja, jb) {
		t.Error("same seed, different data")
	}
	if bytes.Equal(ja, jc) {
		t.Error("different seed, same data")
	}
	var m map[string]any
	if err := json.Unmarshal(ja, &m); err != nil || m["lastUpdateDateTime"].(string) > "2026-11-30T12:00:00.0000000Z" {
		t.Errorf("%v %v", err, m["lastUpdateDateTime"])
	}
}

func TestConcurrentUpdates(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 200, Seed: 6})
	defer s.Close()
	tok := token(t, s, s.Scope())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ids := s.IncidentIDs()
		for i := range 100 {
			if i%10 == 0 {
				s.AddIncident()
			}
			if _, err := s.UpdateIncident(ids[i*7%len(ids)]); err != nil {
				t.Error(err)
			}
			if _, err := s.UpdateAlert(s.AlertIDs()[i]); err != nil {
				t.Error(err)
			}
		}
	}()
	for range 3 {
		objs, _, _ := collect(t, s, tok, "/v1.0/security/incidents?$expand=alerts&$orderby=lastUpdateDateTime%20asc&$top=50")
		if len(objs) < 200 {
			t.Errorf("only %d incidents", len(objs))
		}
	}
	<-done
	if s.Totals().Incidents != 210 {
		t.Errorf("totals %+v", s.Totals())
	}
}

func TestLegacyPatch(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 3, Seed: 8})
	defer s.Close()
	tok := token(t, s, "https://api.security.microsoft.com/.default")
	id := s.IncidentIDs()[0]
	st, _, m := call(t, s, tok, "PATCH", "/api/incidents/"+id, map[string]any{"status": "Resolved", "assignedTo": "secop2@contoso.com",
		"classification": "TruePositive", "determination": "Malware", "tags": []string{"Splunk"}, "comment": "Resolved from Splunk"})
	if st != 200 || m["status"] != "Resolved" || m["classification"] != "TruePositive" || m["determination"] != "Malware" ||
		fmt.Sprint(m["tags"]) != "[Splunk]" || !strings.Contains(fmt.Sprint(m["comments"]), "Resolved from Splunk") {
		t.Fatalf("%d %v", st, m)
	}
	st, _, m = call(t, s, tok, "PATCH", "/api/incidents/"+id, map[string]any{"classification": "FalsePositive", "determination": "Malware"})
	if code, msg := errMessage(m); st != 400 || code != "BadRequest" || !strings.Contains(msg, "TruePositive") || m["error"].(map[string]any)["target"] == nil {
		t.Errorf("determination without TruePositive: %d %v", st, m)
	}
	if st, _, _ := call(t, s, tok, "PATCH", "/api/incidents/1", map[string]any{"status": "Active"}); st != 404 {
		t.Errorf("unknown incident: %d", st)
	}
	var mde string
	for _, a := range s.Snapshot().Alerts {
		if a.Endpoint {
			mde = a.ID
			break
		}
	}
	st, _, m = call(t, s, tok, "PATCH", "/api/alerts/"+mde, map[string]any{"status": "Resolved", "comment": "done"})
	if st != 200 || m["status"] != "Resolved" || m["resolvedTime"] == nil {
		t.Fatalf("%d %v", st, m)
	}
}

// PagingOffset behaves as a $skip-based server: an object that moves
// behind the cursor shifts the rest, and one object is skipped in that pass.
func TestOffsetPagingSkipsOnUpdate(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 60, Seed: 4, Paging: simulator.PagingOffset})
	defer s.Close()
	tok := token(t, s, s.Scope())
	st, _, m := call(t, s, tok, "GET", "/v1.0/security/incidents?$orderby=lastUpdateDateTime%20asc&$top=30", nil)
	if st != 200 {
		t.Fatal(st)
	}
	first := m["value"].([]any)
	if _, err := s.UpdateIncident(first[0].(map[string]any)["id"].(string)); err != nil {
		t.Fatal(err)
	}
	rest, _, _ := collect(t, s, tok, m["@odata.nextLink"].(string))
	if got := len(first) + len(rest); got != 60 {
		t.Fatalf("%d objects in the pass, want 60 (59 distinct: one skipped, the updated one twice)", got)
	}
	seen := map[any]bool{}
	for _, v := range first {
		seen[v.(map[string]any)["id"]] = true
	}
	for _, o := range rest {
		seen[o["id"]] = true
	}
	if len(seen) != 59 {
		t.Errorf("%d distinct incidents, want 59", len(seen))
	}
}

func TestNoConsent(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 1, Roles: []string{}})
	defer s.Close()
	tok := token(t, s, s.Scope())
	st, _, m := call(t, s, tok, "GET", "/v1.0/security/alerts_v2", nil)
	if _, msg := errMessage(m); st != 403 || !strings.HasSuffix(msg, "application roles: .") {
		t.Fatalf("%d %v", st, m)
	}
}

func TestListen(t *testing.T) {
	if _, err := simulator.Listen("0.0.0.0:0", simulator.Options{}); err == nil || !strings.Contains(err.Error(), "not a loopback") {
		t.Errorf("0.0.0.0: %v", err)
	}
	s, err := simulator.Listen("127.0.0.1:0", simulator.Options{Incidents: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, _, _ := call(t, s, token(t, s, s.Scope()), "GET", "/v1.0/security/incidents", nil); st != 200 {
		t.Fatal(st)
	}
}

func TestRateLimit(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 2})
	defer s.Close()
	tok := token(t, s, s.Scope())
	s.SetRateLimit(3, 2*time.Second)
	codes := []int{}
	var retry string
	for range 5 {
		st, h, _ := call(t, s, tok, "GET", "/v1.0/security/incidents", nil)
		codes = append(codes, st)
		if st == 429 {
			retry = h.Get("Retry-After")
		}
	}
	if fmt.Sprint(codes) != "[200 200 200 429 429]" || (retry != "1" && retry != "2") {
		t.Fatalf("codes %v, Retry-After %q", codes, retry)
	}
	s.SetRateLimit(0, 0)
	if st, _, _ := call(t, s, tok, "GET", "/v1.0/security/incidents", nil); st != 200 {
		t.Fatalf("after turning it off: %d", st)
	}
}

func TestDelayNext(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 2})
	defer s.Close()
	tok := token(t, s, s.Scope())
	s.DelayNext(1, 300*time.Millisecond)
	t0 := time.Now()
	if st, _, _ := call(t, s, tok, "GET", "/v1.0/security/incidents", nil); st != 200 || time.Since(t0) < 300*time.Millisecond {
		t.Fatalf("%d after %s", st, time.Since(t0))
	}
	// A client that times out first.
	s.DelayNext(1, 5*time.Second)
	c := *s.Client() // a copy: the server's client is shared
	c.Timeout = 100 * time.Millisecond
	req, _ := http.NewRequest("GET", s.URL+"/v1.0/security/incidents", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("no timeout")
	}
	t0 = time.Now()
	if st, _, _ := call(t, s, tok, "GET", "/v1.0/security/incidents", nil); st != 200 || time.Since(t0) > 2*time.Second {
		t.Fatalf("next call: %d after %s", st, time.Since(t0))
	}
}
