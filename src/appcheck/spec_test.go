package appcheck

import (
	"strings"
	"testing"
)

const testSpec = `#   Version 9.2.0
# Global settings
index = <string>
* prose at column 0 after a star

[<spec>]
priority = <number>
TRUNCATE = <non-negative integer>
SHOULD_LINEMERGE = <boolean>
EVAL-<fieldname> = <eval statement>
KV_MODE = [none|auto|json|xml]
Example 1:  LINE_BREAKER = end(\n)begin
  indented = ignored
LESS_THAN<optional_unique_value>_<number> = <string>
remote_queue.* = <string>

[credential:<realm>:<username>]
password = <password>

[myscheme://<name>]
param = <value>
`

func TestParseSpec(t *testing.T) {
	sp, err := ParseSpec("test.conf.spec", strings.NewReader(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Global) != 1 || sp.Global[0].Key != "index" {
		t.Fatalf("global = %+v, want only index", sp.Global)
	}
	if len(sp.Stanzas) != 3 {
		t.Fatalf("got %d stanzas, want 3", len(sp.Stanzas))
	}
	var keys []string
	for _, s := range sp.Stanzas[0].Settings {
		keys = append(keys, s.Key)
	}
	want := "priority TRUNCATE SHOULD_LINEMERGE EVAL-<fieldname> KV_MODE LESS_THAN<optional_unique_value>_<number> remote_queue.*"
	if got := strings.Join(keys, " "); got != want {
		t.Errorf("settings of [<spec>]:\n got %s\nwant %s", got, want)
	}
	if sp.Stanzas[2].defaultOf != "myscheme" {
		t.Errorf("defaultOf = %q, want myscheme", sp.Stanzas[2].defaultOf)
	}
}

func TestPatterns(t *testing.T) {
	sp, err := ParseSpec("test.conf.spec", strings.NewReader(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	setting := func(key string) *SettingSpec {
		for _, st := range sp.Stanzas {
			for _, s := range st.Settings {
				if s.Key == key {
					return s
				}
			}
		}
		t.Fatalf("no setting %s", key)
		return nil
	}
	tests := []struct {
		pattern *SettingSpec
		key     string
		want    bool
	}{
		{setting("EVAL-<fieldname>"), "EVAL-severity", true},
		{setting("EVAL-<fieldname>"), "EVAL-", false},
		{setting("EVAL-<fieldname>"), "eval-severity", false},
		{setting("LESS_THAN<optional_unique_value>_<number>"), "LESS_THAN_5", true},
		{setting("LESS_THAN<optional_unique_value>_<number>"), "LESS_THANx_5", true},
		{setting("remote_queue.*"), "remote_queue.sqs.region", true},
		{setting("priority"), "priority", true},
		{setting("priority"), "priority2", false},
	}
	for _, tt := range tests {
		if got := tt.pattern.Matches(tt.key); got != tt.want {
			t.Errorf("%s matches %q = %v, want %v", tt.pattern.Key, tt.key, got, tt.want)
		}
	}
	stanzas := []struct {
		st   *StanzaSpec
		name string
		want bool
	}{
		{sp.Stanzas[0], "ms365:defender:incident", true},
		{sp.Stanzas[0], "source::...a...", true},
		{sp.Stanzas[1], "credential:realm:user", true},
		{sp.Stanzas[1], "credential:realm", false},
		{sp.Stanzas[2], "myscheme://prod", true},
		{sp.Stanzas[2], "myscheme", true},
		{sp.Stanzas[2], "myscheme://", false},
		{sp.Stanzas[2], "otherscheme://prod", false},
	}
	for _, tt := range stanzas {
		if got := tt.st.Matches(tt.name); got != tt.want {
			t.Errorf("[%s] matches [%s] = %v, want %v", tt.st.Pattern, tt.name, got, tt.want)
		}
	}
}

func TestCheckValue(t *testing.T) {
	tests := []struct {
		shape, value, want string
	}{
		{"<boolean>", "true", ""},
		{"<boolean>", "0", ""},
		{"<boolean>", "Yes", ""},
		{"<boolean>", "maybe", "a boolean (true/false, 1/0, yes/no)"},
		{"<integer>", "-3", ""},
		{"<integer>", "3.5", "an integer"},
		{"<non-negative integer>", "0", ""},
		{"<non-negative integer>", "-1", "non-negative integer"},
		{"<positive integer>", "0", "positive integer"},
		{"<number>", "3.14", ""},
		{"[none|auto|json|xml]", "JSON", ""},
		{"[none|auto|json|xml]", "yaml", "one of none, auto, json, xml"},
		{"commercial|gcc|gcc_high|dod", "gcc_high", ""},
		{"commercial|gcc|gcc_high|dod", "gcc-high", "one of commercial, gcc, gcc_high, dod"},
		{"disabled | enabled", "enabled", ""},
		{"<system|none>", "system", ""},
		{"{default|python|python2|python3}", "python3", ""},
		// Shapes with placeholders or prose are not checked.
		{"[none | subseconds | all | <boolean>]", "anything", ""},
		{"[<decimal>|<cron schedule>]", "*/5 * * * *", ""},
		{"<string>", "anything", ""},
		{"<eval statement>", "if(a,b,c)", ""},
	}
	for _, tt := range tests {
		if got := checkValue(tt.shape, tt.value); got != tt.want {
			t.Errorf("checkValue(%q, %q) = %q, want %q", tt.shape, tt.value, got, tt.want)
		}
	}
}

// TestSystemSpecsParse checks that every Splunk spec fixture parses and
// yields the stanzas and settings the validator relies on.
func TestSystemSpecsParse(t *testing.T) {
	specs := systemSpecs(t)
	for _, conf := range []string{"props.conf", "transforms.conf", "eventtypes.conf", "tags.conf", "macros.conf",
		"alert_actions.conf", "inputs.conf", "app.conf", "savedsearches.conf", "default.meta"} {
		if specs[conf] == nil {
			t.Errorf("no spec for %s", conf)
		}
	}
	has := func(conf, stanza, key string) {
		t.Helper()
		st := &Stanza{Name: stanza}
		m := specs[conf].match(st)
		if !m.matched {
			t.Errorf("%s: [%s] matches no stanza", conf, stanza)
			return
		}
		for _, s := range m.settings {
			if s.Matches(key) {
				return
			}
		}
		t.Errorf("%s: [%s] does not allow %s", conf, stanza, key)
	}
	has("props.conf", "ms365:defender:incident", "FIELDALIAS-user")
	has("props.conf", "ms365:defender:incident", "EVAL-severity")
	has("props.conf", "source::...", "KV_MODE")
	has("transforms.conf", "my_lookup", "filename")
	has("tags.conf", "eventtype=m365_defender_alert", "alert")
	has("eventtypes.conf", "m365_defender_alert", "search")
	has("macros.conf", "m365_defender_index", "definition")
	has("app.conf", "install", "is_configured")
	has("app.conf", "package", "check_for_updates")
	has("alert_actions.conf", "m365_defender_update_incident", "is_custom")
	has("alert_actions.conf", "m365_defender_update_incident", "payload_format")
	has("default.meta", "", "export")
	has("default.meta", "views", "export")
	has("default.meta", "props/ms365%3Adefender%3Aincident", "export")

	// The modular-input extras come from Splunk's inputs.conf.spec itself.
	var extra []string
	for _, s := range specs["inputs.conf"].Extra {
		extra = append(extra, s.Key)
	}
	for _, want := range []string{"interval", "disabled", "run_introspection", "python.version"} {
		if !strings.Contains(" "+strings.Join(extra, " ")+" ", " "+want+" ") {
			t.Errorf("modular-input settings %v lack %s", extra, want)
		}
	}
}
