package eventhub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput/modinputtest"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

// testBinary is m365defender, built once for the package's tests.
var testBinary modinputtest.Binary

func binary(t testing.TB) string { return testBinary.Path(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	testBinary.Remove()
	os.Exit(code)
}

var tables = []string{"DeviceProcessEvents", "DeviceNetworkEvents", "DeviceLogonEvents", "EmailEvents", "AlertEvidence", "IdentityLogonEvents", "CloudAppEvents", "SomeTableMicrosoftAddsLater"}

// record is a Streaming API record as Microsoft sends it; id makes it unique.
func record(id string, i int) string {
	table := tables[i%len(tables)]
	ts := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	return fmt.Sprintf(`{"time":"%s","tenantId":"0c6e3c8a-1b2f-4f6c-9a1e-4a0f7c1d2e3f","operationName":"Publish","category":"AdvancedHunting-%s","_TimeReceivedBySvc":"%s","properties":{"Timestamp":"%s","DeviceName":"ws-%04d.contoso.com","ActionType":"ProcessCreated","FileName":"powershell.exe","ProcessCommandLine":"powershell.exe -enc \u003cabc\u003e & <x>","ReportId":%d,"TestId":"%s"},"Tenant":"DefaultTenant"}`,
		ts.Add(time.Minute).Format(time.RFC3339Nano), table, ts.Add(2*time.Minute).Format(time.RFC3339Nano), ts.Format("2006-01-02T15:04:05.0000000Z"), i%9999, i, id)
}

// envelope wraps records the way the Streaming API does.
func envelope(recs ...string) []byte {
	return []byte(`{"records":[` + strings.Join(recs, ",") + `]}`)
}

// seed sends msgs messages of perMsg records to every partition and returns
// the record texts by partition, in order.
func seed(t *testing.T, peer *testpeer.EventHubs, tag string, msgs, perMsg int) map[string][]string {
	want := map[string][]string{}
	for _, pid := range peer.PartitionIDs() {
		var bodies [][]byte
		for m := 0; m < msgs; m++ {
			var recs []string
			for r := 0; r < perMsg; r++ {
				rec := record(fmt.Sprintf("%s-p%s-m%d-r%d", tag, pid, m, r), m*perMsg+r)
				recs = append(recs, rec)
				want[pid] = append(want[pid], rec)
			}
			bodies = append(bodies, envelope(recs...))
		}
		peer.Send(pid, bodies...)
	}
	return want
}

func stanza(peer *testpeer.EventHubs, extra map[string]string) map[string]map[string]string {
	p := map[string]string{
		"connection_string": peer.ConnectionString(),
		"index":             "defender",
		"host":              "fwd-01",
		"max_wait_seconds":  "1",
		"interval":          "0",
	}
	for k, v := range extra {
		p[k] = v
	}
	return map[string]map[string]string{"m365_defender_eventhub://test": p}
}

// testIDOf extracts the TestId of a record.
func testIDOf(t *testing.T, data string) string {
	var r struct {
		Properties struct {
			TestID string `json:"TestId"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(data), &r); err != nil || r.Properties.TestID == "" {
		return "raw:" + data
	}
	return r.Properties.TestID
}

func TestEventHubDeliversEveryRecordAndResumes(t *testing.T) {
	bin := binary(t)
	peer := testpeer.StartEventHubs(t, testpeer.EventHubsOptions{})
	want := seed(t, peer, "a", 20, 5)
	// Bodies that are not the envelope are delivered whole.
	peer.Send("0", []byte(`plain text body`), []byte("{\"records\":[\"\xff\xfe bad utf-8\"]}"), []byte(`{"value":[1,2]}`))
	total := 4*20*5 + 3
	dir := t.TempDir()
	cfg := modinputtest.InputXML(dir, "", "", stanza(peer, nil))

	p := modinputtest.Start(t, bin, cfg)
	got := p.Collect(total, 60*time.Second)
	if len(got) != total {
		t.Fatalf("got %d of %d events; stderr:\n%s", len(got), total, p.Stderr())
	}
	byID := map[string]modinputtest.Event{}
	for _, ev := range got {
		id := testIDOf(t, ev.Data)
		if _, dup := byID[id]; dup {
			t.Errorf("record %s delivered twice", id)
		}
		byID[id] = ev
		if ev.Stanza != "m365_defender_eventhub://test" || ev.Sourcetype != "ms:defender:eventhub" || ev.Source != "m365_defender_eventhub:"+peer.Hub() ||
			ev.Index != "defender" || ev.Host != "fwd-01" || ev.Done == nil || ev.Unbroken != "1" {
			t.Fatalf("event metadata wrong: %+v", ev)
		}
	}
	// Every record arrives byte for byte, with <time> from properties.Timestamp.
	for pid, recs := range want {
		for i, rec := range recs {
			id := testIDOf(t, rec)
			ev, ok := byID[id]
			if !ok {
				t.Fatalf("partition %s record %d (%s) missing", pid, i, id)
			}
			if ev.Data != rec {
				t.Fatalf("record changed:\n got %s\nwant %s", ev.Data, rec)
			}
			wantTime := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
			if ev.Time != fmt.Sprintf("%d.000", wantTime.Unix()) {
				t.Fatalf("time = %s, want %d.000", ev.Time, wantTime.Unix())
			}
		}
	}
	// Per-partition order is kept.
	last := map[string]int{}
	for _, ev := range got {
		id := testIDOf(t, ev.Data)
		var pid string
		var m, r int
		if _, err := fmt.Sscanf(id, "a-p%1s-m%d-r%d", &pid, &m, &r); err != nil {
			continue
		}
		pos := m*5 + r
		if prev, seen := last[pid]; seen && pos <= prev {
			t.Fatalf("partition %s out of order: %d after %d", pid, pos, prev)
		}
		last[pid] = pos
	}
	for _, raw := range []string{"raw:plain text body", "raw:{\"value\":[1,2]}"} {
		if _, ok := byID[raw]; !ok {
			t.Errorf("non-envelope body %q not delivered", raw)
		}
	}
	if err := p.WaitLog(context.Background(), "not a {\\\"records\\\":[...]} envelope"); err != nil {
		t.Error(err)
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM; stderr:\n%s", code, p.Stderr())
	}
	p.CheckOutput()
	assertNoSecret(t, peer.Key(), p)

	// A restart resumes after the checkpoints: only new records arrive.
	want2 := seed(t, peer, "b", 3, 2)
	p2 := modinputtest.Start(t, bin, cfg)
	got2 := p2.Collect(4*3*2, 60*time.Second)
	extra := p2.Collect(1, 3*time.Second)
	if len(got2) != 24 || len(extra) != 0 {
		t.Fatalf("after restart got %d events (+%d), want 24; stderr:\n%s", len(got2), len(extra), p2.Stderr())
	}
	for _, ev := range got2 {
		if !strings.HasPrefix(testIDOf(t, ev.Data), "b-") {
			t.Fatalf("repeated record after restart: %s", testIDOf(t, ev.Data))
		}
	}
	_ = want2
	p2.Signal(syscall.SIGTERM)
	if code := p2.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func assertNoSecret(t *testing.T, secret string, p *modinputtest.Proc) {
	t.Helper()
	if strings.Contains(p.Stdout(), secret) || strings.Contains(p.Stderr(), secret) {
		t.Errorf("the shared access key appears in the output")
	}
}
