package defender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Credentials identify an Entra ID application. Exactly one of
// ClientSecret and Certificate is used; Certificate wins when both are set.
type Credentials struct {
	TenantID     string
	ClientID     string
	ClientSecret string
	Certificate  *Certificate
	// LoginURL is the authority, e.g. https://login.microsoftonline.com.
	LoginURL string
	// Scope is "<resource>/.default" (see Cloud.Scope).
	Scope string
}

// TokenProvider hands out bearer tokens. Token must be safe for concurrent
// use; Invalidate drops a token the API refused so the next Token fetches a
// new one.
type TokenProvider interface {
	Token(ctx context.Context) (string, error)
	Invalidate(token string)
}

// TokenSource fetches app-only tokens with the client-credentials grant and
// caches each one until shortly before it expires (a minute, or a quarter of
// the lifetime for short-lived tokens). It is safe for concurrent use.
type TokenSource struct {
	creds    Credentials
	tokenURL string
	http     *http.Client
	clock    Clock
	retry    RetryPolicy
	logger   *slog.Logger

	mu      sync.Mutex
	token   string
	refresh time.Time // when to fetch a new one
	fetches int
}

var _ TokenProvider = (*TokenSource)(nil)

// TokenSourceOptions are the optional parts of a TokenSource. Zero values
// mean: http.DefaultClient, the system clock, the default retry policy, no
// logging.
type TokenSourceOptions struct {
	HTTPClient *http.Client
	Clock      Clock
	Retry      RetryPolicy
	Logger     *slog.Logger
	UserAgent  string
}

// NewTokenSource checks creds and returns a caching token source.
func NewTokenSource(creds Credentials, o TokenSourceOptions) (*TokenSource, error) {
	switch {
	case strings.TrimSpace(creds.TenantID) == "":
		return nil, &ConfigError{Param: "tenant_id", Msg: "is required"}
	case strings.ContainsAny(creds.TenantID, "/?#% "):
		return nil, &ConfigError{Param: "tenant_id", Msg: fmt.Sprintf("%q is not a tenant id or domain", creds.TenantID)}
	case strings.TrimSpace(creds.ClientID) == "":
		return nil, &ConfigError{Param: "client_id", Msg: "is required"}
	case creds.Certificate == nil && creds.ClientSecret == "":
		return nil, &ConfigError{Param: "client_secret", Msg: "a client secret or a client_certificate is required"}
	case creds.Scope == "":
		return nil, &ConfigError{Param: "environment", Msg: "no token scope"}
	}
	login := creds.LoginURL
	if login == "" {
		login = "https://login.microsoftonline.com"
	}
	if _, err := CheckBaseURL("login_url", login); err != nil {
		return nil, err
	}
	ts := &TokenSource{
		creds:    creds,
		tokenURL: TokenURL(login, url.PathEscape(creds.TenantID)),
		http:     o.HTTPClient,
		clock:    o.Clock,
		retry:    o.Retry.withDefaults(),
		logger:   o.Logger,
	}
	if ts.http == nil {
		ts.http = http.DefaultClient
	}
	if o.UserAgent != "" {
		ts.http = withUserAgent(ts.http, o.UserAgent)
	}
	if ts.clock == nil {
		ts.clock = SystemClock()
	}
	if ts.logger == nil {
		ts.logger = slog.New(slog.DiscardHandler)
	}
	return ts, nil
}

// TokenURL is the token endpoint in use.
func (ts *TokenSource) TokenURL() string { return ts.tokenURL }

// Fetches counts the token requests that succeeded.
func (ts *TokenSource) Fetches() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.fetches
}

// Token returns a cached token or fetches a new one. Failures are
// *AuthError (Entra ID refused) or *NetworkError (no answer); transient
// failures (5xx, 429, network) are retried first.
func (ts *TokenSource) Token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.token != "" && ts.clock.Now().Before(ts.refresh) {
		return ts.token, nil
	}
	tok, lifetime, err := ts.fetch(ctx)
	if err != nil {
		return "", err
	}
	margin := time.Minute
	if lifetime/4 < margin {
		margin = lifetime / 4
	}
	ts.token = tok
	ts.refresh = ts.clock.Now().Add(lifetime - margin)
	ts.fetches++
	return tok, nil
}

