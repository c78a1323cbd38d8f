package defender

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// UserAgentProduct is the product token of the User-Agent, following
// Microsoft's partner convention (M365DPartner-<vendor>-<product>).
const UserAgentProduct = "M365DPartner-TA-m365-defender"

// UserAgent returns the User-Agent for version, e.g.
// "M365DPartner-TA-m365-defender/1.0.0".
func UserAgent(version string) string {
	if version == "" {
		version = "0.0.0"
	}
	return UserAgentProduct + "/" + version
}

// ClientOptions configure a Client. BaseURL and Tokens are required.
type ClientOptions struct {
	// BaseURL is the API root, e.g. https://graph.microsoft.com.
	BaseURL string
	// Tokens supplies bearer tokens (usually a *TokenSource).
	Tokens TokenProvider
	// HTTPClient sends the requests (nil: http.DefaultClient).
	HTTPClient *http.Client
	// UserAgent is sent on every request (empty: UserAgent("")).
	UserAgent string
	// Graph adds "Prefer: include-unknown-enum-members" so that newer
	// enum members (awaitingAction, microsoftDefenderForCloud, …) come
	// through instead of unknownFutureValue.
	Graph bool
	// AltHosts are further hosts whose @odata.nextLink URLs are rebased onto
	// BaseURL (the cloud's default API host when BaseURL is an override).
	AltHosts []string
	Retry    RetryPolicy
	Clock    Clock        // nil: the system clock
	Logger   *slog.Logger // nil: no logging
}

// Client sends authenticated requests to one Microsoft API with retries.
// It is safe for concurrent use.
type Client struct {
	base     *url.URL
	tokens   TokenProvider
	http     *http.Client
	ua       string
	graph    bool
	altHosts []string
	retry    RetryPolicy
	clock    Clock
	logger   *slog.Logger
	calls    atomic.Int64
}

