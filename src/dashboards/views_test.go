package dashboards

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const root = "../.."

var (
	viewsDir   = filepath.Join(root, "default", "data", "ui", "views")
	sampleDir  = filepath.Join(root, "src", "cim", "testdata")
	extraFile  = filepath.Join("testdata", "extra_fields.txt")
	typesFile  = filepath.Join("testdata", "sample_sourcetypes.txt")
	wantViews  = []string{"m365_defender_incidents", "m365_defender_alerts", "m365_defender_streaming", "m365_defender_health"}
	appTypes   = []string{"ms365:defender:incident", "ms365:defender:incident:alerts", "ms:defender:atp:alerts", "ms:defender:eventhub"}
	logKeys    = []string{"msg", "stanza", "input", "error", "error_kind", "events", "pages", "duration_ms", "checkpoint_time", "event_hub", "partition", "records", "bytes", "records_per_sec", "lag", "attempt", "wait_ms"}
	actionKeys = []string{"action", "target", "id", "outcome"}
)

func loadCatalog(t *testing.T) *Catalog {
	t.Helper()
	samples := sampleDir
	if _, err := os.Stat(samples); err != nil {
		t.Fatalf("sample events: %v", err)
	}
	cat, err := LoadCatalog(root, samples, extraFile, typesFile)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func readViews(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(viewsDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		if filepath.Ext(f) != ".xml" {
			t.Errorf("%s: only .xml views belong in default/data/ui/views", f)
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".xml")] = b
	}
	return out
}

