package restpoll

import (
	"context"
	"net/url"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// ConnectOptions are what Connect needs beyond the Config.
type ConnectOptions struct {
	// Clock replaces the system clock for backoff and token expiry (nil:
	// the system clock).
	Clock defender.Clock
	// Retry replaces the default retry policy (zero: the default).
	Retry defender.RetryPolicy
	// Check is set for the live check of --validate-arguments: a clear
	// client_secret is used as it is instead of being moved into
	// storage/passwords (the input does not exist yet, so it could not be
	// masked); a masked value is read back as usual.
	Check bool
}

// Connect resolves the stanza's secret and builds the client of the API
// cfg.Collection belongs to. Its errors name the stanza and the parameter
// at fault.
func Connect(ctx context.Context, rt *inputs.Runtime, cfg Config, o ConnectOptions) (*defender.Client, error) {
	st := cfg.Stanza
	var secret string
	var err error
	if v := st.Param("client_secret"); o.Check && v != modinput.Mask {
		if rt.Secrets != nil {
			rt.Secrets.Add(v)
		}
		secret = v
	} else if secret, err = rt.Secret(ctx, st, "client_secret"); err != nil {
		return nil, err
	}
	var cert *defender.Certificate
	if f := cfg.Entra.CertificateFile; f != "" {
		if cert, err = defender.LoadCertificate(f); err != nil {
			return nil, WithParam(st, err)
		}
	}
	if u, err := url.Parse(cfg.ProxyURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && rt.Secrets != nil {
			rt.Secrets.Add(pw) // a proxy password is a secret too
		}
	}
	hc := rt.HTTPClient
	if hc == nil {
		if hc, err = defender.NewHTTPClient(defender.HTTPOptions{ProxyURL: cfg.ProxyURL, CAFile: cfg.CAFile}); err != nil {
			return nil, WithParam(st, err)
		}
	}
	client, _, err := defender.Connect(defender.ConnectOptions{
		Environment: cfg.Entra.Environment, Service: cfg.Collection().Service(),
		TenantID: cfg.Entra.TenantID, ClientID: cfg.Entra.ClientID,
		ClientSecret: secret, Certificate: cert,
		LoginURL: cfg.LoginURL, APIURL: cfg.APIURL,
		HTTPClient: hc, Logger: Logger(rt), Clock: o.Clock, Retry: o.Retry,
	})
	return client, WithParam(st, err)
}

// CheckRetry is the retry policy of the live check: one retry, short
// waits (splunkd waits for the answer).
func CheckRetry() defender.RetryPolicy {
	return defender.RetryPolicy{
		MaxAttempts: 2, MaxThrottled: 2, BaseDelay: 500 * time.Millisecond, MaxDelay: 2 * time.Second, MaxRetryAfter: 5 * time.Second,
	}
}

// Check is the live check of --validate-arguments: it connects (with
// CheckRetry unless o.Retry is set) and reads one object ($top=1) of
// cfg.Collection. Its errors name the parameter at fault.
func Check(ctx context.Context, rt *inputs.Runtime, cfg Config, o ConnectOptions) error {
	if o.Retry == (defender.RetryPolicy{}) {
		o.Retry = CheckRetry()
	}
	o.Check = true
	client, err := Connect(ctx, rt, cfg, o)
	if err != nil {
		return err
	}
	coll := cfg.Collection()
	q := url.Values{"$top": {"1"}}
	err = client.DoJSON(ctx, defender.Request{Path: coll.Path(), Query: q, Permission: coll.Permission(), MaxAttempts: 2}, nil)
	return WithParam(cfg.Stanza, err)
}
