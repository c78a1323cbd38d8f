package restpoll

import (
	"os"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// DefaultLookback is how far back the first run starts without start_date.
const DefaultLookback = 30 * 24 * time.Hour

// Config is the part of a stanza every polling REST input reads.
type Config struct {
	Stanza modinput.Stanza
	Entra  inputs.EntraConfig // ClientSecret is resolved by Connect
	// API is "graph" (Microsoft Graph) or "legacy" (the input's older
	// Defender API).
	API string
	// StartDate is where a run without checkpoint starts; zero means
	// DefaultLookback before that run.
	StartDate time.Time
	// LoginURL and APIURL override the cloud's hosts ("" keeps them).
	LoginURL, APIURL string
	// ProxyURL and CAFile are the proxy_url and ca_file parameters ("":
	// no proxy, the system's CA bundle).
	ProxyURL, CAFile string

	graph, legacy defender.Collection // what api=graph and api=legacy read
}

// ReadConfig reads the shared parameters of st: the Entra ID credentials,
// api (default graph), start_date, login_url, api_url, proxy_url and
// ca_file. graph and legacy are the list endpoints the two values of api
// read. It does not validate the parameters (see Validate): an input reads
// its own first.
func ReadConfig(st modinput.Stanza, graph, legacy defender.Collection) (Config, error) {
	c := Config{Stanza: st, graph: graph, legacy: legacy}
	var err error
	if c.Entra, err = inputs.EntraFromStanza(st, true); err != nil {
		return c, err
	}
	if c.API, err = st.OneOf("api", "graph", "graph", "legacy"); err != nil {
		return c, err
	}
	if c.StartDate, err = st.Time("start_date", time.Time{}); err != nil {
		return c, err
	}
	c.LoginURL, c.APIURL = st.Param("login_url"), st.Param("api_url")
	c.ProxyURL, c.CAFile = st.Param("proxy_url"), st.Param("ca_file")
	return c, nil
}

// Validate checks c; its errors name the stanza and the parameter.
func (c Config) Validate() error {
	st := c.Stanza
	if c.API != "graph" && c.API != "legacy" {
		return st.Errorf("api", "expected graph or legacy, got %q", c.API)
	}
	if _, err := defender.CloudFor(c.Entra.Environment); err != nil {
		return st.Errorf("environment", "%v", err)
	}
	for _, p := range []struct{ name, value string }{{"login_url", c.LoginURL}, {"api_url", c.APIURL}} {
		if p.value == "" {
			continue
		}
		if _, err := defender.CheckBaseURL(p.name, p.value); err != nil {
			if ce, ok := err.(*defender.ConfigError); ok {
				return st.Errorf(p.name, "%s", ce.Msg)
			}
			return st.Errorf(p.name, "%v", err)
		}
	}
	if c.ProxyURL != "" {
		if _, err := defender.ParseProxyURL(c.ProxyURL); err != nil {
			return st.Errorf("proxy_url", "expected http://host:port or https://host:port")
		}
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); err != nil {
			return st.Errorf("ca_file", "cannot read the CA bundle: %v", err)
		}
	}
	if !c.StartDate.IsZero() && c.StartDate.After(time.Now().Add(24*time.Hour)) {
		return st.Errorf("start_date", "%s is in the future", c.StartDate.Format(time.RFC3339))
	}
	return nil
}

// Collection is the list endpoint the stanza reads; its Service is the API
// the client connects to.
func (c Config) Collection() defender.Collection {
	if c.API == "legacy" {
		return c.legacy
	}
	return c.graph
}
