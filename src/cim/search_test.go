package cim

import (
	"strings"
	"testing"
)

func TestSearch(t *testing.T) {
	f := Fields{
		"sourcetype":            {"ms:defender:eventhub"},
		"category":              {"AdvancedHunting-DeviceEvents"},
		"properties.ActionType": {"DnsQueryResponse"},
		"multi":                 {"a", "b"},
		"spaced":                {"two words"},
	}
	tests := []struct {
		search string
		want   bool
		err    string
	}{
		{search: `sourcetype=ms:defender:eventhub`, want: true},
		{search: `sourcetype=MS:Defender:EventHub`, want: true},  // values are case-insensitive
		{search: `Sourcetype=ms:defender:eventhub`, want: false}, // names are not
		{search: `category=AdvancedHunting-*`, want: true},
		{search: `category=*Device*`, want: true},
		{search: `category=AdvancedHunting-Device`, want: false},
		{search: `sourcetype=ms:defender:eventhub category=AdvancedHunting-DeviceEvents properties.ActionType=DnsQueryResponse`, want: true},
		{search: `sourcetype=ms:defender:eventhub AND properties.ActionType=ProcessCreated`, want: false},
		{search: `(category=x OR category=AdvancedHunting-DeviceEvents)`, want: true},
		// OR binds tighter than the implied AND: a AND (b OR c).
		{search: `sourcetype=x category=AdvancedHunting-DeviceEvents OR multi=a`, want: false},
		{search: `sourcetype=ms:defender:eventhub category=nope OR multi=a`, want: true},
		{search: `multi=b`, want: true},
		{search: `multi!=b`, want: false}, // some value matches
		{search: `multi!=c`, want: true},
		{search: `missing!=c`, want: false}, // != needs the field
		{search: `NOT missing=c`, want: true},
		{search: `NOT multi=a`, want: false},
		{search: `spaced="two words"`, want: true},
		{search: `spaced="two*"`, want: true},
		{search: `DnsQueryResponse`, err: "free-text"},
		{search: `sourcetype=x | stats count`, err: "not allowed"},
		{search: `[search x=1]`, err: "not allowed"},
		{search: `(a=1`, err: "missing )"},
		{search: `a="1`, err: "unterminated quote"},
		{search: ``, err: "empty"},
		{search: `a=1 )`, err: "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.search, func(t *testing.T) {
			s, err := ParseSearch(tt.search)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Match(f); got != tt.want {
				t.Fatalf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}
