package incidents

import (
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// scheme is what --scheme prints. The argument names are a contract with
// inputs.conf.spec and the setup pages.
func scheme() modinput.Scheme {
	args := entraArgs()
	args = append(args,
		modinput.Arg{
			Name:        "api",
			Title:       "API",
			Description: "graph (default): Microsoft Graph security/incidents, permission SecurityIncident.Read.All. legacy: Microsoft 365 Defender api/incidents, permission Incident.Read.All.",
		},
		modinput.Arg{
			Name:        "start_date",
			Title:       "Start date",
			Description: "RFC 3339 time to start from when the input has no checkpoint yet, e.g. 2026-01-01T00:00:00Z. Default: 30 days before the first run.",
		},
		modinput.Arg{
			Name:        "expand_alerts",
			Title:       "Collect alerts",
			Description: "Whether each incident's alerts, with their evidence, are collected and written as events of their own (sourcetype ms365:defender:incident:alerts). Default: true.",
			DataType:    modinput.Boolean,
		},
		modinput.Arg{
			Name:        "login_url",
			Title:       "Login URL",
			Description: "Optional override of the Entra ID authority (a proxy that rewrites hosts, a test server). http:// only for loopback hosts. Default: derived from environment.",
		},
		modinput.Arg{
			Name:        "api_url",
			Title:       "API URL",
			Description: "Optional override of the API base URL (a regional host, a proxy that rewrites hosts, a test server). http:// only for loopback hosts. Default: derived from environment and api.",
		},
	)
	args = append(args, inputs.ProxyArgs()...)
	args = append(args, inputs.LogLevelArg())
	return modinput.Scheme{
		Title:                 "Microsoft Defender XDR incidents",
		Description:           "Incidents with their alerts and evidence from Microsoft Graph security/incidents or the legacy Microsoft 365 Defender API, with OAuth 2.0 client credentials.",
		UseExternalValidation: true,
		UseSingleInstance:     false,
		StreamingMode:         "xml",
		Args:                  args,
	}
}

// entraArgs are the shared credential arguments; client_secret is not
// required on create because client_certificate is an alternative.
func entraArgs() []modinput.Arg {
	args := inputs.EntraArgs(true)
	for i := range args {
		if args[i].Name == "client_secret" || args[i].Name == "client_certificate" {
			args[i].RequiredOnCreate = false
			args[i].RequiredOnEdit = false
		}
	}
	return args
}