// TestViews checks every view: well-formed XML, version="2", a valid JSON definition, data
// sources, visualizations, inputs, tokens, layout, and every search against the catalog.
func TestViews(t *testing.T) {
	cat := loadCatalog(t)
	views := readViews(t)
	for _, name := range wantViews {
		if _, ok := views[name]; !ok {
			t.Errorf("view %s.xml is missing", name)
		}
	}
	for name, b := range views {
		t.Run(name, func(t *testing.T) {
			v, err := ParseView(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range CheckView(v, cat) {
				t.Error(p)
			}
		})
	}
}

// TestAppSourcetypes pins the four sourcetypes the views may search: the app must define each
// of them, and no view may use another (except splunkd in index=_internal searches).
func TestAppSourcetypes(t *testing.T) {
	cat := loadCatalog(t)
	for _, st := range appTypes {
		if !cat.Sourcetypes[st] {
			t.Errorf("sourcetype %s is not defined by default/props.conf or default/inputs.conf", st)
		}
	}
	for name, b := range readViews(t) {
		v, err := ParseView(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		for id, ds := range v.Definition.DataSources {
			r := Check(SubstituteTokens(strings.TrimPrefix(strings.TrimSpace(ds.Options.Query), "|")), cat, nil)
			for _, st := range r.Sourcetypes {
				if !contains(appTypes, st) && !(r.Internal && st == "splunkd") {
					t.Errorf("%s %s: sourcetype %s", name, id, st)
				}
			}
		}
	}
}

// TestViewChecksCatchMistakes edits the real views the way a typo would and expects the
// checks to report each edit; a check that cannot fail would pass them all.
func TestViewChecksCatchMistakes(t *testing.T) {
	cat := loadCatalog(t)
	views := readViews(t)
	tests := []struct {
		name, view, old, new, want string
	}{
		{"field typo", "m365_defender_incidents", `m365_open==1 AND m365_severity==\"high\"`, `m365_open==1 AND m365_sevrity==\"high\"`, `unknown field "m365_sevrity"`},
		{"raw field typo", "m365_defender_alerts", `stats dc(incidentId) as incidents`, `stats dc(incidentID) as incidents`, `unknown field "incidentID"`},
		{"log key typo", "m365_defender_health", `search msg=\"retrying\" | stats count as retries`, `search mesg=\"retrying\" | stats count as retries`, `unknown field "mesg"`},
		{"macro typo", "m365_defender_streaming", "`m365_defender_stream` | stats count by m365_table", "`m365_defender_streams` | stats count by m365_table", `macro "m365_defender_streams" is not defined`},
		{"sourcetype typo", "m365_defender_alerts", "`m365_defender_alerts` | stats count by m365_service_source", "`m365_defender_index` sourcetype=\\\"ms:defender:atp:alert\\\" | stats count by serviceSource", `sourcetype "ms:defender:atp:alert" is not one the app defines`},
		{"undefined eventtype", "m365_defender_alerts", "`m365_defender_alerts` | stats count by m365_service_source", "`m365_defender_index` eventtype=m365_defender_no_such_type | stats count by serviceSource", `eventtype "m365_defender_no_such_type" is not defined`},
		{"index outside the macro", "m365_defender_streaming", "`m365_defender_stream` | stats count by m365_table", "index=main sourcetype=\\\"ms:defender:eventhub\\\" | stats count by category", "not scoped by the `m365_defender_index` macro"},
		{"missing data source", "m365_defender_incidents", `"primary": "ds_status"`, `"primary": "ds_statuses"`, `refers to "ds_statuses", which is not a data source`},
		{"chain of a missing base", "m365_defender_incidents", `"extend": "ds_base"`, `"extend": "ds_bas"`, `extends "ds_bas"`},
		{"token typo", "m365_defender_health", `search m365_source=\"$stanza$\" | where m365_level==\"ERROR\" OR m365_level==\"FATAL\" | stats count as errors`, `search m365_source=\"$stanzas$\" | where m365_level==\"ERROR\" OR m365_level==\"FATAL\" | stats count as errors`, `token $stanzas$ is set by no input`},
		{"drilldown column typo", "m365_defender_alerts", `"key": "row.alert_id.value"`, `"key": "row.alertid.value"`, `the table has no column "alertid"`},
		{"unknown command", "m365_defender_streaming", `| sort - records\n`, `| sortt - records\n`, `command "sortt" is not known`},
		{"unknown eval function", "m365_defender_incidents", `eval m365_hours=(m365_updated-m365_created)/3600`, `eval m365_hours=dur(m365_updated-m365_created)/3600`, `unknown eval function dur()`},
		{"unknown aggregation", "m365_defender_health", `stats dc(stanza) as inputs`, `stats dcount(stanza) as inputs`, `unknown aggregation dcount()`},
		{"viz type typo", "m365_defender_incidents", `"type": "splunk.pie"`, `"type": "splunk.piechart"`, `unknown type "splunk.piechart"`},
		{"unplaced visualization", "m365_defender_incidents", `"item": "viz_status"`, `"item": "viz_statuz"`, `layout: visualization viz_status is placed 0 times`},
		{"version 1", "m365_defender_health", `<dashboard version="2"`, `<dashboard version="1.1"`, `version="2"`},
		{"eventtype wildcard typo", "m365_defender_streaming", `search eventtype=\"m365_defender_ah_*\"`, `search eventtype=\"m365_defender_ahh_*\"`, `eventtype "m365_defender_ahh_*" is not defined`},
		{"field of another sourcetype", "m365_defender_alerts", `stats dc(incidentId) as incidents`, `stats dc(DeviceName) as incidents`, `unknown field "DeviceName"`},
		{"data field in an _internal search", "m365_defender_health", `search msg=\"retrying\" | stats count as retries`, `search msg=\"retrying\" | stats dc(incidentId) as retries`, `unknown field "incidentId"`},
		{"bad rex", "m365_defender_incidents", `(?<m365_kind>\\w+)`, `(?<m365_kind>\\w+`, `does not compile`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ok := views[tt.view]
			if !ok {
				t.Fatalf("view %s missing", tt.view)
			}
			if !bytes.Contains(b, []byte(tt.old)) {
				t.Fatalf("view %s no longer contains %s: update this test", tt.view, tt.old)
			}
			b = bytes.Replace(b, []byte(tt.old), []byte(tt.new), 1)
			v, err := ParseView(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			probs := CheckView(v, cat)
			for _, p := range probs {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("edit not reported; want a problem containing %q, got:\n%s", tt.want, strings.Join(probs, "\n"))
		})
	}
}

func TestParseViewRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not XML", `<dashboard version="2"><label>x</label>`, "view XML"},
		{"bad JSON", `<dashboard version="2"><label>x</label><definition><![CDATA[{"dataSources": }]]></definition></dashboard>`, "definition JSON"},
		{"two roots", `<dashboard version="2"><label>x</label><definition><![CDATA[{}]]></definition></dashboard><dashboard/>`, "after </dashboard>"},
		{"trailing JSON", `<dashboard version="2"><label>x</label><definition><![CDATA[{} {}]]></definition></dashboard>`, "trailing data"},
		{"bad meta", `<dashboard version="2"><label>x</label><definition><![CDATA[{}]]></definition><meta type="hiddenElements"><![CDATA[{hide}]]></meta></dashboard>`, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseView(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestNav checks that the navigation lists every view and only existing views.
func TestNav(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "default", "data", "ui", "nav", "default.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var nav struct {
		XMLName xml.Name
		Views   []struct {
			Name    string `xml:"name,attr"`
			Default string `xml:"default,attr"`
		} `xml:"view"`
		Collections []struct {
			Views []struct {
				Name string `xml:"name,attr"`
			} `xml:"view"`
		} `xml:"collection"`
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	if err := dec.Decode(&nav); err != nil {
		t.Fatal(err)
	}
	if nav.XMLName.Local != "nav" {
		t.Fatalf("root element %q, want nav", nav.XMLName.Local)
	}
	views := readViews(t)
	listed := map[string]bool{}
	defaults := 0
	for _, v := range nav.Views {
		listed[v.Name] = true
		if v.Default == "true" {
			defaults++
		}
		if _, ok := views[v.Name]; !ok {
			t.Errorf("nav lists view %q, which is not in default/data/ui/views", v.Name)
		}
	}
	for _, c := range nav.Collections {
		for _, v := range c.Views {
			if _, ok := views[v.Name]; !ok && v.Name != "search" {
				t.Errorf("nav collection lists view %q, which does not exist", v.Name)
			}
		}
	}
	if defaults != 1 {
		t.Errorf("%d default views in nav, want 1", defaults)
	}
	for name := range views {
		if !listed[name] {
			t.Errorf("view %s is not in the nav", name)
		}
	}
}

// TestExtraFields keeps the explicit allow-list honest: every entry names a field the views
// read, and entries the sample events now contain are reported so the list can shrink.
func TestExtraFields(t *testing.T) {
	b, err := os.ReadFile(extraFile)
	if err != nil {
		t.Fatal(err)
	}
	samples := map[string]bool{}
	if err := sampleFields(sampleDir, samples); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for _, v := range readViews(t) {
		all.Write(v)
	}
	macros, _ := os.ReadFile(filepath.Join(root, "default", "macros.conf"))
	all.Write(macros)
	var redundant []string
	for _, line := range strings.Split(string(b), "\n") {
		f, _, _ := strings.Cut(line, "#")
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		leaf := strings.TrimSuffix(f, "{}")
		leaf = leaf[strings.LastIndexAny(leaf, ".}")+1:]
		if !bytes.Contains(all.Bytes(), []byte(leaf)) {
			t.Errorf("extra field %q is used by no view or macro: remove it from %s", f, extraFile)
		}
		if samples[f] {
			redundant = append(redundant, f)
		}
	}
	sort.Strings(redundant)
	if len(redundant) > 0 {
		t.Logf("now in the sample events, can leave %s: %s", extraFile, strings.Join(redundant, " "))
	}
}

// TestSampleSourcetypes: every sample event is assigned a sourcetype, and every sourcetype the
// views read has samples.
func TestSampleSourcetypes(t *testing.T) {
	un, err := UnclassifiedSamples(sampleDir, typesFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(un) > 0 {
		t.Logf("samples without a sourcetype in %s (their fields count for every sourcetype): %s", typesFile, strings.Join(un, " "))
	}
	cat := loadCatalog(t)
	for _, st := range appTypes {
		if len(cat.BySourcetype[st]) == 0 {
			t.Errorf("no sample fields for sourcetype %s", st)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
