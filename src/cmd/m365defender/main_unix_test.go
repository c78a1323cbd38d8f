//go:build !windows

package main

import (
	"bufio"
	"bytes"
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
// mid-stream: the process stops cleanly, and a restart delivers every record
// whose write did not succeed, because no checkpoint moved past unflushed
// events. Records the binary had written successfully into the pipe before
// the close are gone with the pipe (splunkd has them or not, as the kernel
// decides); the test drains the pipe just before closing it, and allows at
// most one pipe buffer's worth of such records.
func TestClosedStdoutStopsWithoutCheckpoint(t *testing.T) {
	b := binary(t)
	const n = 1000
	_, cfg := eventHubConfig(t, n)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(b)
	cmd.Stdin = strings.NewReader(cfg)
	cmd.Stdout = pw
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	seen := map[string]bool{}
	record := func(line string) {
		if i := strings.Index(line, `"Id":"r`); i >= 0 {
			seen[line[i+6:i+6+strings.IndexByte(line[i+6:], '"')]] = true
		}
	}
	r := bufio.NewReader(pr)
	for len(seen) < 40 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v; stderr:\n%s", err, errb.String())
		}
		record(line)
	}
	// Drain what is already in the pipe, then close it: splunkd goes away.
	_ = pr.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	for {
		line, err := r.ReadString('\n')
		record(line)
		if err != nil {
			break
		}
	}
	pr.Close()
	read := len(seen)
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
			record(ev.Data)
		}
	}
	// One pipe buffer (64 KiB on Linux) holds at most this many ~200-byte events.
	const pipeBuffered = 65536 / 200
	if missing := n - len(seen); missing > pipeBuffered {
		t.Fatalf("%d of %d records missing after the stdout close and a restart (%d read before the close)", missing, n, read)
	} else if missing > 0 {
		t.Logf("%d records were in the pipe when it closed", missing)
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