// Invalidate forgets token if it is the cached one.
func (ts *TokenSource) Invalidate(token string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.token == token {
		ts.token = ""
	}
}

func (ts *TokenSource) fetch(ctx context.Context) (string, time.Duration, error) {
	throttled := 0
	for attempt := 1; ; attempt++ {
		tok, lifetime, err := ts.fetchOnce(ctx)
		if err == nil {
			return tok, lifetime, nil
		}
		if ctx.Err() != nil {
			return "", 0, ctx.Err()
		}
		var (
			ae   *AuthError
			ne   *NetworkError
			wait time.Duration
			kind ErrorKind
		)
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
			throttled++
			if throttled > ts.retry.MaxThrottled {
				return "", 0, err
			}
			d, ok := ae.RetryAfter, ae.RetryAfterSet
			if !ok {
				d, ok = retryAfterFromBody(ae.Description)
			}
			var werr error
			if wait, werr = ts.retry.throttleWait(d, ok, throttled, err); werr != nil {
				return "", 0, werr
			}
			kind = KindThrottling
		case errors.As(err, &ae) && ae.Status >= 500 && attempt < ts.retry.MaxAttempts:
			wait, kind = ts.retry.Backoff(attempt), KindAPI
		case errors.As(err, &ne) && !ne.TLS && isTransient(ne.Err) && attempt < ts.retry.MaxAttempts:
			wait, kind = ts.retry.Backoff(attempt), KindNetwork
		default:
			return "", 0, err
		}
		ts.logger.Warn("retrying", "op", "token", "error", err.Error(), "error_kind", string(kind),
			"attempt", attempt, "wait_ms", wait.Milliseconds())
		if err := ts.clock.Sleep(ctx, wait); err != nil {
			return "", 0, err
		}
	}
}

func (ts *TokenSource) fetchOnce(ctx context.Context) (string, time.Duration, error) {
	conf := &clientcredentials.Config{
		ClientID:  ts.creds.ClientID,
		TokenURL:  ts.tokenURL,
		Scopes:    []string{ts.creds.Scope},
		AuthStyle: oauth2.AuthStyleInParams,
	}
	if c := ts.creds.Certificate; c != nil {
		a, err := c.Assertion(ts.creds.ClientID, ts.tokenURL, ts.clock.Now())
		if err != nil {
			return "", 0, err
		}
		conf.EndpointParams = url.Values{
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {a},
		}
	} else {
		conf.ClientSecret = ts.creds.ClientSecret
	}
	tok, err := conf.Token(context.WithValue(ctx, oauth2.HTTPClient, ts.http))
	if err != nil {
		return "", 0, ts.wrapError(err)
	}
	lifetime := time.Duration(tok.ExpiresIn) * time.Second
	if lifetime <= 0 && !tok.Expiry.IsZero() {
		lifetime = time.Until(tok.Expiry)
	}
	if lifetime <= 0 {
		lifetime = time.Hour
	}
	return tok.AccessToken, lifetime, nil
}

// wrapError turns x/oauth2's errors into ours. x/oauth2 never puts the
// request (and so the secret) into its errors; we keep only the answer.
func (ts *TokenSource) wrapError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if status == http.StatusProxyAuthRequired {
			return errProxyAuth()
		}
		ae := parseAuthError(status, re.Body, ts.tokenURL)
		if re.Response != nil && status == http.StatusTooManyRequests {
			ae.RetryAfter, ae.RetryAfterSet = ParseRetryAfter(re.Response.Header.Get("Retry-After"), ts.clock.Now())
		}
		return ae
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		u, _ := url.Parse(ts.tokenURL)
		host := ts.tokenURL
		if u != nil {
			host = u.Scheme + "://" + u.Host
		}
		return &NetworkError{Op: "token", Host: host, TLS: isTLSError(ue.Err), Err: ue.Err}
	}
	return &AuthError{TokenURL: ts.tokenURL, Description: err.Error()}
}

// withUserAgent returns a client whose requests carry ua unless they set
// their own User-Agent.
func withUserAgent(c *http.Client, ua string) *http.Client {
	cc := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc.Transport = uaTransport{base: base, ua: ua}
	return &cc
}

type uaTransport struct {
	base http.RoundTripper
	ua   string
}

func (t uaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.ua)
	}
	return t.base.RoundTrip(req)
}
