package splunkd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody caps how much of a response body is read.
const maxBody = 4 << 20

// Sentinel errors. ErrUnreachable wraps transport failures; the others are matched by errors.Is against an
// *Error with the corresponding HTTP status.
var (
	// ErrUnreachable is wrapped when splunkd cannot be reached at all: connection refused or reset, DNS
	// failure, TLS handshake or certificate failure, a dropped connection, a timeout.
	ErrUnreachable = errors.New("splunkd: unreachable")
	// ErrUnauthorized matches an *Error with status 401 (bad or expired session key).
	ErrUnauthorized = errors.New("splunkd: unauthorized")
	// ErrForbidden matches an *Error with status 403 (the session lacks a capability).
	ErrForbidden = errors.New("splunkd: forbidden")
	// ErrNotFound matches an *Error with status 404.
	ErrNotFound = errors.New("splunkd: not found")
	// ErrConflict matches an *Error with status 409 (an object with that name already exists).
	ErrConflict = errors.New("splunkd: conflict")
)

// Error is an HTTP error answered by splunkd. It carries the status and the text of splunkd's messages; it
// never holds a secret or the session key (both are redacted from the messages).
type Error struct {
	Method   string   // HTTP method of the request
	Path     string   // URL path of the request, escaped, without the query
	Status   int      // HTTP status code
	Messages []string // text of splunkd's <messages>, in order
}

// Error describes the request, the status and splunkd's messages.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "splunkd: %s %s: HTTP %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if len(e.Messages) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Messages, "; "))
	}
	return b.String()
}

// Is matches the status sentinels ErrUnauthorized, ErrForbidden, ErrNotFound and ErrConflict.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	}
	return false
}

// Client talks to one splunkd with one session key. It is safe for concurrent use.
type Client struct {
	base       *url.URL
	baseErr    error
	sessionKey string
	http       *http.Client
}

// New returns a client for serverURI (the server_uri splunkd gives the input, e.g. "https://127.0.0.1:8089")
// authenticating with sessionKey. httpClient decides TLS verification (see [LoopbackTLSClient]); nil means a
// client with Go's default verification and a 60 s timeout. A bad serverURI is reported by every call.
func New(serverURI, sessionKey string, httpClient *http.Client) *Client {
	c := &Client{sessionKey: sessionKey, http: httpClient}
	if c.http == nil {
		c.http = &http.Client{Timeout: 60 * time.Second}
	}
	c.base, c.baseErr = parseServerURI(serverURI)
	return c
}

// parseServerURI checks the scheme and host and refuses plain http to anything but loopback. Its errors do
// not quote the URI, which could hold user information.
func parseServerURI(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(s), "/"))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("splunkd: server_uri is not an absolute http(s) URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("splunkd: refusing to send the session key over plain http to %s; use https", u.Hostname())
		}
	default:
		return nil, fmt.Errorf("splunkd: server_uri scheme %q is not http or https", u.Scheme)
	}
	u.User = nil
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// do sends one request. path must already be escaped. form (may be nil) is sent as the POST body. redact
// lists values (secrets) that must not appear in an error; the session key is always redacted. On success it
// returns the body.
func (c *Client) do(ctx context.Context, method, path string, form url.Values, redact ...string) ([]byte, error) {
	if c.baseErr != nil {
		return nil, c.baseErr
	}
	u := *c.base
	u.RawPath = strings.TrimRight(c.base.EscapedPath(), "/") + path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, fmt.Errorf("splunkd: %s %s: bad path: %w", method, path, err)
	}
	u.Path = p
	u.RawQuery = "output_mode=json"
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("splunkd: %s %s: %w", method, path, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Authorization", "Splunk "+c.sessionKey)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("splunkd: %s %s: %w", method, path, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the repeated URL
		}
		return nil, fmt.Errorf("splunkd: %s %s: %w: %w", method, path, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("splunkd: %s %s: read response: %w", method, path, ctx.Err())
		}
		return nil, fmt.Errorf("splunkd: %s %s: read response: %w: %w", method, path, ErrUnreachable, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		secrets := append(append(make([]string, 0, len(redact)+1), redact...), c.sessionKey)
		msgs := decodeMessages(b)
		for i := range msgs {
			msgs[i] = redactAll(msgs[i], secrets...)
		}
		return nil, &Error{Method: method, Path: path, Status: resp.StatusCode, Messages: msgs}
	}
	return b, nil
}

// get sends a GET and decodes the feed.
func (c *Client) get(ctx context.Context, path string) (*feed, error) {
	b, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	f, err := decodeFeed(b)
	if err != nil {
		return nil, fmt.Errorf("splunkd: GET %s: %w", path, err)
	}
	return f, nil
}

// redactAll replaces every occurrence of each non-empty secret in s, in the raw and the URL-encoded spellings.
func redactAll(s string, secrets ...string) string {
	for _, v := range secrets {
		if v == "" {
			continue
		}
		for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			s = strings.ReplaceAll(s, form, "[REDACTED]")
		}
	}
	return s
}

// nsPath is the escaped path of an endpoint in app's namespace (owner nobody); rest is already escaped.
func nsPath(app, rest string) (string, error) {
	if app == "" {
		return "", errors.New("splunkd: no app given for the namespace")
	}
	return "/servicesNS/nobody/" + pathEscape(app) + "/" + rest, nil
}

// pathEscape percent-encodes a path segment: everything but RFC 3986 unreserved characters, as Splunk's own
// links do (':' becomes %3A, '/' %2F, '\' %5C), and the dots of a "." or ".." segment.
func pathEscape(s string) string {
	const hex = "0123456789ABCDEF"
	if s == "." || s == ".." {
		return strings.Repeat("%2E", len(s)) // never a dot segment a server would resolve
	}
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}
