package main

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput/modinputtest"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

func binary(t *testing.T) string { return modinputtest.BuildShared(t, "./src/cmd/m365defender") }

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

// eventHubConfig is a long-running stanza against the test peer, seeded with
// n records.
func eventHubConfig(t *testing.T, n int) (*testpeer.EventHubs, string) {
	peer := testpeer.StartEventHubs(t, testpeer.EventHubsOptions{})
	for i := 0; i < n; i++ {
		peer.Send(strconv.Itoa(i%4), []byte(fmt.Sprintf(`{"records":[{"time":"2024-05-01T10:00:00Z","category":"AdvancedHunting-DeviceEvents","properties":{"Id":"r%d"}}]}`, i)))
	}
	return peer, modinputtest.InputXML(t.TempDir(), "", "", map[string]map[string]string{
		"m365_defender_eventhub://main": {"connection_string": peer.ConnectionString(), "max_wait_seconds": "1", "max_batch_size": "10"},
	})
}

// TestStreamStopsOnSIGTERM runs the binary as splunkd would and stops it
// mid-stream: it flushes, exits 0 within a few seconds, and the stream is
// well-formed with a closing </stream>.
func TestStreamStopsOnSIGTERM(t *testing.T) {
	b := binary(t)
	peer, cfg := eventHubConfig(t, 200)
	p := modinputtest.Start(t, b, cfg)
	if got := p.Collect(50, 30*time.Second); len(got) < 50 {
		t.Fatalf("got %d events; stderr:\n%s", len(got), p.Stderr())
	}
	start := time.Now()
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.Stderr())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to stop", d)
	}
	if !strings.HasSuffix(strings.TrimSpace(p.Stdout()), "</stream>") {
		t.Error("stream not closed")
	}
	p.CheckOutput()
	if !strings.Contains(p.Stderr(), `INFO msg="stop signal received, stopping inputs" signal=terminated`) {
		t.Errorf("no stop line:\n%s", p.Stderr())
	}
	_ = peer
}

// TestClosedStdoutStopsWithoutCheckpoint closes the reading end of stdout
// mid-stream: the process stops cleanly, and a restart delivers everything
// that was not read, because no checkpoint moved past unflushed events.
func TestClosedStdoutStopsWithoutCheckpoint(t *testing.T) {
	b := binary(t)
	const n = 400
	_, cfg := eventHubConfig(t, n)
	cmd := exec.Command(b)
	cmd.Stdin = strings.NewReader(cfg)
	out, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	r := bufio.NewReader(out)
	for len(seen) < 40 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v; stderr:\n%s", err, errb.String())
		}
		if i := strings.Index(line, `"Id":"r`); i >= 0 {
			seen[line[i+6:i+6+strings.IndexByte(line[i+6:], '"')]] = true
		}
	}
	out.Close() // splunkd goes away without reading further
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v; stderr:\n%s", err, errb.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running after stdout closed; stderr:\n%s", errb.String())
	}
	if !strings.Contains(errb.String(), "stopped reading the event stream") {
		t.Errorf("no clean-stop line:\n%s", errb.String())
	}
	p := modinputtest.Start(t, b, cfg)
	deadline := time.Now().Add(60 * time.Second)
	for len(seen) < n && time.Now().Before(deadline) {
		for _, ev := range p.Collect(n, time.Second) {
			if i := strings.Index(ev.Data, `"Id":"r`); i >= 0 {
				seen[ev.Data[i+6:i+6+strings.IndexByte(ev.Data[i+6:], '"')]] = true
			}
		}
	}
	if len(seen) != n {
		t.Fatalf("%d of %d records delivered across the stdout close", len(seen), n)
	}
}

// TestExitsWhenParentDies starts the binary under a shell, kills the shell,
// and expects the orphaned input to stop by itself.
func TestExitsWhenParentDies(t *testing.T) {
	b := binary(t)
	_, cfg := eventHubConfig(t, 10)
	cfgFile := filepath.Join(t.TempDir(), "input.xml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("sh", "-c", `"$0" < "$1" > /dev/null 2>&1 & echo $!; wait`, b, cfgFile)
	out, _ := sh.StdoutPipe()
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(strings.TrimSpace(line))
	time.Sleep(2 * time.Second) // let it start streaming
	_ = sh.Process.Kill()
	_ = sh.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(child, 0); err != nil {
			return // gone
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = syscall.Kill(child, syscall.SIGKILL)
	t.Fatalf("input %d still running 15 s after its parent died", child)
}
