package alerts

import (
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/internal/restpoll"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// scheme is what --scheme prints. The argument names are a contract with
// inputs.conf.spec and the setup pages.
func scheme() modinput.Scheme {
	api := modinput.Arg{
		Name:        "api",
		Title:       "API",
		Description: "graph (default): Microsoft Graph security/alerts_v2, permission SecurityAlert.Read.All. legacy: Defender for Endpoint api/alerts with evidence, permission Alert.Read.All.",
	}
	return modinput.Scheme{
		Title:                 "Microsoft Defender alerts",
		Description:           "Alerts with their evidence from Microsoft Graph security/alerts_v2 or the legacy Defender for Endpoint API, with OAuth 2.0 client credentials.",
		UseExternalValidation: true,
		StreamingMode:         "xml",
		Args: restpoll.SchemeArgs(api,
			"Optional override of the API base URL (a regional Defender for Endpoint host such as https://us.api.security.microsoft.com, a proxy, a test server). http:// only for loopback hosts. Default: derived from environment and api."),
	}
}
