package splunkd_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/ta-m365-defender/ta-m365-defender/src/splunkd"
)

// The credential an input's secret parameter is stored under, as passwords.conf shows it.
func ExamplePasswordName() {
	realm := splunkd.Realm("m365_defender_incidents", "prod")
	fmt.Println(splunkd.PasswordName(realm, "client_secret"))
	fmt.Println(splunkd.PasswordName(":start", "end:"))
	// Output:
	// m365_defender_incidents\://prod:client_secret:
	// \:start:end\::
}

// How an input resolves a secret parameter with the server_uri and session_key splunkd gave it.
func ExampleClient_ResolveSecret() {
	resolve := func(ctx context.Context, serverURI, sessionKey, configured string) (string, error) {
		c := splunkd.New(serverURI, sessionKey, splunkd.LoopbackTLSClient())
		ref := splunkd.SecretRef{
			App: "TA-m365-defender", Scheme: "m365_defender_incidents", Input: "prod", Param: "client_secret",
			Keep: url.Values{"tenant_id": {"…"}, "client_id": {"…"}}, // required_on_edit arguments
		}
		clear, err := c.ResolveSecret(ctx, ref, configured)
		if errors.Is(err, splunkd.ErrUnreachable) && clear != "" {
			slog.Warn("secret is not yet encrypted", "error", err) // keep running with the clear value
			return clear, nil
		}
		return clear, err
	}
	_ = resolve
}
