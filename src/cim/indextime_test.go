package cim

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIndexTimeFallbackAgreesWithInputTime: the inputs write <time> from
// lastUpdateDateTime (legacy lastUpdateTime/lastUpdatedTime) or, for Streaming
// API records, properties.Timestamp. The props.conf timestamp settings, used
// only for an event without <time>, must find that same field in every sample
// and read the same second from it; and line breaking must leave each compact
// JSON event whole.
func TestIndexTimeFallbackAgreesWithInputTime(t *testing.T) {
	a := loadApp(t)
	inputTimeField := map[string][]string{
		"ms365:defender:incident":        {"lastUpdateDateTime", "lastUpdateTime"},
		"ms365:defender:incident:alerts": {"lastUpdateDateTime", "lastUpdatedTime"},
		"ms:defender:atp:alerts":         {"lastUpdateDateTime", "lastUpdateTime"},
		"ms:defender:eventhub":           {"properties.Timestamp"},
	}
	for _, s := range samples {
		ev := readSample(t, s)
		t.Run(s.name, func(t *testing.T) {
			st := a.Props.Stanza(ev.Sourcetype)
			get := func(k string) string {
				v, ok := st.Get(k)
				if !ok {
					t.Fatalf("[%s] has no %s", ev.Sourcetype, k)
				}
				return v
			}
			if get("SHOULD_LINEMERGE") != "false" || get("TRUNCATE") != "0" || get("KV_MODE") != "json" {
				t.Fatalf("[%s]: want SHOULD_LINEMERGE = false, TRUNCATE = 0, KV_MODE = json", ev.Sourcetype)
			}
			lb := regexp.MustCompile(get("LINE_BREAKER"))
			if lb.MatchString(ev.Raw) {
				t.Errorf("LINE_BREAKER splits the compact event")
			}
			if get("TIME_FORMAT") != "%Y-%m-%dT%H:%M:%S" || get("TZ") != "UTC" {
				t.Fatalf("the test reads TIME_FORMAT %%Y-%%m-%%dT%%H:%%M:%%S with TZ = UTC only")
			}
			look, err := strconv.Atoi(get("MAX_TIMESTAMP_LOOKAHEAD"))
			if err != nil {
				t.Fatal(err)
			}
			loc := regexp.MustCompile(get("TIME_PREFIX")).FindStringIndex(ev.Raw)
			if loc == nil {
				t.Fatalf("TIME_PREFIX %q does not match", get("TIME_PREFIX"))
			}
			text := ev.Raw[loc[1]:min(len(ev.Raw), loc[1]+look)]
			got, err := time.Parse("2006-01-02T15:04:05", text[:min(len(text), 19)])
			if err != nil {
				t.Fatalf("TIME_FORMAT does not parse %q: %v", text, err)
			}
			res, err := a.Apply(ev)
			if err != nil {
				t.Fatal(err)
			}
			var want string
			for _, f := range inputTimeField[ev.Sourcetype] {
				if v := res.FieldsBefore[f]; len(v) == 1 {
					want = v[0]
					break
				}
			}
			if want == "" {
				t.Fatalf("sample has none of %q", inputTimeField[ev.Sourcetype])
			}
			wt, err := time.Parse(time.RFC3339Nano, want)
			if err != nil {
				t.Fatalf("input time %q: %v", want, err)
			}
			if !got.Equal(wt.Truncate(time.Second)) {
				t.Errorf("props.conf reads %s, the input writes <time> %s", got.Format(time.RFC3339), want)
			}
			if strings.ContainsAny(ev.Raw, "\r\n") {
				t.Errorf("compact sample contains a line break")
			}
		})
	}
}
