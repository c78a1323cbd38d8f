package defender_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

// incidentPage fetches one real-shaped page of 50 incidents with their
// alerts and evidence from the simulator.
func incidentPage(b *testing.B) []byte {
	sim := simulator.New(simulator.Options{Incidents: 50, AlertsPerIncident: 2, Seed: 60})
	defer sim.Close()
	ts, err := defender.NewTokenSource(defender.Credentials{TenantID: sim.TenantID, ClientID: sim.ClientID,
		ClientSecret: sim.ClientSecret, LoginURL: sim.URL, Scope: sim.Scope()}, defender.TokenSourceOptions{HTTPClient: sim.Client()})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := ts.Token(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest("GET", sim.URL+"/v1.0/security/incidents?$expand=alerts&$top=50", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := sim.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return page
}

// BenchmarkDecodePage decodes a page of 50 incidents with alerts and splits
// each incident as the incidents input does: members, the alerts array
// removed, each alert's members read.
func BenchmarkDecodePage(b *testing.B) {
	page := incidentPage(b)
	b.Run("DecodePage", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for i := 0; i < b.N; i++ {
			if _, err := defender.DecodePage(bytes.NewReader(page), func([]byte) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecodeAndSplit", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for i := 0; i < b.N; i++ {
			_, err := defender.DecodePage(bytes.NewReader(page), func(raw []byte) error {
				o, err := defender.ParseObject(raw, "id", "lastUpdateDateTime")
				if err != nil {
					return err
				}
				_ = o.Without("alerts")
				alerts, _ := o.Field("alerts")
				return defender.SplitArray(alerts, func(a []byte) error {
					_, err := defender.ParseObject(a, "id", "lastUpdateDateTime")
					return err
				})
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
