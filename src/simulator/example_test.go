package simulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

// A client gets a token with the simulator's credentials and pages through
// incidents by following @odata.nextLink.
func Example() {
	s := simulator.New(simulator.Options{Incidents: 120, AlertsPerIncident: 2, Seed: 1,
		Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	defer s.Close()
	c := s.Client()

	resp, _ := c.PostForm(s.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID},
		"client_secret": {s.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"}})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	s.Throttle(1, time.Second) // the first call is throttled
	next := s.URL + "/v1.0/security/incidents?$expand=alerts&$orderby=lastUpdateDateTime%20asc&$top=50"
	incidents, alerts, pages := 0, 0, 0
	for next != "" {
		req, _ := http.NewRequest("GET", next, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := c.Do(req)
		if err != nil {
			panic(err)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			fmt.Println("429, Retry-After", resp.Header.Get("Retry-After"))
			resp.Body.Close()
			continue // a real client waits Retry-After seconds
		}
		var page struct {
			NextLink string `json:"@odata.nextLink"`
			Value    []struct {
				ID     string            `json:"id"`
				Alerts []json.RawMessage `json:"alerts"`
			} `json:"value"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		pages++
		for _, inc := range page.Value {
			incidents++
			alerts += len(inc.Alerts)
		}
		next = page.NextLink
	}
	fmt.Println(incidents, "incidents,", alerts, "alerts in", pages, "pages")
	fmt.Println("token requests:", s.Stats().TokenRequests, "API calls:", s.Stats().APICalls())
	// Output:
	// 429, Retry-After 1
	// 120 incidents, 234 alerts in 3 pages
	// token requests: 1 API calls: 4
}
