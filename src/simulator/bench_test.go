package simulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

// BenchmarkNew measures generating a tenant (B/op bounds what it keeps;
// TestHeldMemory measures that).
func BenchmarkNew(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		b.Run(itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				s := simulator.New(simulator.Options{Incidents: n, Seed: 1})
				s.Close()
			}
		})
	}
}

// BenchmarkCrawl measures serving a whole backlog page by page over
// loopback (the simulator's share of an input benchmark).
func BenchmarkCrawl(b *testing.B) {
	for _, tc := range []struct {
		name, first string
	}{
		{"IncidentsExpand50", "/v1.0/security/incidents?$expand=alerts&$orderby=lastUpdateDateTime%20asc&$top=50"},
		{"Alerts1000", "/v1.0/security/alerts_v2?$orderby=lastUpdateDateTime%20asc&$top=1000"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := simulator.New(simulator.Options{Incidents: 2000, Seed: 1})
			defer s.Close()
			tok := benchToken(b, s)
			b.ReportAllocs()
			b.ResetTimer()
			var bytes int64
			for range b.N {
				u := s.URL + tc.first
				for u != "" {
					req, _ := http.NewRequest("GET", u, nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := s.Client().Do(req)
					if err != nil {
						b.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					bytes += int64(len(body))
					u = nextLink(body)
				}
			}
			b.SetBytes(bytes / int64(b.N))
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// nextLink finds the @odata.nextLink without decoding the page (so the
// benchmark measures the server, not a client's decoder).
func nextLink(body []byte) string {
	const key = `"@odata.nextLink":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

func benchToken(b *testing.B, s *simulator.Server) string {
	resp, err := s.Client().PostForm(s.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID},
		"client_secret": {s.ClientSecret}, "scope": {s.Scope()}})
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || t.AccessToken == "" {
		b.Fatal("no token", err)
	}
	return t.AccessToken
}
