package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

// serve runs the simulator alone until ctx ends or SIGINT/SIGTERM, so a
// local Splunk (or curl) can be pointed at it; it prints the settings an
// input needs. Each -update-every, it updates an incident and adds one, as
// a live tenant would.
func serve(ctx context.Context, o options, addr string, stdout io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	sim, err := simulator.Listen(addr, simulator.Options{Incidents: o.incidents, AlertsPerIncident: o.alertsPer, Seed: o.seed,
		SameTimeBatch: o.batch})
	if err != nil {
		fmt.Fprintln(stdout, "demo:", err)
		return 2
	}
	defer sim.Close()
	tot := sim.Totals()
	fmt.Fprintf(stdout, `Defender API simulator serving %d incidents and %d alerts at %s (Ctrl-C to stop)

[m365_defender_incidents://simulator]
tenant_id = %s
client_id = %s
client_secret = %s
login_url = %s
api_url = %s
interval = 60

[m365_defender_alerts://simulator]
(the same five settings)

curl -s -d grant_type=client_credentials -d client_id=%s -d client_secret=%s -d scope=https://graph.microsoft.com/.default %s
`, tot.Incidents, tot.Alerts, sim.URL, sim.TenantID, sim.ClientID, sim.ClientSecret, sim.URL, sim.URL,
		sim.ClientID, sim.ClientSecret, sim.TokenURL())
	tick := time.NewTicker(o.updateEvery)
	defer tick.Stop()
	ids := sim.IncidentIDs()
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			st := sim.Stats()
			fmt.Fprintf(stdout, "\nstopped: %d API calls, %d token requests\n", st.APICalls(), st.TokenRequests)
			return 0
		case <-tick.C:
			id := ids[(k*7919)%len(ids)]
			_, _ = sim.UpdateIncident(id)
			added := sim.AddIncident()
			fmt.Fprintf(stdout, "%s updated incident %s, added incident %s\n", time.Now().UTC().Format(time.RFC3339), id, added)
		}
	}
}
