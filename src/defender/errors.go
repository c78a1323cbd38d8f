package defender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrorKind classifies an error for the logging contract's error_kind key.
type ErrorKind string

// Error kinds, as the dashboards expect them.
const (
	KindAuth       ErrorKind = "auth"
	KindPermission ErrorKind = "permission"
	KindThrottling ErrorKind = "throttling"
	KindNetwork    ErrorKind = "network"
	KindConfig     ErrorKind = "config"
	KindAPI        ErrorKind = "api"
	KindInternal   ErrorKind = "internal"
)

// KindOf returns the kind of err: auth for token failures and rejected
// tokens, permission for 403, throttling for 429, network for transport and
// TLS failures, api for other Microsoft answers, config for *ConfigError,
// internal otherwise.
func KindOf(err error) ErrorKind {
	var (
		ae  *AuthError
		pe  *PermissionError
		ne  *NetworkError
		ce  *ConfigError
		api *APIError
		pg  *PageError
		oe  *OrderError
		re  *RetryAfterError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &re):
		return KindThrottling
	case errors.As(err, &pe):
		return KindPermission
	case errors.As(err, &ae):
		return KindAuth
	case errors.As(err, &ne):
		return KindNetwork
	case errors.As(err, &ce):
		return KindConfig
	case errors.As(err, &pg), errors.As(err, &oe):
		return KindAPI
	case errors.As(err, &api):
		switch {
		case api.Status == http.StatusUnauthorized:
			return KindAuth
		case api.Status == http.StatusForbidden:
			return KindPermission
		case api.Status == http.StatusTooManyRequests:
			return KindThrottling
		}
		return KindAPI
	}
	return KindInternal
}

// ConfigError is a problem with the client's own settings (a base URL, a
// certificate file, a proxy). Param names the input parameter.
type ConfigError struct {
	Param string
	Msg   string
	Err   error
}

func (e *ConfigError) Error() string {
	s := "defender: " + e.Param + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ConfigError) Unwrap() error { return e.Err }

// AuthError is a token request that Entra ID refused. It carries the OAuth
// error code, the AADSTS code and Microsoft's description; it never carries
// the client secret or the assertion.
type AuthError struct {
	Status        int    // HTTP status of the token endpoint's answer
	ErrorCode     string // RFC 6749 "error", e.g. invalid_client
	Code          string // e.g. AADSTS7000215 ("" when Microsoft gave none)
	Description   string // first line of error_description, without trace lines
	TraceID       string
	CorrelationID string
	TokenURL      string
	// RetryAfter is the wait a 429's Retry-After header asked for, when
	// RetryAfterSet.
	RetryAfter    time.Duration
	RetryAfterSet bool
}

func (e *AuthError) Error() string {
	var b strings.Builder
	b.WriteString("defender: token request refused")
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
		if e.ErrorCode != "" {
			b.WriteString(" " + e.ErrorCode)
		}
		b.WriteString(")")
	}
	if hint := e.Hint(); hint != "" {
		b.WriteString(": " + hint)
	}
	if e.Description != "" {
		b.WriteString("; Microsoft said: " + e.Description)
	} else if e.Code != "" {
		b.WriteString("; Microsoft said: " + e.Code)
	}
	if e.TraceID != "" {
		b.WriteString(" (trace id " + e.TraceID + ")")
	}
	return b.String()
}

// Param names the input parameter the AADSTS code points at, or "".
func (e *AuthError) Param() string {
	switch e.Code {
	case "AADSTS90002", "AADSTS900023", "AADSTS90023", "AADSTS700020":
		return "tenant_id"
	case "AADSTS700016", "AADSTS7000229", "AADSTS500113":
		return "client_id"
	case "AADSTS7000215", "AADSTS7000222", "AADSTS7000218", "AADSTS7000216":
		return "client_secret"
	case "AADSTS700027", "AADSTS700024", "AADSTS700023", "AADSTS700021", "AADSTS500133":
		return "client_certificate"
	case "AADSTS500011", "AADSTS1002012", "AADSTS70011":
		return "environment"
	}
	return ""
}

// Hint explains the AADSTS code in terms of the input's parameters.
func (e *AuthError) Hint() string {
	switch e.Code {
	case "AADSTS90002", "AADSTS900023", "AADSTS90023":
		return "tenant_id: tenant not found (check the tenant id or domain, and the environment)"
	case "AADSTS700016":
		return "client_id: application not found in the tenant"
	case "AADSTS7000215":
		return "client_secret: invalid client secret (use the secret's value, not its id)"
	case "AADSTS7000222":
		return "client_secret: the client secret has expired"
	case "AADSTS7000218":
		return "client_secret: no client secret or certificate was sent"
	case "AADSTS700027", "AADSTS700024", "AADSTS700023", "AADSTS700021":
		return "client_certificate: the client assertion was refused (is the certificate uploaded to the app registration?)"
	case "AADSTS500011":
		return "environment: the API resource is not known in this tenant's cloud"
	case "AADSTS1002012", "AADSTS70011":
		return "environment: invalid scope"
	}
	return ""
}

// tokenErrorBody is Entra ID's error answer.
type tokenErrorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