// NewClient checks o and returns a Client.
func NewClient(o ClientOptions) (*Client, error) {
	base, err := CheckBaseURL("api_url", o.BaseURL)
	if err != nil {
		return nil, err
	}
	if o.Tokens == nil {
		return nil, errors.New("defender: NewClient: no token provider")
	}
	c := &Client{
		base: base, tokens: o.Tokens, http: o.HTTPClient, ua: o.UserAgent, graph: o.Graph,
		retry: o.Retry.withDefaults(), clock: o.Clock, logger: o.Logger,
	}
	for _, h := range o.AltHosts {
		if u, err := url.Parse(h); err == nil && u.Host != "" {
			c.altHosts = append(c.altHosts, strings.ToLower(u.Host))
		}
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.ua == "" {
		c.ua = UserAgent("")
	}
	if c.clock == nil {
		c.clock = SystemClock()
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// BaseURL returns the API root in use.
func (c *Client) BaseURL() string { return c.base.String() }

// Calls counts the HTTP requests sent to the API (retries included, token
// requests excluded).
func (c *Client) Calls() int64 { return c.calls.Load() }

// Request is one API call.
type Request struct {
	Method string // default GET
	// Path is relative to the base URL ("/v1.0/security/incidents"), or an
	// absolute URL on the API's host (an @odata.nextLink).
	Path  string
	Query url.Values
	// Body is sent as JSON (Content-Type application/json) when non-nil.
	Body []byte
	// Permission is the application permission the call needs; a 403
	// names it.
	Permission string
	// MaxAttempts overrides the policy's attempts for 5xx and network
	// errors (0: policy).
	MaxAttempts int
	// Retry5xx allows retrying a POST after a 5xx or a broken connection
	// (it may have been applied). GET, PATCH, PUT and DELETE are always
	// retried.
	Retry5xx bool
	Header   http.Header
}

// URL returns the absolute URL r addresses.
func (c *Client) URL(r Request) (*url.URL, error) {
	var u *url.URL
	if strings.HasPrefix(r.Path, "http://") || strings.HasPrefix(r.Path, "https://") {
		nu, err := url.Parse(r.Path)
		if err != nil {
			return nil, fmt.Errorf("defender: bad link %q: %w", r.Path, err)
		}
		u, err = c.rebase(nu)
		if err != nil {
			return nil, err
		}
	} else {
		u = c.base.JoinPath(r.Path)
	}
	if len(r.Query) > 0 {
		q := u.Query()
		for k, vs := range r.Query {
			q[k] = vs
		}
		u.RawQuery = encodeQuery(q)
	}
	return u, nil
}

// rebase keeps a link on the base URL's host: a link to the base host is
// used as is, a link to one of AltHosts gets the base's scheme, host and
// path prefix, and any other host is refused, so that the bearer token is
// never sent elsewhere.
func (c *Client) rebase(u *url.URL) (*url.URL, error) {
	host := strings.ToLower(u.Host)
	if host == strings.ToLower(c.base.Host) {
		if err := checkRequestURL(u); err != nil {
			return nil, fmt.Errorf("defender: refused link %s: %w", u.Redacted(), err)
		}
		return u, nil
	}
	for _, h := range c.altHosts {
		if host == h {
			nu := *u
			nu.Scheme, nu.Host = c.base.Scheme, c.base.Host
			if p := c.base.Path; p != "" && !strings.HasPrefix(nu.Path, p+"/") {
				nu.Path = p + nu.Path
				nu.RawPath = ""
			}
			return &nu, nil
		}
	}
	return nil, fmt.Errorf("defender: refused link to unexpected host %q (API is %s)", u.Host, c.base.Host)
}

// encodeQuery is url.Values.Encode with OData's "$" left readable.
func encodeQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "%24", "$")
}

// Do sends r and returns the response when its status is 2xx; the caller
// closes its body. Otherwise it returns *APIError, *PermissionError (403),
// *AuthError or *NetworkError. It retries 429 after Retry-After (header,
// or the legacy APIs' "try again in N seconds"), 5xx and network errors
// with exponential backoff and jitter, and a 401 once with a fresh token.
// It logs every retry as WARN msg="retrying".
func (c *Client) Do(ctx context.Context, r Request) (*http.Response, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	u, err := c.URL(r)
	if err != nil {
		return nil, err
	}
	rawURL := u.String()
	maxAttempts := c.retry.MaxAttempts
	if r.MaxAttempts > 0 {
		maxAttempts = r.MaxAttempts
	}
	retry5xx := method != http.MethodPost || r.Retry5xx
	attempts, throttled, refreshed := 0, 0, false
	sent := 0 // HTTP requests sent for r, 1-based in the DEBUG line
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, err
		}
		req, err := c.newRequest(ctx, method, rawURL, r, tok)
		if err != nil {
			return nil, err
		}
		attempts++
		sent++
		c.calls.Add(1)
		start := c.clock.Now()
		resp, err := c.http.Do(req)
		c.logRequest(method, u, resp, err, c.clock.Now().Sub(start), sent)
		var wait time.Duration
		var kind ErrorKind
		var lastErr error
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			ne := &NetworkError{Op: "api", Host: u.Scheme + "://" + u.Host, TLS: isTLSError(err), Err: err}
			if ne.TLS || !isTransient(err) || !retry5xx || attempts >= maxAttempts {
				return nil, ne
			}
			wait, kind, lastErr = c.retry.Backoff(attempts), KindNetwork, ne
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			if resp.StatusCode == http.StatusPartialContent {
				c.logger.Warn("partial content", "url", rawURL, "warning", resp.Header.Get("Warning"))
			}
			return resp, nil
		default:
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			ae := parseAPIError(resp, body, method, rawURL)
			switch {
			case resp.StatusCode == http.StatusUnauthorized:
				c.tokens.Invalidate(tok)
				if !refreshed {
					refreshed = true
					attempts--
					c.logger.Debug("token refused, fetching a new one", "url", rawURL, "code", ae.Code)
					continue
				}
				return nil, ae
			case resp.StatusCode == http.StatusProxyAuthRequired:
				return nil, errProxyAuth()
			case resp.StatusCode == http.StatusForbidden:
				return nil, &PermissionError{Permission: r.Permission, API: ae}
			case resp.StatusCode == http.StatusTooManyRequests:
				throttled++
				attempts--
				if throttled > c.retry.MaxThrottled {
					return nil, ae
				}
				d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())
				if !ok {
					d, ok = retryAfterFromBody(ae.Message)
				}
				d, err := c.retry.throttleWait(d, ok, throttled, ae)
				if err != nil {
					return nil, err
				}
				ae.RetryAfter = d
				wait, kind, lastErr = d, KindThrottling, ae
			case resp.StatusCode >= 500:
				if !retry5xx || attempts >= maxAttempts {
					return nil, ae
				}
				wait = c.retry.Backoff(attempts)
				if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now()); ok && d > wait && d <= c.retry.MaxRetryAfter {
					wait = d
				}
				kind, lastErr = KindAPI, ae
			default:
				return nil, ae
			}
		}
		c.logger.Warn("retrying", "url", rawURL, "error", lastErr.Error(), "error_kind", string(kind),
			"attempt", attempts+throttled, "wait_ms", wait.Milliseconds())
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// logRequest writes the DEBUG line of one HTTP request: method, URL
// (secrets redacted), status (0 when no answer came, with the error),
// duration_ms and attempt (1 for the first send of a Request).
func (c *Client) logRequest(method string, u *url.URL, resp *http.Response, err error, d time.Duration, attempt int) {
	if !c.logger.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	args := []any{"method", method, "url", redactURL(u), "status", status,
		"duration_ms", d.Milliseconds(), "attempt", attempt}
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is logged already
		}
		args = append(args, "error", err.Error())
	}
	c.logger.Debug("request", args...)
}

