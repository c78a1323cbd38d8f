package defender

import (
	"fmt"
	"strings"
)

// Environment names a Microsoft cloud, as the "environment" parameter spells it.
type Environment string

// The Microsoft clouds the add-on supports.
const (
	Commercial Environment = "commercial"
	GCC        Environment = "gcc"
	GCCHigh    Environment = "gcc_high"
	DoD        Environment = "dod"
)

// Environments lists the accepted environment names, default first.
func Environments() []string {
	return []string{string(Commercial), string(GCC), string(GCCHigh), string(DoD)}
}

// Cloud holds the base URLs of one Microsoft cloud. All URLs are https,
// without a trailing slash.
type Cloud struct {
	Environment Environment
	// LoginURL is the Entra ID authority host; tokens come from
	// LoginURL/<tenant>/oauth2/v2.0/token.
	LoginURL string
	// GraphURL is the Microsoft Graph root (GCC keeps the worldwide Graph).
	GraphURL string
	// XDRURL is the legacy Defender XDR API (incidents).
	XDRURL string
	// MDEURL is the legacy Defender for Endpoint API (alerts).
	MDEURL string
	// PortalURL is the Defender portal, as incidentWebUrl links to it.
	PortalURL string
}

// CloudFor returns the endpoints of the named cloud. An empty name means
// commercial; names are case-insensitive.
func CloudFor(env string) (Cloud, error) {
	switch Environment(strings.ToLower(strings.TrimSpace(env))) {
	case "", Commercial:
		return Cloud{
			Environment: Commercial,
			LoginURL:    "https://login.microsoftonline.com",
			GraphURL:    "https://graph.microsoft.com",
			XDRURL:      "https://api.security.microsoft.com",
			MDEURL:      "https://api.securitycenter.microsoft.com",
			PortalURL:   "https://security.microsoft.com",
		}, nil
	case GCC:
		return Cloud{
			Environment: GCC,
			LoginURL:    "https://login.microsoftonline.com",
			GraphURL:    "https://graph.microsoft.com",
			XDRURL:      "https://api-gcc.security.microsoft.us",
			MDEURL:      "https://api-gcc.securitycenter.microsoft.us",
			PortalURL:   "https://security.microsoft.com",
		}, nil
	case GCCHigh:
		return Cloud{
			Environment: GCCHigh,
			LoginURL:    "https://login.microsoftonline.us",
			GraphURL:    "https://graph.microsoft.us",
			XDRURL:      "https://api-gov.security.microsoft.us",
			MDEURL:      "https://api-gov.securitycenter.microsoft.us",
			PortalURL:   "https://security.microsoft.us",
		}, nil
	case DoD:
		return Cloud{
			Environment: DoD,
			LoginURL:    "https://login.microsoftonline.us",
			GraphURL:    "https://dod-graph.microsoft.us",
			XDRURL:      "https://api-gov.security.microsoft.us",
			MDEURL:      "https://api-gov.securitycenter.microsoft.us",
			PortalURL:   "https://security.apps.mil",
		}, nil
	}
	return Cloud{}, fmt.Errorf("defender: unknown environment %q (expected one of %s)", env, strings.Join(Environments(), ", "))
}

// Service is one of the three Microsoft APIs.
type Service int

// The APIs the add-on reads.
const (
	Graph Service = iota // Microsoft Graph security
	XDR                  // legacy Defender XDR API (api.security.microsoft.com)
	MDE                  // legacy Defender for Endpoint API (api.securitycenter.microsoft.com)
)

// String returns a short name for logs.
func (s Service) String() string {
	switch s {
	case Graph:
		return "graph"
	case XDR:
		return "defender_xdr"
	case MDE:
		return "defender_endpoint"
	}
	return fmt.Sprintf("service(%d)", int(s))
}

// BaseURL returns the API root of s in this cloud.
func (c Cloud) BaseURL(s Service) string {
	switch s {
	case XDR:
		return c.XDRURL
	case MDE:
		return c.MDEURL
	}
	return c.GraphURL
}

// Scope returns the client-credentials scope of s in this cloud:
// "<resource>/.default". It does not change when api_url points elsewhere
// (a regional host or a rewriting proxy still serves the same resource).
func (c Cloud) Scope(s Service) string {
	return Scope(c.BaseURL(s))
}

// Scope returns resource + "/.default", the scope that asks for every
// application permission granted on resource.
func Scope(resource string) string {
	return strings.TrimRight(resource, "/") + "/.default"
}

// TokenURL returns the v2.0 token endpoint of tenant under the authority
// loginURL (for example https://login.microsoftonline.com).
func TokenURL(loginURL, tenant string) string {
	return strings.TrimRight(loginURL, "/") + "/" + tenant + "/oauth2/v2.0/token"
}