// parseAuthError builds an *AuthError from a token endpoint's answer.
func parseAuthError(status int, body []byte, tokenURL string) *AuthError {
	e := &AuthError{Status: status, TokenURL: tokenURL}
	var tb tokenErrorBody
	if json.Unmarshal(body, &tb) == nil {
		e.ErrorCode = tb.Error
		e.TraceID = tb.TraceID
		e.CorrelationID = tb.CorrelationID
		e.Description = firstLine(tb.Description)
		if len(tb.ErrorCodes) > 0 {
			e.Code = "AADSTS" + strconv.Itoa(tb.ErrorCodes[0])
		}
	}
	if e.Code == "" && strings.HasPrefix(e.Description, "AADSTS") {
		end := strings.IndexFunc(e.Description[6:], func(r rune) bool { return r < '0' || r > '9' })
		if end < 0 {
			end = len(e.Description) - 6
		}
		e.Code = e.Description[:6+end]
	}
	if e.ErrorCode == "" && e.Description == "" {
		e.Description = "HTTP " + strconv.Itoa(status) + " " + snippet(body)
	}
	return e
}

// APIError is a non-success answer of a Microsoft API.
type APIError struct {
	Status          int
	Code            string // error.code, e.g. BadRequest, TooManyRequests
	Message         string // error.message
	Target          string // error.target (legacy APIs)
	RequestID       string // request-id header or innerError.request-id
	ClientRequestID string // the id the client sent
	Date            string // innerError.date
	Method          string
	URL             string // the request URL (no secret is ever in it)
	RetryAfter      time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "defender: %s %s: HTTP %d", e.Method, e.URL, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request-id " + e.RequestID + ")")
	}
	return b.String()
}

// Temporary reports whether the request may succeed when retried.
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// PermissionError is a 403: the application lacks the permission Permission
// (or admin consent for it).
type PermissionError struct {
	Permission string
	API        *APIError
}

func (e *PermissionError) Error() string {
	msg := "defender: permission denied"
	if e.API != nil {
		msg += " on " + e.API.Method + " " + pathOf(e.API.URL)
	}
	if e.Permission != "" {
		msg += ": the application needs the " + e.Permission + " application permission with admin consent"
	}
	if e.API != nil && e.API.Message != "" {
		msg += "; Microsoft said: " + e.API.Message
	}
	return msg
}

func (e *PermissionError) Unwrap() error { return e.API }

// NetworkError is a request that got no HTTP answer: DNS, connect, TLS,
// timeout, or a connection that broke while a page was read.
type NetworkError struct {
	Op   string // "token" or "api"
	Host string // scheme://host of the URL tried
	TLS  bool   // certificate verification failed
	Err  error
}

func (e *NetworkError) Error() string {
	what := "cannot reach"
	if e.TLS {
		what = "TLS certificate not trusted for"
	}
	s := "defender: " + what + " " + e.Host
	if e.Op == "token" {
		s += " (token endpoint)"
	}
	s += ": " + e.Err.Error()
	if e.TLS {
		s += " (set ca_file to a CA bundle that signs it, or fix the proxy)"
	}
	return s
}

func (e *NetworkError) Unwrap() error { return e.Err }

// Param names the input parameter that points at the host.
func (e *NetworkError) Param() string {
	if e.Op == "token" {
		return "login_url"
	}
	return "api_url"
}

// isTLSError reports whether err is a certificate verification failure.
func isTLSError(err error) bool {
	var (
		ua  x509.UnknownAuthorityError
		ci  x509.CertificateInvalidError
		he  x509.HostnameError
		ve  *tls.CertificateVerificationError
		rhe tls.RecordHeaderError
	)
	return errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &he) ||
		errors.As(err, &ve) || errors.As(err, &rhe)
}

// isTransient reports whether a transport error is worth retrying.
func isTransient(err error) bool {
	if errors.Is(err, context.Canceled) || isTLSError(err) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false
	}
	return true
}

// graphErrorBody covers Graph's and the legacy APIs' error shapes.
type graphErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		Target     string `json:"target"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

func parseAPIError(resp *http.Response, body []byte, method, rawURL string) *APIError {
	e := &APIError{Status: resp.StatusCode, Method: method, URL: rawURL}
	var gb graphErrorBody
	if json.Unmarshal(body, &gb) == nil {
		e.Code = gb.Error.Code
		e.Message = gb.Error.Message
		e.Target = gb.Error.Target
		e.Date = gb.Error.InnerError.Date
		e.RequestID = gb.Error.InnerError.RequestID
		e.ClientRequestID = gb.Error.InnerError.ClientRequestID
	}
	if e.Message == "" && e.Code == "" {
		// The legacy APIs' throttling answer is flat:
		// {"code":"429","message":"API calls quota exceeded! ..."}.
		var flat struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
		}
		if json.Unmarshal(body, &flat) == nil && flat.Message != "" {
			e.Code, e.Message = strings.Trim(string(flat.Code), `"`), flat.Message
		}
	}
	if e.Message == "" && e.Code == "" {
		e.Message = snippet(body)
	}
	for _, h := range []string{"request-id", "x-ms-request-id"} {
		if v := resp.Header.Get(h); v != "" && e.RequestID == "" {
			e.RequestID = v
		}
	}
	if e.ClientRequestID == "" {
		e.ClientRequestID = resp.Header.Get("client-request-id")
	}
	return e
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// snippet returns the start of a non-JSON body, on one line.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func pathOf(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.IndexByte(raw[i+3:], '/'); j >= 0 {
			return raw[i+3+j:]
		}
	}
	return raw
}

// ErrorKind methods let callers classify errors without importing this
// package (the engine's KindedError interface).

func (e *AuthError) ErrorKind() string       { return string(KindAuth) }
func (e *PermissionError) ErrorKind() string { return string(KindPermission) }
func (e *NetworkError) ErrorKind() string    { return string(KindNetwork) }
func (e *ConfigError) ErrorKind() string     { return string(KindConfig) }
func (e *PageError) ErrorKind() string       { return string(KindAPI) }
func (e *APIError) ErrorKind() string        { return string(KindOf(e)) }
