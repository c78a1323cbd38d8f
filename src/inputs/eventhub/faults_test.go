package eventhub_test

import (
	"context"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput/modinputtest"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

// TestEventHubKill9LosesNothing kills the input mid-stream and restarts it:
// every record arrives, and at most one batch per partition is repeated.
func TestEventHubKill9LosesNothing(t *testing.T) {
	bin := binary(t)
	peer := testpeer.StartEventHubs(t, testpeer.EventHubsOptions{})
	const msgs, perMsg, batch = 150, 10, 20
	want := seed(t, peer, "k", msgs, perMsg)
	total := 4 * msgs * perMsg
	dir := t.TempDir()
	cfg := modinputtest.InputXML(dir, "", "", stanza(peer, map[string]string{"max_batch_size": "20"}))

	p := modinputtest.Start(t, bin, cfg)
	first := p.Collect(total/3, 60*time.Second)
	if len(first) < total/3 {
		t.Fatalf("only %d events before the kill; stderr:\n%s", len(first), p.Stderr())
	}
	p.Kill9()
	// Whatever the dead process had flushed may still be in the pipe.
	for ev := range p.Events {
		first = append(first, ev)
	}

	p2 := modinputtest.Start(t, bin, cfg)
	seen := map[string]int{}
	for _, ev := range first {
		seen[testIDOf(t, ev.Data)]++
	}
	missing := func() int {
		n := 0
		for _, recs := range want {
			for _, r := range recs {
				if seen[testIDOf(t, r)] == 0 {
					n++
				}
			}
		}
		return n
	}
	deadline := time.Now().Add(90 * time.Second)
	for missing() > 0 && time.Now().Before(deadline) {
		for _, ev := range p2.Collect(1000, 2*time.Second) {
			seen[testIDOf(t, ev.Data)]++
		}
	}
	if n := missing(); n > 0 {
		t.Fatalf("%d records lost across kill -9; stderr:\n%s", n, p2.Stderr())
	}
	repeated := 0
	for _, n := range seen {
		if n > 1 {
			repeated += n - 1
		}
	}
	if max := 4 * batch * perMsg; repeated > max {
		t.Errorf("%d records repeated, more than one batch per partition (%d)", repeated, max)
	}
	t.Logf("kill -9 after %d of %d events: %d repeated", len(first), total, repeated)
	p2.Signal(syscall.SIGTERM)
	p2.Wait(10 * time.Second)
}

// TestEventHubSurvivesDetachAndDrop forces link detaches and drops the
// connection mid-stream; the input recovers and delivers everything once.
func TestEventHubSurvivesDetachAndDrop(t *testing.T) {
	bin := binary(t)
	peer := testpeer.StartEventHubs(t, testpeer.EventHubsOptions{})
	dir := t.TempDir()
	cfg := modinputtest.InputXML(dir, "", "", stanza(peer, map[string]string{"sourcetype": "custom:defender"}))
	p := modinputtest.Start(t, bin, cfg)
	seen := map[string]int{}
	collect := func(n int, label string) {
		t.Helper()
		got := p.Collect(n, 90*time.Second)
		if len(got) != n {
			t.Fatalf("%s: got %d of %d; stderr:\n%s", label, len(got), n, p.Stderr())
		}
		for _, ev := range got {
			seen[testIDOf(t, ev.Data)]++
			if ev.Sourcetype != "custom:defender" {
				t.Fatalf("the stanza's sourcetype was not used: %q", ev.Sourcetype)
			}
		}
	}
	seed(t, peer, "d1", 5, 4)
	collect(80, "before faults")
	if n := peer.Detach(testpeer.DetachOptions{}); n == 0 {
		t.Fatal("no receiver to detach")
	}
	seed(t, peer, "d2", 5, 4)
	collect(80, "after a forced detach")
	peer.DropConnection()
	seed(t, peer, "d3", 5, 4)
	collect(80, "after a dropped connection")
	// Refused tokens (an auth fault) after a reconnect: retried, not fatal.
	peer.RefuseTokens(3, 401)
	peer.DropConnection()
	seed(t, peer, "d4", 5, 4)
	collect(80, "after refused tokens")
	for id, n := range seen {
		if n != 1 {
			t.Errorf("record %s delivered %d times", id, n)
		}
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	failed, recovered := map[string]int{}, map[string]int{}
	for _, l := range p.LogLines() {
		if strings.HasPrefix(l, "ERROR") || strings.HasPrefix(l, "FATAL") {
			t.Errorf("a transient fault was logged as an error: %s", l)
		}
		part := ""
		if i := strings.Index(l, " partition="); i >= 0 {
			part = strings.Fields(l[i+11:])[0]
		}
		switch {
		case strings.Contains(l, `msg="receiving failed`):
			failed[part]++
		case strings.Contains(l, `msg="partition receiving again"`):
			recovered[part]++
		}
	}
	if len(failed) == 0 {
		t.Error("the refused tokens were not noticed")
	}
	for part, n := range failed {
		if n > recovered[part]+1 {
			t.Errorf("partition %s: %d WARN lines for %d recoveries; want one per fault episode", part, n, recovered[part])
		}
	}
}

// TestEventHubBlobStoreSplitsPartitions runs two instances on one consumer
// group with the blob checkpoint store on Azurite: they split the partitions,
// and when one stops the other takes them all.
func TestEventHubBlobStoreSplitsPartitions(t *testing.T) {
	bin := binary(t)
	peer := testpeer.StartEventHubs(t, testpeer.EventHubsOptions{})
	az := testpeer.StartAzurite(t)
	extra := map[string]string{"checkpoint_store": "blob", "storage_connection_string": az.ConnectionString(), "storage_container": "eh-checkpoints"}
	a := modinputtest.Start(t, bin, modinputtest.InputXML(t.TempDir(), "", "", stanza(peer, extra)))
	if err := a.WaitLog(ctxTimeout(t, 30*time.Second), "partition claimed"); err != nil {
		t.Fatal(err)
	}
	b := modinputtest.Start(t, bin, modinputtest.InputXML(t.TempDir(), "", "", stanza(peer, extra)))
	// Wait until both own partitions.
	ctx := ctxTimeout(t, 60*time.Second)
	if err := b.WaitLog(ctx, "partition claimed"); err != nil {
		t.Fatal(err)
	}
	seed(t, peer, "s1", 10, 3)
	seen := map[string]int{}
	deadline := time.Now().Add(60 * time.Second)
	fromA, fromB := 0, 0
	for len(seen) < 120 && time.Now().Before(deadline) {
		for _, ev := range a.Collect(200, 500*time.Millisecond) {
			seen[testIDOf(t, ev.Data)]++
			fromA++
		}
		for _, ev := range b.Collect(200, 500*time.Millisecond) {
			seen[testIDOf(t, ev.Data)]++
			fromB++
		}
	}
	if len(seen) != 120 {
		t.Fatalf("two instances delivered %d of 120 records; A:\n%s\nB:\n%s", len(seen), a.Stderr(), b.Stderr())
	}
	if fromA == 0 || fromB == 0 {
		t.Fatalf("partitions not split: A %d, B %d events", fromA, fromB)
	}
	a.Signal(syscall.SIGTERM)
	if code := a.Wait(15 * time.Second); code != 0 {
		t.Fatalf("A exit %d", code)
	}
	// B takes every partition over and gets everything sent afterwards.
	seed(t, peer, "s2", 5, 2)
	got := 0
	deadline = time.Now().Add(90 * time.Second)
	for got < 40 && time.Now().Before(deadline) {
		for _, ev := range b.Collect(40, time.Second) {
			if strings.HasPrefix(testIDOf(t, ev.Data), "s2-") {
				got++
			}
		}
	}
	if got != 40 {
		t.Fatalf("after A stopped, B delivered %d of 40; B:\n%s", got, b.Stderr())
	}
	assertNoSecret(t, "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq", b)
	b.Signal(syscall.SIGTERM)
	b.Wait(15 * time.Second)
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestEventHubWaitsForTheCheckpointStore starts the input while its blob
// checkpoint store cannot be reached: it logs one ERROR, keeps retrying, and
// streams once the store answers.
func TestEventHubWaitsForTheCheckpointStore(t *testing.T) {
	bin := binary(t)
	peer := testpeer.StartEventHubs(t, testpeer.EventHubsOptions{Partitions: 2})
	az := testpeer.StartAzurite(t)
	// A port that refuses connections until the test starts forwarding it to Azurite.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	target := strings.TrimPrefix(strings.TrimPrefix(az.BlobURL(), "http://"), "https://")
	target = target[:strings.IndexByte(target, '/')]
	cs := strings.Replace(az.ConnectionString(), target, addr, 1)
	extra := map[string]string{"checkpoint_store": "blob", "storage_connection_string": cs}
	seed(t, peer, "w", 2, 2)
	p := modinputtest.Start(t, bin, modinputtest.InputXML(t.TempDir(), "", "", stanza(peer, extra)))
	if err := p.WaitLog(ctxTimeout(t, 30*time.Second), `ERROR msg="cannot start the event hub input; retrying"`); err != nil {
		t.Fatal(err)
	}
	fwd, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot take the port back: %v", err)
	}
	defer fwd.Close()
	go func() {
		for {
			c, err := fwd.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { _, _ = io.Copy(u, c) }()
				_, _ = io.Copy(c, u)
			}()
		}
	}()
	if got := p.Collect(8, 90*time.Second); len(got) != 8 {
		t.Fatalf("got %d of 8 events after the store came back; stderr:\n%s", len(got), p.Stderr())
	}
	if n := strings.Count(p.Stderr(), "cannot start the event hub input"); n != 1 {
		t.Errorf("%d ERROR lines for one outage, want 1", n)
	}
	p.Signal(syscall.SIGTERM)
	p.Wait(15 * time.Second)
}
