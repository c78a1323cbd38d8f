package actions_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ta-m365-defender/ta-m365-defender/src/actions"
	"github.com/ta-m365-defender/ta-m365-defender/src/dashboards"
	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
)

const root = "../.."

// TestAlertActionsConf ties default/alert_actions.conf, README/alert_actions.conf.spec and the
// forms in default/data/ui/alerts to the code: the same actions, the same parameters, values
// the code accepts, and the ES adaptive-response metadata.
func TestAlertActionsConf(t *testing.T) {
	conf, err := dashboards.ReadConf(filepath.Join(root, "default", "alert_actions.conf"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := dashboards.ReadSpec(filepath.Join(root, "README", "alert_actions.conf.spec"))
	if err != nil {
		t.Fatal(err)
	}
	var stanzas []string
	for _, s := range conf.Stanzas {
		if s.Name != "" {
			stanzas = append(stanzas, s.Name)
		}
	}
	sort.Strings(stanzas)
	names := actions.Names()
	sort.Strings(names)
	if !slices.Equal(stanzas, names) {
		t.Fatalf("alert_actions.conf stanzas %v, code runs %v", stanzas, names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			s := conf.Stanza(name)
			for k, want := range map[string]string{"is_custom": "1", "payload_format": "json"} {
				if s.Vals[k] != want {
					t.Errorf("%s = %q, want %q", k, s.Vals[k], want)
				}
			}
			for _, k := range []string{"label", "description", "icon_path"} {
				if s.Vals[k] == "" {
					t.Errorf("%s is not set", k)
				}
			}
			if _, ok := s.Vals["alert.execute.cmd"]; ok {
				t.Error("alert.execute.cmd is set: splunkd must find the bin/<action>.sh and .cmd launchers")
			}
			for _, ext := range []string{".sh", ".cmd"} {
				if _, err := os.Stat(filepath.Join(root, "bin", name+ext)); err != nil {
					t.Errorf("launcher: %v", err)
				}
			}
			if _, err := os.Stat(filepath.Join(root, "appserver", "static", s.Vals["icon_path"])); err != nil {
				t.Errorf("icon_path: %v", err)
			}
			var declared []string
			for _, k := range s.Keys {
				if p, ok := strings.CutPrefix(k, "param."); ok && p != "_cam" {
					declared = append(declared, p)
				}
			}
			want := actions.Params(name)
			if !slices.Equal(sortCopy(declared), sortCopy(want)) {
				t.Errorf("params declared %v, code reads %v", declared, want)
			}
			// defaults must form a configuration the code accepts once input and a change are set
			params := map[string]string{}
			for _, p := range declared {
				params[p] = s.Vals["param."+p]
			}
			params["input"], params["comment"] = "prod", "x"
			if _, err := actions.NewConfig(name, params); err != nil {
				t.Errorf("defaults rejected: %v", err)
			}

			var cam struct {
				Category, Task, Subject []string
				Technology              []struct {
					Vendor, Product string
					Version         []string
				}
				SupportsAdhoc *bool `json:"supports_adhoc"`
			}
			dec := json.NewDecoder(strings.NewReader(s.Vals["param._cam"]))
			if err := dec.Decode(&cam); err != nil {
				t.Fatalf("param._cam: %v", err)
			}
			if len(cam.Category) == 0 || len(cam.Task) == 0 || len(cam.Subject) == 0 || len(cam.Technology) == 0 ||
				cam.Technology[0].Vendor == "" || cam.Technology[0].Product == "" || cam.SupportsAdhoc == nil {
				t.Errorf("param._cam lacks category, task, subject, technology or supports_adhoc: %s", s.Vals["param._cam"])
			}

			sp := spec.Stanza(name)
			if sp == nil {
				t.Fatalf("README/alert_actions.conf.spec has no [%s]", name)
			}
			for _, p := range append(declared, "_cam") {
				if _, ok := sp.Vals["param."+p]; !ok {
					t.Errorf("param.%s is not documented in the spec", p)
				}
			}
			for _, k := range sp.Keys {
				if p, ok := strings.CutPrefix(k, "param."); ok && p != "_cam" && !slices.Contains(want, p) {
					t.Errorf("the spec documents param.%s, which the code does not read", p)
				}
			}
			checkForm(t, name, want)
		})
	}
	// the per-result fields are documented wherever the parameters are
	for _, f := range []string{"README/alert_actions.conf.spec", "docs/alert_actions.md",
		"default/data/ui/alerts/" + actions.UpdateIncident + ".html", "default/data/ui/alerts/" + actions.UpdateAlert + ".html"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, pf := range actions.RowFields() {
			if !strings.Contains(string(b), pf[1]) {
				t.Errorf("%s does not document the result field %s", f, pf[1])
			}
		}
		if !strings.Contains(string(b), "cim_modactions") {
			t.Errorf("%s does not say where the ES outcomes go", f)
		}
	}
}

// checkForm parses the action's HTML form (well-formed XML) and checks that every field names
// a parameter the code reads, every parameter but _cam has a field, and every option value is
// one the code accepts unchanged.
func checkForm(t *testing.T, name string, params []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "default", "data", "ui", "alerts", name+".html"))
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(string(b)))
	dec.Strict = true
	fields := map[string]bool{}
	var field string
	canon := map[string]func(string) (string, error){
		"classification": defender.CanonicalClassification, "determination": defender.CanonicalDetermination,
		"status": defender.CanonicalIncidentStatus, "custom_tags_mode": func(s string) (string, error) { return s, nil },
	}
	if name == actions.UpdateAlert {
		canon["status"] = defender.CanonicalAlertStatus
	}
	prefix := "action." + name + ".param."
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("form is not well-formed: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := func(k string) string {
			for _, a := range se.Attr {
				if a.Name.Local == k {
					return a.Value
				}
			}
			return ""
		}
		if n := attr("name"); n != "" {
			p, ok := strings.CutPrefix(n, prefix)
			if !ok || !slices.Contains(params, p) {
				t.Errorf("form field %q is not a parameter of %s", n, name)
			}
			fields[p] = true
			field = p
			if se.Name.Local == "input" && attr("type") == "radio" {
				checkValue(t, canon, p, attr("value"))
			}
		}
		if se.Name.Local == "option" {
			checkValue(t, canon, field, attr("value"))
		}
	}
	for _, p := range params {
		if !fields[p] {
			t.Errorf("parameter %s has no field in the form", p)
		}
	}
}

func checkValue(t *testing.T, canon map[string]func(string) (string, error), field, v string) {
	t.Helper()
	if v == "" {
		return
	}
	fn, ok := canon[field]
	if !ok {
		t.Errorf("option %q in field %s, which takes free text", v, field)
		return
	}
	got, err := fn(v)
	if err != nil || got != v {
		t.Errorf("field %s: option %q is not canonical (%q, %v)", field, v, got, err)
	}
}

func sortCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}
