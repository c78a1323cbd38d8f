package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ta-m365-defender/ta-m365-defender/src/appcheck"
)

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(nil, &out, &errOut); code != 2 {
		t.Errorf("no arguments: exit %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), "usage: inspect") {
		t.Errorf("stderr = %q, want usage", errOut.String())
	}
	errOut.Reset()
	if code := run([]string{filepath.Join(t.TempDir(), "missing.tgz")}, &out, &errOut); code != 2 {
		t.Errorf("missing package: exit %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), "missing.tgz") {
		t.Errorf("stderr = %q, want the file named", errOut.String())
	}
}

// TestTree inspects the repository's own tree with scheme XML written from
// README/inputs.conf.spec, then with one scheme missing.
func TestTree(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README", "inputs.conf.spec"))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := appcheck.ParseSpec("README/inputs.conf.spec", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var schemes []string
	for _, st := range sp.Stanzas {
		scheme, _, _ := strings.Cut(st.Pattern, "://")
		schemes = append(schemes, scheme)
		var x strings.Builder
		x.WriteString("<scheme><title>" + scheme + "</title><use_external_validation>true</use_external_validation>" +
			"<use_single_instance>false</use_single_instance><streaming_mode>xml</streaming_mode><endpoint><args>")
		for _, s := range st.Settings {
			if s.Key == "interval" {
				continue
			}
			typ := "string"
			switch s.Value {
			case "<boolean>":
				typ = "boolean"
			case "<integer>":
				typ = "number"
			}
			x.WriteString(`<arg name="` + s.Key + `"><title>t</title><data_type>` + typ + `</data_type>` +
				`<required_on_edit>false</required_on_edit><required_on_create>false</required_on_create></arg>`)
		}
		x.WriteString("</args></endpoint></scheme>")
		if err := os.WriteFile(filepath.Join(dir, scheme+".xml"), []byte(x.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"-tree", "-schemes", dir, root}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), ": OK, ") {
		t.Errorf("stdout = %q, want an OK summary", out.String())
	}

	if err := os.Remove(filepath.Join(dir, schemes[0]+".xml")); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"-tree", "-schemes", dir, root}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	if want := "[scheme] no scheme XML given for " + schemes[0]; !strings.Contains(out.String(), want) {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
}