// redactURL returns u for a log line: a password in the user info and the
// values of the client_secret and client_assertion query parameters are
// replaced by "xxxxx". API URLs carry neither; this guards against a
// caller ever putting one there.
func redactURL(u *url.URL) string {
	q := u.Query()
	found := false
	for k := range q {
		switch strings.ToLower(k) {
		case "client_secret", "client_assertion":
			q[k] = []string{"xxxxx"}
			found = true
		}
	}
	if !found {
		return u.Redacted()
	}
	nu := *u
	nu.RawQuery = encodeQuery(q)
	return nu.Redacted()
}

func (c *Client) newRequest(ctx context.Context, method, rawURL string, r Request, tok string) (*http.Request, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, fmt.Errorf("defender: %w", err)
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("client-request-id", newRequestID())
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.graph {
		req.Header.Set("Prefer", "include-unknown-enum-members")
	}
	return req, nil
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// DoJSON sends r and decodes a 2xx JSON answer into out (nil: discard).
func (c *Client) DoJSON(ctx context.Context, r Request, out any) error {
	resp, err := c.Do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("defender: %s %s: decoding the answer: %w", cmp.Or(r.Method, http.MethodGet), pathOf(r.Path), err)
	}
	return nil
}

// Page fetches one OData page and calls item for each object of its
// "value" array as it is decoded (see DecodePage). A page that breaks off
// or does not decode is fetched again (bounded, with backoff), so item may
// see the first objects of a page twice; callers de-duplicate. An error
// from item is returned unchanged and never retried.
func (c *Client) Page(ctx context.Context, r Request, item func(raw []byte) error) (PageInfo, error) {
	maxAttempts := c.retry.MaxAttempts
	if r.MaxAttempts > 0 {
		maxAttempts = r.MaxAttempts
	}
	for attempt := 1; ; attempt++ {
		resp, err := c.Do(ctx, r)
		if err != nil {
			return PageInfo{}, err
		}
		info, err := DecodePage(resp.Body, item)
		resp.Body.Close()
		if err == nil {
			return info, nil
		}
		var cbe *callbackError
		if errors.As(err, &cbe) {
			return info, cbe.err
		}
		if ctx.Err() != nil {
			return info, ctx.Err()
		}
		u, _ := c.URL(r)
		var syn *json.SyntaxError
		if !errors.As(err, &syn) && !errors.As(err, new(*malformedError)) {
			// The connection broke while the body was read.
			err = &NetworkError{Op: "api", Host: u.Scheme + "://" + u.Host, Err: err}
		}
		if attempt >= maxAttempts {
			return info, fmt.Errorf("defender: GET %s: %w", u.Redacted(), err)
		}
		wait := c.retry.Backoff(attempt)
		c.logger.Warn("retrying", "url", u.String(), "error", err.Error(), "error_kind", string(KindOf(err)),
			"attempt", attempt, "wait_ms", wait.Milliseconds())
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return info, err
		}
	}
}
