package storage

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput/modinputtest"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

// binary is the add-on's command, built once per test run (removed by TestMain).
var testBinary modinputtest.Binary

func buildBinary(t *testing.T) string { return testBinary.Path(t) }

// inputXML is the configuration splunkd writes to a modular input's stdin.
func inputXML(cpDir, stanza string, params map[string]string) string {
	var b strings.Builder
	b.WriteString("<input><server_host>hf1</server_host><server_uri></server_uri><session_key></session_key>")
	b.WriteString("<checkpoint_dir>" + html.EscapeString(cpDir) + "</checkpoint_dir><configuration>")
	b.WriteString(`<stanza name="` + html.EscapeString(stanza) + `" app="TA-m365-defender">`)
	for k, v := range params {
		b.WriteString(`<param name="` + k + `">` + html.EscapeString(v) + `</param>`)
	}
	b.WriteString("</stanza></configuration></input>")
	return b.String()
}

// TestKillMidBlobThenRestart runs the built binary, lets it deliver part of a
// large blob, kills it with SIGKILL once a checkpoint inside the blob exists,
// and runs it again: every record arrives, and only the last batch repeats.
func TestKillMidBlobThenRestart(t *testing.T) {
	first, second, all, batch := stopMidBlob(t, "kill-", syscall.SIGKILL)
	repeated := len(first) + len(second) - len(all)
	if repeated < 0 || repeated > batch {
		t.Fatalf("%d records repeated, want at most one batch (%d)", repeated, batch)
	}
	if second[0] == all[0] {
		t.Fatalf("launch 2 started from the beginning")
	}
	t.Logf("launch 1: %d events, launch 2: %d events, repeated: %d (of %d records)", len(first), len(second), repeated, len(all))
}

// TestStopMidBlobThenRestart stops the binary with SIGTERM in the middle of a
// blob: it checkpoints what it delivered, so the restart repeats nothing.
func TestStopMidBlobThenRestart(t *testing.T) {
	first, second, all, _ := stopMidBlob(t, "term-", syscall.SIGTERM)
	if repeated := len(first) + len(second) - len(all); repeated != 0 {
		t.Fatalf("%d records repeated after a graceful stop", repeated)
	}
}

// stopMidBlob seeds a small and a 12 MB blob, runs the binary until a
// checkpoint inside the big blob exists, sends sig, drains what was
// written, runs the binary again to the end, and checks no record is missing.
// It returns both launches' events, all records and the size of one
// checkpoint batch in records.
func stopMidBlob(t *testing.T, prefix string, sig syscall.Signal) (first, second, all []string, batch int) {
	bin := buildBinary(t)
	az := sharedAzurite(t)
	e := newEnv(t, az, prefix)

	now := time.Now().UTC()
	prev, cur := now.Truncate(time.Hour).Add(-time.Hour), now.Truncate(time.Hour)
	container := prefix + "deviceevents"
	small := lines("DeviceEvents", prev, 0, 100)
	e.appendBlob(container, blobName(prev), small)
	// About 12 MB: more than one 8 MB checkpoint batch.
	var big strings.Builder
	for i := 0; big.Len() < 12<<20; i += 1000 {
		big.WriteString(lines("DeviceEvents", cur, i, 1000))
	}
	e.appendBlob(container, blobName(cur), big.String())
	all = append(splitLines(small), splitLines(big.String())...)
	batch = defaultCommitBytes/(big.Len()/len(splitLines(big.String()))) + 1

	cpDir := t.TempDir()
	stanzaName := "m365_defender_storage://" + prefix
	cfg := inputXML(cpDir, stanzaName, map[string]string{
		"connection_string": az.ConnectionString(),
		"container_prefix":  prefix,
		"start_date":        prev.Add(-time.Hour).Format(time.RFC3339),
		"index":             "defender",
	})
	store, err := checkpoint.NewFileStore(cpDir, stanzaName)
	if err != nil {
		t.Fatal(err)
	}

	// Launch 1: read until a checkpoint inside the big blob exists, then signal.
	cmd := exec.Command(bin, SchemeName)
	cmd.Stdin = strings.NewReader(cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReaderSize(stdout, 1<<20)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ev, err := readEvent(r)
		if err != nil {
			t.Fatalf("launch 1 ended before the signal (%v); stderr:\n%s", err, stderr.String())
		}
		first = append(first, ev)
		if len(first)%500 != 0 {
			continue
		}
		var st containerState
		if _, err := store.Load(containerKey(container), &st); err == nil {
			if b := st.Blobs[blobName(cur)]; b != nil && b.Offset > 0 && b.Offset < int64(big.Len()) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint inside the big blob after %d events; stderr:\n%s", len(first), stderr.String())
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	// What reached the pipe was delivered (splunkd would read it).
	for {
		ev, err := readEvent(r)
		if err != nil {
			break
		}
		first = append(first, ev)
	}
	werr := cmd.Wait()
	if sig == syscall.SIGTERM && werr != nil {
		t.Fatalf("launch 1 after SIGTERM: %v; stderr:\n%s", werr, stderr.String())
	}
	if len(first) >= len(all) {
		t.Fatalf("launch 1 delivered everything (%d events) before the signal", len(first))
	}

	// Launch 2: runs to the end.
	cmd = exec.Command(bin, SchemeName)
	cmd.Stdin = strings.NewReader(cfg)
	stderr.Reset()
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("launch 2: %v; stderr:\n%s", err, stderr.String())
	}
	r = bufio.NewReader(bytes.NewReader(out))
	for {
		ev, err := readEvent(r)
		if err != nil {
			break
		}
		second = append(second, ev)
	}
	if !strings.Contains(stderr.String(), `msg="poll complete"`) {
		t.Fatalf("launch 2 did not complete its poll:\n%s", stderr.String())
	}
	seen := map[string]int{}
	for _, ev := range append(append([]string{}, first...), second...) {
		seen[ev]++
	}
	for i, rec := range all {
		if seen[rec] == 0 {
			t.Fatalf("record %d missing after the restart: %.120s", i, rec)
		}
	}
	return first, second, all, batch
}

// readEvent returns the data of the next complete event line of the stream
// (the writer ends every event with "</event>\n"); a torn last line is an error.
func readEvent(r *bufio.Reader) (string, error) {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		i := strings.Index(line, "<data>")
		j := strings.LastIndex(line, "</data>")
		if i < 0 || j < i || !strings.HasSuffix(line, "</event>\n") {
			if strings.Contains(line, "<event") {
				return "", fmt.Errorf("malformed event line %.200q", line)
			}
			continue
		}
		return html.UnescapeString(line[i+len("<data>") : j]), nil
	}
}

