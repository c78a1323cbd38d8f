package simulator

import (
	"net/url"
	"testing"
	"time"
)

// FuzzQuery feeds arbitrary OData query strings to every collection: the
// parser must answer an error or a query, and running an accepted query
// must not panic.
func FuzzQuery(f *testing.F) {
	for _, seed := range []string{
		"$filter=lastUpdateDateTime ge 2024-01-01T00:00:00Z&$orderby=lastUpdateDateTime asc&$top=50",
		"$filter=(status eq 'active' or severity eq 'high') and not (assignedTo eq null)",
		"$filter=incidentId eq '2972001'&$top=3",
		"$filter=lastUpdateTime gt 2024-01-01T00:00:00.1234567Z&$expand=evidence",
		"$filter=createdDateTime le 2026-12-31T00:00:00+01:00&$orderby=createdDateTime desc&$skip=3&$count=true",
		"$top=0&$select=id,status",
		"$skiptoken=c2ltMXxrOmRuNjM3ZmZwajJ2bTo3cQ",
		"$filter=displayName eq 'it''s'",
		"$filter=lastUpdateDateTime ge '2024'",
		"$orderby=id",
	} {
		f.Add(seed)
	}
	s := newServer(Options{Incidents: 40, Seed: 1, SameTimeBatch: 3, Now: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)})
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := url.ParseQuery(raw); err != nil {
			return
		}
		for _, c := range s.st.colls {
			q, aerr := parseQuery(c, raw)
			if aerr != nil {
				if aerr.status != 400 || aerr.message == "" {
					t.Fatalf("%q: bad error %+v", raw, aerr)
				}
				continue
			}
			res := s.st.d.page(c, q, PagingKeyset)
			if len(res.items) > q.top {
				t.Fatalf("%q: %d items for $top=%d", raw, len(res.items), q.top)
			}
			_ = s.st.d.page(c, q, PagingOffset)
		}
	})
}
