package storage

import (
	"fmt"
	"net/url"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/azstorage"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// Scheme name and defaults.
const (
	SchemeName             = "m365_defender_storage"
	DefaultContainerPrefix = "insights-logs-advancedhunting-"
	DefaultSourcetype      = "ms:defender:eventhub"
	// DefaultStartWindow is how far back the first run reads when start_date is empty.
	DefaultStartWindow = 24 * time.Hour
)

// Parameter names of the scheme (a contract with inputs.conf.spec and the UI).
const (
	ParamConnectionString = "connection_string"
	ParamAccountURL       = "account_url"
	ParamContainerPrefix  = "container_prefix"
	ParamStartDate        = "start_date"
	ParamTenantID         = "tenant_id"
	ParamClientID         = "client_id"
	ParamClientSecret     = "client_secret"
	ParamClientCert       = "client_certificate"
	ParamEnvironment      = "environment"
	ParamProxyURL         = "proxy_url"
	ParamCAFile           = "ca_file"
	ParamLogLevel         = "log_level"
)

// Config is one m365_defender_storage stanza, parsed.
type Config struct {
	// Stanza is the full stanza name, e.g. "m365_defender_storage://prod".
	Stanza string
	// ConnectionString is the clear storage connection string; empty when
	// AccountURL is used. Secret: never log it.
	ConnectionString string
	// AccountURL is the blob endpoint used with Entra ID credentials, e.g.
	// https://account.blob.core.windows.net; empty when ConnectionString is used.
	AccountURL string
	// Entra holds the Entra ID app credentials used with AccountURL.
	Entra inputs.EntraConfig
	// ContainerPrefix selects the containers to read; never empty.
	ContainerPrefix string
	// StartDate is the oldest hour read when a blob has no checkpoint; the
	// zero value means 24 hours before the first run.
	StartDate time.Time
	// ProxyURL and CAFile shape the HTTP client; empty means the environment's
	// proxy settings and the system roots.
	ProxyURL, CAFile string
	// Index, Host and Sourcetype are stamped on events ("" leaves index and
	// host to splunkd); Sourcetype defaults to DefaultSourcetype.
	Index, Host, Sourcetype string
}

// NewConfig parses and validates a stanza. Secret parameters must already hold
// their clear values (see Kind, which resolves them through inputs.Runtime).
func NewConfig(st modinput.Stanza) (Config, error) {
	c := Config{
		Stanza:           st.Name,
		ConnectionString: st.Param(ParamConnectionString),
		AccountURL:       st.Param(ParamAccountURL),
		ContainerPrefix:  st.Param(ParamContainerPrefix),
		ProxyURL:         st.Param(ParamProxyURL),
		CAFile:           st.Param(ParamCAFile),
		Index:            st.Param("index"),
		Host:             st.Param("host"),
		Sourcetype:       st.Param("sourcetype"),
	}
	if c.ContainerPrefix == "" {
		c.ContainerPrefix = DefaultContainerPrefix
	}
	if c.Sourcetype == "" {
		c.Sourcetype = DefaultSourcetype
	}
	var err error
	if c.StartDate, err = st.Time(ParamStartDate, time.Time{}); err != nil {
		return Config{}, err
	}
	if c.AccountURL != "" && c.ConnectionString == "" {
		if c.Entra, err = inputs.EntraFromStanza(st, true); err != nil {
			return Config{}, err
		}
		c.Entra.ClientSecret = st.Param(ParamClientSecret)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks the configuration. Messages name the stanza and the
// parameter and never contain a secret.
func (c Config) Validate() error {
	st := modinput.Stanza{Name: c.Stanza}
	switch {
	case c.ConnectionString != "" && c.AccountURL != "":
		return st.Errorf(ParamAccountURL, "set either connection_string or account_url (with Entra ID credentials), not both")
	case c.ConnectionString == "" && c.AccountURL == "":
		return st.Errorf(ParamConnectionString, "required: a storage account connection string, or account_url with tenant_id, client_id and client_secret or client_certificate")
	case c.ConnectionString == modinput.Mask:
		return st.Errorf(ParamConnectionString, "the value is still masked (%s); the clear value could not be read from storage/passwords", modinput.Mask)
	case c.ConnectionString != "":
		if _, err := azstorage.ParseConnString(c.ConnectionString); err != nil {
			return st.Errorf(ParamConnectionString, "%v", err)
		}
	default:
		if err := azstorage.CheckEndpoint(c.AccountURL); err != nil {
			return st.Errorf(ParamAccountURL, "%v", err)
		}
		if c.Entra.TenantID == "" {
			return st.Errorf(ParamTenantID, "required with account_url: the directory (tenant) ID of the Entra ID app")
		}
		if c.Entra.ClientID == "" {
			return st.Errorf(ParamClientID, "required with account_url: the application (client) ID of the Entra ID app")
		}
		if c.Entra.ClientSecret == "" && c.Entra.CertificateFile == "" {
			return st.Errorf(ParamClientSecret, "required with account_url: a client secret, or client_certificate (a PEM or PKCS#12 file)")
		}
		if c.Entra.ClientSecret != "" && c.Entra.CertificateFile != "" {
			return st.Errorf(ParamClientCert, "set either client_secret or client_certificate, not both")
		}
		if c.Entra.ClientSecret == modinput.Mask {
			return st.Errorf(ParamClientSecret, "the value is still masked (%s); the clear value could not be read from storage/passwords", modinput.Mask)
		}
		if _, err := cloudFor(c.Entra.Environment); err != nil {
			return st.Errorf(ParamEnvironment, "%v", err)
		}
	}
	if err := checkContainerPrefix(c.ContainerPrefix); err != nil {
		return st.Errorf(ParamContainerPrefix, "%v", err)
	}
	if c.ProxyURL != "" {
		u, err := url.Parse(c.ProxyURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return st.Errorf(ParamProxyURL, "expected an http:// or https:// URL with a host, such as http://proxy.example.com:3128")
		}
	}
	return nil
}

// checkContainerPrefix accepts what can start a container name: lower-case
// letters, digits and hyphens, at most 63 characters.
func checkContainerPrefix(p string) error {
	if len(p) > 63 {
		return fmt.Errorf("at most 63 characters, got %d", len(p))
	}
	for i, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("container names hold only lower-case letters, digits and hyphens; character %d is %q", i+1, r)
		}
	}
	return nil
}
