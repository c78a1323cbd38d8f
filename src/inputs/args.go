package inputs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// Environments are the Microsoft clouds an input can talk to.
var Environments = []string{"commercial", "gcc", "gcc_high", "dod"}

// LogLevelArg is the log_level argument every input has.
func LogLevelArg() modinput.Arg {
	return modinput.Arg{
		Name:        "log_level",
		Title:       "Log level",
		Description: "DEBUG, INFO (default), WARN or ERROR: the lowest level this input writes to splunkd.log.",
	}
}

// ProxyArgs are proxy_url and ca_file.
func ProxyArgs() []modinput.Arg {
	return []modinput.Arg{
		{Name: "proxy_url", Title: "Proxy URL", Description: "HTTPS proxy, e.g. http://proxy.example.com:3128. Empty means the standard HTTPS_PROXY/NO_PROXY variables apply."},
		{Name: "ca_file", Title: "CA bundle", Description: "Path to a PEM file of extra CA certificates to trust (TLS interception proxies). The system roots stay trusted."},
	}
}

// EntraArgs are the Entra ID (Azure AD) application credentials. required
// marks tenant_id and client_id as required on create.
func EntraArgs(required bool) []modinput.Arg {
	return []modinput.Arg{
		{Name: "tenant_id", Title: "Tenant ID", Description: "Entra ID tenant: its GUID or a verified domain such as contoso.onmicrosoft.com.", RequiredOnCreate: required},
		{Name: "client_id", Title: "Client ID", Description: "Application (client) ID of the registered Entra ID application.", RequiredOnCreate: required},
		{Name: "client_secret", Title: "Client secret", Description: "Client secret of the application. Moved into storage/passwords on first run and shown as ********."},
		{Name: "client_certificate", Title: "Client certificate", Description: "Instead of a secret: path to a PEM file holding the application's certificate and private key."},
		{Name: "environment", Title: "Cloud", Description: "commercial (default), gcc, gcc_high or dod: picks the login host, the API hosts and the token scope."},
	}
}

// EntraConfig is an Entra ID application credential read from a stanza.
// ClientSecret is empty until the input resolves it with Runtime.Secret.
type EntraConfig struct {
	TenantID        string
	ClientID        string
	ClientSecret    string
	CertificateFile string
	Environment     string
}

// EntraFromStanza reads the Entra ID parameters of st without resolving the
// secret. When required is false and neither tenant_id nor client_id is set,
// it returns a zero EntraConfig and no error.
func EntraFromStanza(st modinput.Stanza, required bool) (EntraConfig, error) {
	c := EntraConfig{
		TenantID:        st.Param("tenant_id"),
		ClientID:        st.Param("client_id"),
		CertificateFile: st.Param("client_certificate"),
	}
	env, err := st.OneOf("environment", "commercial", Environments...)
	if err != nil {
		return c, err
	}
	c.Environment = env
	if !required && c.TenantID == "" && c.ClientID == "" {
		return c, nil
	}
	if c.TenantID == "" {
		return c, st.Errorf("tenant_id", "is required: the Entra ID tenant GUID or domain")
	}
	if strings.ContainsAny(c.TenantID, "/?#% ") {
		return c, st.Errorf("tenant_id", "expected a tenant GUID or domain name, got %q", c.TenantID)
	}
	if c.ClientID == "" {
		return c, st.Errorf("client_id", "is required: the application (client) ID")
	}
	if st.Param("client_secret") == "" && c.CertificateFile == "" {
		return c, st.Errorf("client_secret", "is required unless client_certificate is set")
	}
	if c.CertificateFile != "" {
		if _, err := os.Stat(c.CertificateFile); err != nil {
			return c, st.Errorf("client_certificate", "cannot read the PEM file: %v", err)
		}
	}
	return c, nil
}

// IsLoopback reports whether host (a name or an address, without port) is a
// loopback address, where plain http:// and emulator connections are allowed.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// URLParam parses an optional URL parameter that must be https, or http on a
// loopback host.
func URLParam(st modinput.Stanza, name string) (*url.URL, error) {
	v := st.Param(name)
	if v == "" {
		return nil, nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, st.Errorf(name, "expected an https:// URL, got %q", v)
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return nil, st.Errorf(name, "plain http:// is allowed only for loopback hosts; use https:// for %q", u.Host)
	}
	if u.User != nil {
		return nil, st.Errorf(name, "must not carry credentials")
	}
	return u, nil
}

// HTTPClient builds the HTTP client for a stanza's proxy_url and ca_file: TLS
// verified against the system roots plus the extra CAs, proxy from proxy_url or
// else the standard environment variables.
func HTTPClient(st modinput.Stanza) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	if v := st.Param("proxy_url"); v != "" {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
			return nil, st.Errorf("proxy_url", "expected a proxy URL such as http://proxy.example.com:3128, got %q", redactURL(v))
		}
		tr.Proxy = http.ProxyURL(u)
	}
	tlsCfg, err := TLSConfig(st)
	if err != nil {
		return nil, err
	}
	tr.TLSClientConfig = tlsCfg
	tr.ResponseHeaderTimeout = 2 * time.Minute
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}, nil
}

// TLSConfig returns the TLS settings for a stanza: TLS 1.2 or later, verified
// against the system roots plus the CAs in ca_file.
func TLSConfig(st modinput.Stanza) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	f := st.Param("ca_file")
	if f == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(f)
	if err != nil {
		return nil, st.Errorf("ca_file", "cannot read: %v", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, st.Errorf("ca_file", "holds no PEM certificate: %s", f)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

func redactURL(v string) string {
	if u, err := url.Parse(v); err == nil && u.User != nil {
		u.User = url.User(modinput.Mask)
		return u.String()
	}
	return fmt.Sprintf("%.40s", v)
}
