package simulator

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Audience families a token can be issued for.
const (
	audGraph  = "graph"
	audLegacy = "legacy"
	audAny    = "any"
)

// knownResources maps the resources the token endpoint accepts in
// "<resource>/.default" to the API family their tokens work on.
var knownResources = map[string]string{
	"https://graph.microsoft.com":                              audGraph,
	"https://graph.microsoft.us":                               audGraph,
	"https://dod-graph.microsoft.us":                           audGraph,
	"00000003-0000-0000-c000-000000000000":                     audGraph,
	"https://api.security.microsoft.com":                       audLegacy,
	"https://api.securitycenter.microsoft.com":                 audLegacy,
	"https://api-gcc.security.microsoft.us":                    audLegacy,
	"https://api-gov.security.microsoft.us":                    audLegacy,
	"https://api-gcc.securitycenter.microsoft.us":              audLegacy,
	"https://api-gov.securitycenter.microsoft.us":              audLegacy,
	"https://securitycenter.onmicrosoft.com/windowsatpservice": audLegacy,
	"fc780465-2017-40d4-a0c5-307022471b92":                     audLegacy,
	"8ee8fdad-f234-4243-8f3b-15c294843740":                     audLegacy,
}

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// serveToken is POST /{tenant}/oauth2/v2.0/token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string) int {
	s.st.stats.TokenRequests++
	if f, ok := s.st.takeFault(&s.st.tokenFaults); ok {
		return s.tokenFault(w, f)
	}
	if tenant != s.TenantID && !strings.EqualFold(tenant, s.TenantDomain) {
		return s.aad(w, aadError{http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf(
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. "+
				"Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant)})
	}
	if r.Method != http.MethodPost {
		return s.aad(w, aadError{http.StatusBadRequest, "invalid_request", 900561, fmt.Sprintf(
			"The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method)})
	}
	body, err := readBody(r)
	if err != nil {
		return s.aad(w, aadError{http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."})
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return s.aad(w, aadError{http.StatusBadRequest, "invalid_request", 90014, "The request body is not a valid form: " + err.Error()})
	}
	missing := func(p string) int {
		return s.aad(w, aadError{http.StatusBadRequest, "invalid_request", 900144,
			fmt.Sprintf("The request body must contain the following parameter: '%s'.", p)})
	}
	grant := form.Get("grant_type")
	if grant == "" {
		return missing("grant_type")
	}
	if grant != "client_credentials" {
		return s.aad(w, aadError{http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", grant)})
	}
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok { // client_secret_basic: form-encoded id and secret
		uu, err1 := url.QueryUnescape(u)
		pp, err2 := url.QueryUnescape(p)
		if err1 == nil && err2 == nil {
			clientID, secret = uu, pp
		}
	}
	if clientID == "" {
		return missing("client_id")
	}
	c := s.st.clients[clientID]
	if c == nil {
		return s.aad(w, aadError{http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory 'Contoso'. This can happen if the application has not been "+
				"installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your "+
				"authentication request to the wrong tenant.", clientID)})
	}
	switch assertion := form.Get("client_assertion"); {
	case assertion != "":
		if t := form.Get("client_assertion_type"); t != assertionType {
			return s.aad(w, aadError{http.StatusBadRequest, "invalid_request", 50027,
				"Invalid client_assertion_type '" + t + "'. Expected '" + assertionType + "'."})
		}
		if e := s.checkAssertion(r, c, tenant, assertion); e != nil {
			return s.aad(w, *e)
		}
	case secret != "":
		if c.secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret)) != 1 {
			return s.aad(w, aadError{http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
				"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "+
					"not the client secret ID, for a secret added to app '%s'.", clientID)})
		}
		if c.secretExpired {
			return s.aad(w, aadError{http.StatusUnauthorized, "invalid_client", 7000222, fmt.Sprintf(
				"The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: "+
					"https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", clientID)})
		}
	default:
		return s.aad(w, aadError{http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."})
	}
	scope := strings.TrimSpace(form.Get("scope"))
	if scope == "" {
		return missing("scope")
	}
	audience, aud, e := s.resolveScope(r, scope)
	if e != nil {
		return s.aad(w, *e)
	}
	now := s.clock()
	tok := &token{client: c.id, roles: append([]string(nil), c.roles...), audience: aud, expires: now.Add(s.st.tokenLifetime)}
	raw := s.st.mintToken(s.TenantID, audience, tok, now)
	s.st.stats.TokensIssued++
	secs := int(s.st.tokenLifetime / time.Second)
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, struct {
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
		ExtExpiresIn int    `json:"ext_expires_in"`
		AccessToken  string `json:"access_token"`
	}{"Bearer", secs, secs, raw})
	return http.StatusOK
}

func (s *Server) aad(w http.ResponseWriter, e aadError) int {
	s.writeAADError(w, e)
	return e.status
}

func (s *Server) tokenFault(w http.ResponseWriter, f fault) int {
	switch f.kind {
	case faultDrop:
		dropConnection(w)
		return 0
	case faultThrottle:
		w.Header().Set("Retry-After", retryAfterValue(f, s.clock()))
		return s.aad(w, aadError{http.StatusTooManyRequests, "temporarily_unavailable", 50196,
			"The server terminated an operation because it encountered a client request loop. Please contact your app vendor."})
	}
	st := f.status
	if st == 0 {
		st = http.StatusServiceUnavailable
	}
	return s.aad(w, aadError{st, "temporarily_unavailable", 50000,
		"There was an error issuing a token or an issue with our sign-in service. Please try again later."})
}

// resolveScope checks a client-credentials scope and returns the resource
// and the audience family of the token.
func (s *Server) resolveScope(r *http.Request, scope string) (string, string, *aadError) {
	if strings.Contains(scope, " ") {
		for _, sc := range strings.Fields(scope) {
			if sc != "offline_access" && sc != "openid" && sc != "profile" {
				return s.resolveScope(r, sc)
			}
		}
	}
	if !strings.HasSuffix(scope, "/.default") {
		return "", "", &aadError{http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default "+
				"suffixed to the resource identifier (application ID URI).", scope)}
	}
	res := strings.TrimSuffix(scope, "/.default")
	res = strings.TrimSuffix(res, "/") // Entra accepts "https://graph.microsoft.com//.default"
	if fam, ok := knownResources[strings.ToLower(res)]; ok {
		return res, fam, nil
	}
	if strings.EqualFold(res, s.URL) || strings.EqualFold(res, requestBase(r)) {
		return res, audAny, nil
	}
	return "", "", &aadError{http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf(
		"The resource principal named %s was not found in the tenant named Contoso. This can happen if the application has "+
			"not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have "+
			"sent your authentication request to the wrong tenant.", res)}
}

// mintToken makes a JWT-shaped access token (its signature is random: only
// this server can validate it) and remembers it.
func (st *state) mintToken(tenant, audience string, t *token, now time.Time) string {
	enc := base64.RawURLEncoding
	hdr := enc.EncodeToString([]byte(`{"typ":"JWT","alg":"RS256","kid":"simulator"}`))
	claims, _ := marshal(map[string]any{
		"aud": audience, "iss": "https://sts.windows.net/" + tenant + "/", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": t.expires.Unix(), "appid": t.client, "idtyp": "app", "roles": t.roles, "tid": tenant, "ver": "1.0",
		"oid": newGUID(), "uti": newGUID(),
	})
	var sig [32]byte
	_, _ = rand.Read(sig[:])
	raw := hdr + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString(sig[:])
	if len(st.tokens) > 10000 { // forget long-expired tokens
		for k, v := range st.tokens {
			if now.Sub(v.expires) > time.Hour {
				delete(st.tokens, k)
			}
		}
	}
	st.tokens[raw] = t
	return raw
}

// checkAssertion verifies a client_assertion JWT signed with a certificate
// registered for c (RS256 or PS256, located by x5t or x5t#S256).
func (s *Server) checkAssertion(r *http.Request, c *client, tenant, assertion string) *aadError {
	bad := func(code int, text string) *aadError {
		return &aadError{http.StatusUnauthorized, "invalid_client", code, text}
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return &aadError{http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed."}
	}
	enc := base64.RawURLEncoding
	hb, err1 := enc.DecodeString(parts[0])
	cb, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	var hdr struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims struct {
		Aud any    `json:"aud"`
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
		Nbf int64  `json:"nbf"`
	}
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil {
		return &aadError{http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed."}
	}
	var cert *x509.Certificate
	for _, cc := range c.certs {
		s1 := sha1.Sum(cc.Raw)
		s2 := sha256.Sum256(cc.Raw)
		if (hdr.X5t != "" && hdr.X5t == enc.EncodeToString(s1[:])) || (hdr.X5tS256 != "" && hdr.X5tS256 == enc.EncodeToString(s2[:])) {
			cert = cc
		}
	}
	if cert == nil {
		thumb := hdr.X5t
		if b, err := enc.DecodeString(thumb); err == nil {
			thumb = strings.ToUpper(fmt.Sprintf("%x", b))
		}
		return bad(700027, fmt.Sprintf("The certificate with identifier used to sign the client assertion is not registered on "+
			"application. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, "+
			"Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", thumb, c.id))
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return bad(700027, "Client assertion failed signature validation.")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	var err error
	switch hdr.Alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil)
	default:
		err = fmt.Errorf("unsupported alg %q", hdr.Alg)
	}
	if err != nil {
		return bad(700027, "Client assertion failed signature validation.")
	}
	if claims.Iss != c.id || claims.Sub != c.id {
		return bad(700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .")
	}
	now := s.clock()
	if claims.Exp == 0 || now.Unix() > claims.Exp+300 || (claims.Nbf != 0 && now.Unix() < claims.Nbf-300) {
		return bad(700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
			now.UTC().Format("2006-01-02T15:04:05.0000000Z"), time.Unix(claims.Nbf, 0).UTC().Format("2006-01-02T15:04:05.0000000Z"),
			time.Unix(claims.Exp, 0).UTC().Format("2006-01-02T15:04:05.0000000Z")))
	}
	var auds []string
	switch a := claims.Aud.(type) {
	case string:
		auds = []string{a}
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok {
				auds = append(auds, s)
			}
		}
	}
	for _, a := range auds {
		for _, base := range []string{requestBase(r), s.URL, "https://login.microsoftonline.com", "https://login.microsoftonline.us"} {
			for _, tn := range []string{tenant, s.TenantID, s.TenantDomain} {
				if strings.EqualFold(a, base+"/"+tn+"/oauth2/v2.0/token") || strings.EqualFold(a, base+"/"+tn+"/v2.0") {
					return nil
				}
			}
		}
	}
	return bad(700023, "Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .")
}

// generateClientCertificate makes an RSA 2048 key and a self-signed
// certificate valid for a year, returned as one PEM (certificate, then key).
func generateClientCertificate(subject string, now time.Time) ([]byte, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("simulator: generate key: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: strings.TrimPrefix(subject, "CN=")},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("simulator: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("simulator: parse certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("simulator: marshal key: %w", err)
	}
	var buf bytes.Buffer
	_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: pk})
	return buf.Bytes(), cert, nil
}

// authenticate checks the bearer token of an API request for family and
// one of roles; the error is the 401 or 403 to send.
func (s *Server) authenticate(r *http.Request, family string, roles []string) (*token, *apiError) {
	h := r.Header.Get("Authorization")
	unauth := func(msg string) *apiError {
		return &apiError{status: http.StatusUnauthorized, code: "InvalidAuthenticationToken", message: msg}
	}
	if h == "" {
		return nil, unauth("Access token is empty.")
	}
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		raw, ok = strings.CutPrefix(h, "bearer ")
	}
	raw = strings.TrimSpace(raw)
	if !ok || raw == "" {
		return nil, unauth("Access token is empty.")
	}
	t := s.st.tokens[raw]
	if t == nil {
		if strings.Count(raw, ".") != 2 {
			return nil, unauth("IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format.")
		}
		return nil, unauth("Access token validation failure. Invalid signature.")
	}
	if t.revoked || !s.clock().Before(t.expires) {
		return nil, unauth("Lifetime validation failed, the token is expired.")
	}
	if t.audience != audAny && t.audience != family {
		return nil, unauth("Access token validation failure. Invalid audience.")
	}
	for _, want := range roles {
		for _, have := range t.roles {
			if want == have {
				return t, nil
			}
		}
	}
	return nil, &apiError{status: http.StatusForbidden, code: "Forbidden", message: fmt.Sprintf(
		"Missing application roles. API required roles: %s, application roles: %s.", quoteList(roles), quoteList(t.roles))}
}

// requestBase is scheme://host of r as the client addressed it.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
