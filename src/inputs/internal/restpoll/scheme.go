package restpoll

import (
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// SchemeArgs returns a polling input's scheme arguments, in this order
// (a contract with inputs.conf.spec and the setup pages): the Entra ID
// credentials, where client_secret and client_certificate are each
// optional (one of them is needed), api, start_date, the input's own
// arguments, login_url, api_url described by apiURLDescription, the proxy
// arguments and log_level.
func SchemeArgs(api modinput.Arg, apiURLDescription string, own ...modinput.Arg) []modinput.Arg {
	args := inputs.EntraArgs(true)
	for i := range args {
		// client_certificate is an alternative to the secret.
		if args[i].Name == "client_secret" || args[i].Name == "client_certificate" {
			args[i].RequiredOnCreate = false
			args[i].RequiredOnEdit = false
		}
	}
	args = append(args, api, modinput.Arg{
		Name:        "start_date",
		Title:       "Start date",
		Description: "RFC 3339 time to start from when the input has no checkpoint yet, e.g. 2026-01-01T00:00:00Z. Default: 30 days before the first run.",
	})
	args = append(args, own...)
	args = append(args,
		modinput.Arg{
			Name:        "login_url",
			Title:       "Login URL",
			Description: "Optional override of the Entra ID authority (a proxy that rewrites hosts, a test server). http:// only for loopback hosts. Default: derived from environment.",
		},
		modinput.Arg{
			Name:        "api_url",
			Title:       "API URL",
			Description: apiURLDescription,
		},
	)
	args = append(args, inputs.ProxyArgs()...)
	return append(args, inputs.LogLevelArg())
}
