package defender_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

// Polling Graph incidents from a cursor, as the incidents input does: every
// object arrives once, as the bytes Microsoft sent, and the cursor is
// handed over after each page for the caller to checkpoint.
func ExamplePoller() {
	sim := simulator.New(simulator.Options{Incidents: 120, AlertsPerIncident: 1, Seed: 7})
	defer sim.Close()

	client, _, err := defender.Connect(defender.ConnectOptions{
		Service:  defender.Graph,
		TenantID: sim.TenantID, ClientID: sim.ClientID, ClientSecret: sim.ClientSecret,
		LoginURL: sim.URL, APIURL: sim.URL, // loopback, so http:// is allowed
		HTTPClient: sim.Client(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	objects, commits := 0, 0
	p := &defender.Poller{
		Client:     client,
		Collection: defender.GraphIncidents,
		Query:      url.Values{"$expand": {"alerts"}},
		Object: func(_ context.Context, o *defender.Object) error {
			objects++ // write o.Without("alerts") and the alerts here
			return nil
		},
		PageDone: func(_ context.Context, c defender.Cursor, n int) error {
			commits++ // flush the events, then save c
			return nil
		},
	}
	st, err := p.Poll(context.Background(), defender.Cursor{})
	fmt.Println(objects == sim.Totals().Incidents, commits == st.Pages, err)
	// Output: true true <nil>
}

// An authenticated request for an alert action: the same retries, token
// refresh and typed errors as the inputs get.
func ExampleClient_DoJSON() {
	sim := simulator.New(simulator.Options{Incidents: 1, Seed: 7})
	defer sim.Close()
	client, _, err := defender.Connect(defender.ConnectOptions{
		Service:  defender.Graph,
		TenantID: sim.TenantID, ClientID: sim.ClientID, ClientSecret: "wrong",
		LoginURL: sim.URL, APIURL: sim.URL, HTTPClient: sim.Client(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var incident map[string]any
	err = client.DoJSON(context.Background(), defender.Request{
		Method: http.MethodGet, Path: "/v1.0/security/incidents/" + sim.IncidentIDs()[0],
		Permission: "SecurityIncident.Read.All",
	}, &incident)
	fmt.Println(defender.KindOf(err), defender.ParamOf(err))
	// Output: auth client_secret
}
