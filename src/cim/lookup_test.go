package cim

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProductLookupCoversServiceSources: every Graph serviceSource value
// (alerts_v2 enum), the legacy values seen in the incidents API, and every
// Streaming API table of the samples have a row; keys are unique regardless
// of case, since the lookup matches case-insensitively with max_matches = 1.
func TestProductLookupCoversServiceSources(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot, "lookups", "m365_defender_products.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "service_source,product,vendor_product,app" {
		t.Fatalf("header = %q", recs[0])
	}
	keys := map[string]bool{}
	for _, r := range recs[1:] {
		k := strings.ToLower(r[0])
		if keys[k] {
			t.Errorf("duplicate key %q", r[0])
		}
		keys[k] = true
		for i, c := range r {
			if c == "" {
				t.Errorf("row %q: empty %s", r[0], recs[0][i])
			}
		}
	}
	want := []string{
		// Graph alert serviceSource (unknown and unknownFutureValue fall back to the default)
		"microsoftDefenderForEndpoint", "microsoftDefenderForIdentity", "microsoftDefenderForCloudApps",
		"microsoftDefenderForOffice365", "microsoft365Defender", "azureAdIdentityProtection",
		"microsoftAppGovernance", "dataLossPrevention", "microsoftDefenderForCloud",
		// legacy incidents API
		"MicrosoftDefenderATP", "MicrosoftCloudAppSecurity", "OfficeATP", "Microsoft365Defender",
	}
	for _, s := range samples {
		if s.sourcetype == "" && s.shape != "BehaviorInfo" {
			want = append(want, strings.TrimSuffix(s.shape, "-dns"))
		}
	}
	for _, k := range want {
		if !keys[strings.ToLower(k)] {
			t.Errorf("no row for %q", k)
		}
	}
}