// TestBinaryValidateArguments drives --validate-arguments of the built binary
// as splunkd does: <items> on stdin, an <error> on stdout and exit 1 on failure.
func TestBinaryValidateArguments(t *testing.T) {
	bin := buildBinary(t)
	az := sharedAzurite(t)
	e := newEnv(t, az, "cli-")
	e.createContainer("cli-deviceevents")
	items := func(params map[string]string) string {
		var b strings.Builder
		b.WriteString("<items><server_host>hf1</server_host><server_uri></server_uri><session_key></session_key><checkpoint_dir>" +
			html.EscapeString(t.TempDir()) + `</checkpoint_dir><item name="cli">`)
		for k, v := range params {
			b.WriteString(`<param name="` + k + `">` + html.EscapeString(v) + `</param>`)
		}
		b.WriteString("</item></items>")
		return b.String()
	}
	tests := []struct {
		name   string
		params map[string]string
		ok     bool
		msg    string
	}{
		{"Reachable", map[string]string{"connection_string": az.ConnectionString(), "container_prefix": "cli-"}, true, ""},
		{"BadPrefix", map[string]string{"connection_string": az.ConnectionString(), "container_prefix": "CLI_"}, false, `parameter "container_prefix"`},
		{"WrongKey", map[string]string{"connection_string": strings.Replace(az.ConnectionString(), testpeer.AzuriteKey, testKey, 1)}, false, `parameter "connection_string": listing containers with prefix "insights-logs-advancedhunting-": 403`},
		{"NothingSet", map[string]string{"container_prefix": "cli-"}, false, `parameter "connection_string": required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, SchemeName, "--validate-arguments")
			cmd.Stdin = strings.NewReader(items(tt.params))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if tt.ok {
				if err != nil {
					t.Fatalf("%v\nstdout: %s\nstderr: %s", err, out, stderr.String())
				}
				return
			}
			if err == nil || !strings.Contains(string(out), "<error><message>") || !strings.Contains(html.UnescapeString(string(out)), tt.msg) {
				t.Fatalf("err %v\nstdout: %s\nstderr: %s\nwant message containing %s", err, out, stderr.String(), tt.msg)
			}
			for _, s := range []string{testpeer.AzuriteKey, testKey} {
				if strings.Contains(string(out)+stderr.String(), s) {
					t.Fatalf("key in output:\n%s\n%s", out, stderr.String())
				}
			}
		})
	}
}
