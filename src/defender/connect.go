package defender

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
)

// ConnectOptions describe an input's connection to one Microsoft API.
type ConnectOptions struct {
	Environment string  // commercial (default), gcc, gcc_high, dod
	Service     Service // which API
	TenantID    string
	ClientID    string
	// ClientSecret or Certificate authenticates the app; Certificate wins.
	ClientSecret string
	Certificate  *Certificate
	// LoginURL and APIURL override the cloud's hosts ("" keeps them).
	LoginURL, APIURL string
	HTTPClient       *http.Client // nil: http.DefaultClient
	UserAgent        string       // "" : UserAgent(BuildVersion())
	Logger           *slog.Logger
	Clock            Clock
	Retry            RetryPolicy
}

// Connect builds the token source and the API client for o. The scope
// always comes from the cloud and service, so that api_url may point at a
// regional host or a rewriting proxy.
func Connect(o ConnectOptions) (*Client, *TokenSource, error) {
	cloud, err := CloudFor(o.Environment)
	if err != nil {
		return nil, nil, &ConfigError{Param: "environment", Msg: err.Error()}
	}
	login := cloud.LoginURL
	if o.LoginURL != "" {
		u, err := CheckBaseURL("login_url", o.LoginURL)
		if err != nil {
			return nil, nil, err
		}
		login = u.String()
	}
	base := cloud.BaseURL(o.Service)
	var alt []string
	if o.APIURL != "" {
		u, err := CheckBaseURL("api_url", o.APIURL)
		if err != nil {
			return nil, nil, err
		}
		alt = append(alt, base)
		base = u.String()
	}
	ua := o.UserAgent
	if ua == "" {
		ua = UserAgent(BuildVersion())
	}
	ts, err := NewTokenSource(Credentials{
		TenantID: o.TenantID, ClientID: o.ClientID, ClientSecret: o.ClientSecret, Certificate: o.Certificate,
		LoginURL: login, Scope: cloud.Scope(o.Service),
	}, TokenSourceOptions{HTTPClient: o.HTTPClient, Clock: o.Clock, Retry: o.Retry, Logger: o.Logger, UserAgent: ua})
	if err != nil {
		return nil, nil, err
	}
	c, err := NewClient(ClientOptions{
		BaseURL: base, Tokens: ts, HTTPClient: o.HTTPClient, UserAgent: ua, Graph: o.Service == Graph,
		AltHosts: alt, Retry: o.Retry, Clock: o.Clock, Logger: o.Logger,
	})
	if err != nil {
		return nil, nil, err
	}
	return c, ts, nil
}

// ParamOf names the input parameter an error from this package points at,
// or "" when it points at none in particular: tenant_id, client_id,
// client_secret, client_certificate or environment for token refusals,
// login_url or api_url for unreachable hosts and TLS failures, client_id for
// missing permissions (the app registration needs them), the parameter of a
// *ConfigError.
func ParamOf(err error) string {
	var (
		ae  *AuthError
		pe  *PermissionError
		ne  *NetworkError
		ce  *ConfigError
		api *APIError
	)
	switch {
	case errors.As(err, &ce):
		return ce.Param
	case errors.As(err, &ae):
		if p := ae.Param(); p != "" {
			return p
		}
		if ae.ErrorCode == "invalid_client" {
			return "client_secret"
		}
		return ""
	case errors.As(err, &pe):
		return "client_id"
	case errors.As(err, &ne):
		return ne.Param()
	case errors.As(err, &api) && api.Status == http.StatusUnauthorized:
		return "environment"
	}
	return ""
}

// BuildVersion returns the add-on version stamped into the binary with
// -ldflags "-X main.version=…", or "dev".
func BuildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	for _, s := range bi.Settings {
		if s.Key != "-ldflags" {
			continue
		}
		for _, f := range strings.Fields(s.Value) {
			if v, ok := strings.CutPrefix(f, "main.version="); ok && v != "" {
				return v
			}
		}
	}
	return "dev"
}
