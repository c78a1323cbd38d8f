package defender

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// HTTPOptions configures the *http.Client NewHTTPClient builds.
type HTTPOptions struct {
	// ProxyURL is an http:// or https:// proxy. Empty means the standard
	// HTTPS_PROXY / HTTP_PROXY / NO_PROXY variables.
	ProxyURL string
	// CAFile is a PEM bundle trusted in addition to the system roots.
	CAFile string
	// Timeout bounds one request including reading its body (default 2 min).
	Timeout time.Duration
}

// NewHTTPClient builds the client used for Microsoft's endpoints: TLS 1.2+
// verified against the system roots plus CAFile, the given or environment
// proxy, and redirects refused when they would leave https.
func NewHTTPClient(o HTTPOptions) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	if o.ProxyURL != "" {
		pu, err := ParseProxyURL(o.ProxyURL)
		if err != nil {
			return nil, err
		}
		tr.Proxy = http.ProxyURL(pu)
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pool, err := loadCAFile(o.CAFile)
		if err != nil {
			return nil, err
		}
		tlsConf.RootCAs = pool
	}
	tr.TLSClientConfig = tlsConf
	tr.ResponseHeaderTimeout = 90 * time.Second
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: checkRedirect}, nil
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("defender: stopped after 5 redirects")
	}
	if err := checkRequestURL(req.URL); err != nil {
		return fmt.Errorf("defender: refused redirect: %w", err)
	}
	return nil
}

// errProxyAuth is the proxy refusing its credentials (HTTP 407).
func errProxyAuth() error {
	return &ConfigError{Param: "proxy_url", Msg: "the proxy refused the credentials (HTTP 407 Proxy Authentication Required); set user:password@ in proxy_url"}
}

// ParseProxyURL checks a proxy_url value. Its error never repeats a
// password the URL may carry.
func ParseProxyURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, &ConfigError{Param: "proxy_url", Msg: "expected http://host:port or https://host:port (optionally with user:password@)"}
	}
	return u, nil
}

func loadCAFile(path string) (*x509.CertPool, error) {
	pemData, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{Param: "ca_file", Msg: "cannot read CA bundle", Err: err}
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, &ConfigError{Param: "ca_file", Msg: fmt.Sprintf("%s holds no PEM certificate", path)}
	}
	return pool, nil
}

// CheckBaseURL validates a login_url or api_url override: an absolute
// https:// URL, or http:// for a loopback host only (localhost, 127.0.0.0/8,
// ::1). It returns the URL without a trailing slash. param names the
// parameter in the error.
func CheckBaseURL(param, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, &ConfigError{Param: param, Msg: fmt.Sprintf("%q is not an absolute URL (expected https://host[:port][/path])", raw)}
	}
	if u.User != nil {
		return nil, &ConfigError{Param: param, Msg: "credentials in the URL are not allowed"}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, &ConfigError{Param: param, Msg: fmt.Sprintf("%q must not have a query or fragment", raw)}
	}
	if err := checkRequestURL(u); err != nil {
		return nil, &ConfigError{Param: param, Msg: err.Error()}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// checkRequestURL enforces https, or http to loopback.
func checkRequestURL(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("plain http:// is allowed only for loopback hosts (localhost, 127.0.0.1, ::1), not %q; use https://", u.Hostname())
	}
	return fmt.Errorf("unsupported URL scheme %q (expected https)", u.Scheme)
}

// IsLoopback reports whether host (without port) is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
