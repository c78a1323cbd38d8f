package alerts

import (
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// scheme is what --scheme prints. The argument names are a contract with
// inputs.conf.spec and the setup pages.
func scheme() modinput.Scheme {
	args := inputs.EntraArgs(true)
	for i := range args {
		// client_certificate is an alternative to the secret.
		if args[i].Name == "client_secret" || args[i].Name == "client_certificate" {
			args[i].RequiredOnCreate = false
			args[i].RequiredOnEdit = false
		}
	}
	args = append(args,
		modinput.Arg{
			Name:        "api",
			Title:       "API",
			Description: "graph (default): Microsoft Graph security/alerts_v2, permission SecurityAlert.Read.All. legacy: Defender for Endpoint api/alerts with evidence, permission Alert.Read.All.",
		},
		modinput.Arg{
			Name:        "start_date",
			Title:       "Start date",
			Description: "RFC 3339 time to start from when the input has no checkpoint yet, e.g. 2026-01-01T00:00:00Z. Default: 30 days before the first run.",
		},
		modinput.Arg{
			Name:        "login_url",
			Title:       "Login URL",
			Description: "Optional override of the Entra ID authority (a proxy that rewrites hosts, a test server). http:// only for loopback hosts. Default: derived from environment.",
		},
		modinput.Arg{
			Name:        "api_url",
			Title:       "API URL",
			Description: "Optional override of the API base URL (a regional Defender for Endpoint host such as https://us.api.security.microsoft.com, a proxy, a test server). http:// only for loopback hosts. Default: derived from environment and api.",
		},
	)
	args = append(args, inputs.ProxyArgs()...)
	args = append(args, inputs.LogLevelArg())
	return modinput.Scheme{
		Title:                 "Microsoft Defender alerts",
		Description:           "Alerts with their evidence from Microsoft Graph security/alerts_v2 or the legacy Defender for Endpoint API, with OAuth 2.0 client credentials.",
		UseExternalValidation: true,
		StreamingMode:         "xml",
		Args:                  args,
	}
}
