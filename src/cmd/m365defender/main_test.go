package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput/modinputtest"
)

// testBinary is m365defender, built once for the package's tests.
var testBinary modinputtest.Binary

func binary(t *testing.T) string { return testBinary.Path(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	testBinary.Remove()
	os.Exit(code)
}

var schemes = []string{"m365_defender_incidents", "m365_defender_alerts", "m365_defender_eventhub", "m365_defender_storage"}

func TestSchemeForEveryInput(t *testing.T) {
	b := binary(t)
	for _, name := range schemes {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			out, err := exec.Command(b, name, "--scheme").Output()
			if err != nil {
				t.Fatalf("--scheme: %v", err)
			}
			t.Logf("--scheme took %v", time.Since(start))
			var s struct {
				Title       string `xml:"title"`
				Description string `xml:"description"`
				External    string `xml:"use_external_validation"`
				Single      string `xml:"use_single_instance"`
				Mode        string `xml:"streaming_mode"`
				Args        []struct {
					Name             string  `xml:"name,attr"`
					Title            string  `xml:"title"`
					Description      string  `xml:"description"`
					DataType         string  `xml:"data_type"`
					RequiredOnEdit   *string `xml:"required_on_edit"`
					RequiredOnCreate *string `xml:"required_on_create"`
				} `xml:"endpoint>args>arg"`
			}
			if err := xml.Unmarshal(out, &s); err != nil {
				t.Fatalf("scheme is not XML: %v\n%s", err, out)
			}
			if s.Title == "" || s.Description == "" || s.External != "true" || s.Single != "false" || s.Mode != "xml" {
				t.Errorf("scheme header wrong: %+v", s)
			}
			seen := map[string]bool{}
			for _, a := range s.Args {
				if seen[a.Name] {
					t.Errorf("arg %s twice", a.Name)
				}
				seen[a.Name] = true
				if a.Title == "" || a.Description == "" || a.DataType == "" || a.RequiredOnEdit == nil || a.RequiredOnCreate == nil {
					t.Errorf("arg %s lacks an explicit element: %+v", a.Name, a)
				}
			}
			if !seen["log_level"] {
				t.Error("no log_level arg")
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	b := binary(t)
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"--version"}, 0, "dev\n", ""},
		{[]string{"a", "b", "c"}, 2, "", "ERROR msg=\"invalid arguments to modular input script\""},
		{[]string{"m365_defender_incidents", "--bogus"}, 2, "", "ERROR msg=\"invalid arguments"},
		{[]string{"no_such_input", "--scheme"}, 1, "", "FATAL msg=\"no such modular input scheme\" scheme=no_such_input"},
		{[]string{"no_such_action", "--execute"}, 2, "", "ERROR"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd := exec.Command(b, tt.args...)
			cmd.Stdin = strings.NewReader("{}")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != tt.code || out.String() != tt.stdout || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("exit %d stdout %q stderr %q", code, out.String(), errb.String())
			}
		})
	}
}

func TestValidateArgumentsReportsTheParameter(t *testing.T) {
	b := binary(t)
	tests := []struct {
		scheme string
		params map[string]string
		want   string
	}{
		{"m365_defender_incidents", map[string]string{"client_id": "c", "client_secret": "s3cret-value"}, `parameter "tenant_id"`},
		{"m365_defender_alerts", map[string]string{"tenant_id": "t", "client_id": "c", "client_secret": "s3cret-value", "environment": "mars"}, `parameter "environment"`},
		{"m365_defender_storage", map[string]string{}, `parameter "connection_string"`},
		{"m365_defender_eventhub", map[string]string{"connection_string": "x", "log_level": "debug"}, `parameter "connection_string"`},
	}
	for _, tt := range tests {
		t.Run(tt.scheme, func(t *testing.T) {
			p := modinputtest.Start(t, b, modinputtest.ItemsXML("v", tt.params), tt.scheme, "--validate-arguments")
			code := p.Wait(30 * time.Second)
			out := p.Stdout()
			var doc struct {
				XMLName xml.Name `xml:"error"`
				Message string   `xml:"message"`
			}
			if code == 0 || xml.Unmarshal([]byte(out), &doc) != nil || !strings.Contains(doc.Message, tt.want) {
				t.Fatalf("exit %d, stdout %q, want <error><message> naming %s", code, out, tt.want)
			}
			if strings.Contains(out+p.Stderr(), "s3cret-value") {
				t.Error("secret in output")
			}
			p.CheckOutput()
		})
	}
}
