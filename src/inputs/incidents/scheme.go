package incidents

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
		Description: "graph (default): Microsoft Graph security/incidents, permission SecurityIncident.Read.All. legacy: Microsoft 365 Defender api/incidents, permission Incident.Read.All.",
	}
	expand := modinput.Arg{
		Name:        "expand_alerts",
		Title:       "Collect alerts",
		Description: "Whether each incident's alerts, with their evidence, are collected and written as events of their own (sourcetype ms365:defender:incident:alerts). Default: true.",
		DataType:    modinput.Boolean,
	}
	return modinput.Scheme{
		Title:                 "Microsoft Defender XDR incidents",
		Description:           "Incidents with their alerts and evidence from Microsoft Graph security/incidents or the legacy Microsoft 365 Defender API, with OAuth 2.0 client credentials.",
		UseExternalValidation: true,
		UseSingleInstance:     false,
		StreamingMode:         "xml",
		Args: restpoll.SchemeArgs(api,
			"Optional override of the API base URL (a regional host, a proxy that rewrites hosts, a test server). http:// only for loopback hosts. Default: derived from environment and api.",
			expand),
	}
}
