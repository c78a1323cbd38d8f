package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

// TestAzurite runs the input against one Azurite on loopback; every subtest
// uses its own container prefix and checkpoint directory.
func TestAzurite(t *testing.T) {
	az := sharedAzurite(t)

	t.Run("SeveralTablesAndHours", func(t *testing.T) {
		e := newEnv(t, az, "tables-")
		h15 := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
		h14, h13, yday23 := h15.Add(-time.Hour), h15.Add(-2*time.Hour), time.Date(2026, 12, 3, 23, 0, 0, 0, time.UTC)
		old := time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC) // before start_date
		data := map[string]map[time.Time]string{
			"tables-deviceevents": {h15: lines("DeviceEvents", h15, 0, 3), h13: lines("DeviceEvents", h13, 0, 2), yday23: lines("DeviceEvents", yday23, 0, 2), old: lines("DeviceEvents", old, 0, 2)},
			"tables-emailevents":  {h14: lines("EmailEvents", h14, 0, 4), yday23: lines("EmailEvents", yday23, 0, 1)},
			"tables-alertinfo":    {h15: lines("AlertInfo", h15, 0, 1)},
		}
		for c, hours := range data {
			for h, d := range hours {
				e.appendBlob(c, blobName(h), d)
			}
		}
		e.appendBlob("other-deviceevents", blobName(h15), lines("DeviceEvents", h15, 100, 2)) // prefix does not match
		e.appendBlob("tables-deviceevents", testTenant+"/README.txt", "not an export\r\n")    // not an hourly blob

		evs := e.mustPoll()
		// Oldest hour first, then container name.
		var want []string
		var wantSrc []string
		for _, h := range []time.Time{yday23, h13, h14, h15} {
			for _, c := range []string{"tables-alertinfo", "tables-deviceevents", "tables-emailevents"} {
				if d, ok := data[c][h]; ok {
					for _, l := range splitLines(d) {
						want = append(want, l)
						wantSrc = append(wantSrc, "m365_defender_storage:"+c+"/"+blobName(h))
					}
				}
			}
		}
		equalStrings(t, "events", dataOf(evs), want)
		for i, ev := range evs {
			if ev.Source != wantSrc[i] || ev.Sourcetype != "ms:defender:eventhub" || ev.Index != "defender" || ev.Host != "splunk-hf-1" ||
				ev.Stanza != "m365_defender_storage://tables-" || ev.Unbroken != "1" {
				t.Fatalf("event %d metadata: %+v", i, ev)
			}
		}
		// <time> is properties.Timestamp (the envelope time is 90 s later).
		if want := fmt.Sprintf("%d.000", yday23.Unix()); evs[0].Time != want {
			t.Fatalf("first event time = %q, want properties.Timestamp %s", evs[0].Time, want)
		}
		if !strings.Contains(e.logs.String(), `msg="poll complete"`) {
			t.Fatalf("no poll complete line:\n%s", e.logs.String())
		}
	})

	t.Run("AppendsBetweenPollsWithSplitLine", func(t *testing.T) {
		e := newEnv(t, az, "appends-")
		h := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
		c, name := "appends-devicefileevents", blobName(h)
		first := lines("DeviceFileEvents", h, 0, 2)
		split := record("DeviceFileEvents", h.Add(time.Minute), 2)
		e.appendBlob(c, name, first+split[:40])
		equalStrings(t, "poll 1", dataOf(e.mustPoll()), splitLines(first))

		// Nothing new: the partial line still waits, and no download is made.
		e.counter.reset()
		equalStrings(t, "poll 2", dataOf(e.mustPoll()), nil)
		if e.counter.gets.Load() != 0 {
			t.Fatalf("unchanged blob was downloaded %d times", e.counter.gets.Load())
		}

		// The rest of the split line, an LF-only line and a partial one.
		lf := record("DeviceFileEvents", h.Add(2*time.Minute), 3)
		e.appendOnly(c, name, split[40:]+"\r\n"+lf+"\n"+"{\"partial")
		equalStrings(t, "poll 3", dataOf(e.mustPoll()), []string{split, lf})
		e.appendOnly(c, name, "\":true}\r\n")
		equalStrings(t, "poll 4", dataOf(e.mustPoll()), []string{`{"partial":true}`})
	})

	t.Run("RestartFromCheckpointNoRepeatsListOnly", func(t *testing.T) {
		e := newEnv(t, az, "restart-")
		h := time.Date(2026, 12, 4, 14, 0, 0, 0, time.UTC)
		for _, c := range []string{"restart-a", "restart-b"} {
			e.appendBlob(c, blobName(h), lines("A", h, 0, 5))
			e.appendBlob(c, blobName(h.Add(time.Hour)), lines("A", h.Add(time.Hour), 0, 5))
		}
		if n := len(e.mustPoll()); n != 20 {
			t.Fatalf("first poll: %d events, want 20", n)
		}
		e.counter.reset()
		if evs := e.mustPoll(); len(evs) != 0 {
			t.Fatalf("restart repeated %d events: %q", len(evs), dataOf(evs))
		}
		// 1 container listing + per container: 1 tenant-folder listing + 2 day listings.
		if got, want := e.counter.lists.Load(), int64(1+2*3); got != want {
			t.Errorf("list calls = %d, want %d", got, want)
		}
		if e.counter.gets.Load() != 0 || e.counter.other.Load() != 0 {
			t.Errorf("unchanged poll made %d downloads and %d other requests; want list calls only", e.counter.gets.Load(), e.counter.other.Load())
		}
		// One more record in one blob: exactly it, with one download.
		e.counter.reset()
		extra := lines("A", h.Add(time.Hour), 5, 1)
		e.appendOnly("restart-b", blobName(h.Add(time.Hour)), extra)
		equalStrings(t, "after append", dataOf(e.mustPoll()), splitLines(extra))
		if e.counter.gets.Load() != 1 {
			t.Errorf("downloads = %d, want 1", e.counter.gets.Load())
		}
	})

	t.Run("ContainerCreatedAfterStart", func(t *testing.T) {
		e := newEnv(t, az, "later-")
		h := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
		e.appendBlob("later-deviceinfo", blobName(h), lines("DeviceInfo", h, 0, 2))
		if n := len(e.mustPoll()); n != 2 {
			t.Fatalf("first poll: %d events", n)
		}
		// A new table starts exporting: its container appears.
		recs := lines("IdentityLogonEvents", h, 0, 3)
		e.appendBlob("later-identitylogonevents", blobName(h), recs)
		evs := e.mustPoll()
		equalStrings(t, "new container", dataOf(evs), splitLines(recs))
		if !strings.HasPrefix(evs[0].Source, "m365_defender_storage:later-identitylogonevents/") {
			t.Fatalf("source %q", evs[0].Source)
		}
	})

	t.Run("NonJSONAndInvalidUTF8", func(t *testing.T) {
		e := newEnv(t, az, "odd-")
		h := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
		good := record("DeviceEvents", h, 1)
		data := good + "\r\n" + "this is not JSON <&>\r\n" + "{\"time\":\"2026-12-04T15:00:00Z\",\"x\":\"\xff\xfe\"}\r\n" + "\r\n"
		e.appendBlob("odd-deviceevents", blobName(h), data)
		evs := e.mustPoll()
		if len(evs) != 3 {
			t.Fatalf("got %d events, want 3 (blank line skipped): %q", len(evs), dataOf(evs))
		}
		if evs[0].Data != good || evs[1].Data != "this is not JSON <&>" || evs[1].Time != "" {
			t.Fatalf("events %+v", evs[:2])
		}
		// Invalid bytes cannot travel in XML; the writer replaces them, the rest is kept.
		if !strings.HasPrefix(evs[2].Data, `{"time":"2026-12-04T15:00:00Z","x":"`) || evs[2].Time != fmt.Sprintf("%d.000", h.Unix()) {
			t.Fatalf("invalid UTF-8 event %+v", evs[2])
		}
		logs := e.logs.String()
		for _, want := range []string{`WARN msg="lines that are not JSON were delivered as stored"`, `WARN msg="lines with invalid UTF-8 were delivered"`} {
			if !strings.Contains(logs, want) || !strings.Contains(logs, "lines=1") {
				t.Fatalf("missing %s with lines=1 in\n%s", want, logs)
			}
		}
	})

	t.Run("BlobDeletedBetweenListAndRead", func(t *testing.T) {
		e := newEnv(t, az, "deleted-")
		h := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
		keep := lines("DeviceEvents", h, 0, 2)
		e.appendBlob("deleted-a", blobName(h), lines("DeviceEvents", h, 0, 3))
		e.appendBlob("deleted-b", blobName(h), keep)
		e.wrap = func(name string, c blobContainer) blobContainer {
			if name != "deleted-a" {
				return c
			}
			return &deleteBeforeDownload{blobContainer: c, del: func(ctx context.Context, blob string) error {
				_, err := e.client.DeleteBlob(ctx, name, blob, nil)
				return err
			}}
		}
		evs := e.mustPoll()
		equalStrings(t, "events", dataOf(evs), splitLines(keep))
		if !strings.Contains(e.logs.String(), `msg="blob was deleted between listing and reading; skipped"`) {
			t.Fatalf("no log of the deleted blob:\n%s", e.logs.String())
		}
		store, _ := checkpoint.NewFileStore(e.cpDir, e.stanza().Name)
		var st containerState
		if _, err := store.Load(containerKey("deleted-a"), &st); err != nil || len(st.Blobs) != 0 {
			t.Fatalf("checkpoint of the deleted blob kept: %+v %v", st, err)
		}
		// A blob read before, deleted later: its record is dropped at the next listing.
		e.wrap = nil
		if _, err := e.client.DeleteBlob(e.ctx(), "deleted-b", blobName(h), nil); err != nil {
			t.Fatal(err)
		}
		e.mustPoll()
		st = containerState{}
		if _, err := store.Load(containerKey("deleted-b"), &st); err != nil || len(st.Blobs) != 0 {
			t.Fatalf("record of a deleted blob kept: %+v %v", st, err)
		}
	})

	t.Run("BlobDeletedAndRecreatedLarger", func(t *testing.T) {
		e := newEnv(t, az, "recreate-")
		h := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
		c, name := "recreate-deviceevents", blobName(h)
		e.appendBlob(c, name, lines("DeviceEvents", h, 0, 2))
		if n := len(e.mustPoll()); n != 2 {
			t.Fatalf("first poll: %d events, want 2", n)
		}
		// Creation times have one-second resolution in listings.
		time.Sleep(1100 * time.Millisecond)
		if _, err := e.client.DeleteBlob(e.ctx(), c, name, nil); err != nil {
			t.Fatal(err)
		}
		recs := lines("DeviceEvents", h, 100, 5) // larger than before
		e.appendBlob(c, name, recs)
		equalStrings(t, "after the blob was created again", dataOf(e.mustPoll()), splitLines(recs))
		if !strings.Contains(e.logs.String(), `WARN msg="blob was deleted and created again since the last read (its creation time changed); reading it again from the start" `) {
			t.Fatalf("no WARN about the recreated blob:\n%s", e.logs.String())
		}
		equalStrings(t, "again", dataOf(e.mustPoll()), nil)
		// A record written before creation times were kept is followed as before
		// and adopts the creation time from the next listing.
		store, _ := checkpoint.NewFileStore(e.cpDir, e.stanza().Name)
		var st containerState
		if _, err := store.Load(containerKey(c), &st); err != nil || st.Blobs[name] == nil || st.Blobs[name].Created.IsZero() {
			t.Fatalf("record without creation time: %+v %v", st.Blobs[name], err)
		}
		st.Blobs[name].Created = time.Time{}
		if err := store.Save(containerKey(c), &st); err != nil {
			t.Fatal(err)
		}
		more := lines("DeviceEvents", h, 200, 1)
		e.appendOnly(c, name, more)
		equalStrings(t, "legacy record", dataOf(e.mustPoll()), splitLines(more))
		st = containerState{}
		if _, err := store.Load(containerKey(c), &st); err != nil || st.Blobs[name].Created.IsZero() {
			t.Fatalf("creation time not adopted: %+v %v", st.Blobs[name], err)
		}
	})

	t.Run("AppendMoreThanADayAfterTheHour", func(t *testing.T) {
		e := newEnv(t, az, "late-")
		h := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
		c, name := "late-deviceevents", blobName(h)
		e.now = h.Add(30 * time.Minute)
		e.appendBlob(c, name, lines("DeviceEvents", h, 0, 2))
		if n := len(e.mustPoll()); n != 2 {
			t.Fatalf("first poll: %d events, want 2", n)
		}
		// Polls go on; the horizon (last poll minus 24 h) passes the blob's hour.
		for _, at := range []time.Duration{12 * time.Hour, 24 * time.Hour, 26 * time.Hour, 28 * time.Hour} {
			e.now = h.Add(30*time.Minute + at)
			if evs := e.mustPoll(); len(evs) != 0 {
				t.Fatalf("poll at %s: %q", e.now, dataOf(evs))
			}
		}
		// 29 h after the hour, the Streaming API appends to the old blob.
		late := lines("DeviceEvents", h, 50, 3)
		e.appendOnly(c, name, late)
		e.now = h.Add(29*time.Hour + 30*time.Minute)
		equalStrings(t, "late append", dataOf(e.mustPoll()), splitLines(late))
		// Once its day is no longer listed, the record is pruned.
		e.now = h.Add(72 * time.Hour)
		e.mustPoll()
		e.now = h.Add(73 * time.Hour)
		e.mustPoll()
		store, _ := checkpoint.NewFileStore(e.cpDir, e.stanza().Name)
		var st containerState
		if _, err := store.Load(containerKey(c), &st); err != nil || len(st.Blobs) != 0 || st.PrunedBefore.IsZero() {
			t.Fatalf("record not pruned: %+v %v", st, err)
		}
	})

	t.Run("LineLongerThanTheLimitDeliveredWhole", func(t *testing.T) {
		e := newEnv(t, az, "long-")
		// Limits not aligned with the 10-byte pattern, so pieces would end
		// inside characters if they were cut blindly.
		e.maxLine, e.pieceBytes, e.commit = 64<<10+7, 49_999, 1
		h := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
		c, name := "long-deviceevents", blobName(h)
		longRecord := func(n int) string {
			return `{"time":"2026-12-04T15:01:00Z","properties":{"Timestamp":"2026-12-04T15:00:30Z","Blob":"` +
				strings.Repeat("😀é<&>x", n) + `"}}`
		}
		before, after := record("DeviceEvents", h, 1), record("DeviceEvents", h, 2)
		long, long2 := longRecord(30_000), longRecord(32_000) // 300 kB, 320 kB
		e.appendBlob(c, name, before+"\r\n"+long+"\r\n"+after+"\r\n"+long2[:150_000])
		evs := e.mustPoll()
		got, pieces := joined(t, evs)
		equalStrings(t, "poll 1", got, []string{before, long, after})
		if pieces[1] < 6 || pieces[0] != 1 || pieces[2] != 1 {
			t.Fatalf("pieces per event %v, want the long line in 6 or more", pieces)
		}
		if want := fmt.Sprintf("%d.000", h.Add(30*time.Second).Unix()); evs[1].Time != want {
			t.Fatalf("long line time %q, want properties.Timestamp %s", evs[1].Time, want)
		}
		// The long partial line waited; now it is complete.
		e.appendOnly(c, name, long2[150_000:]+"\r\n")
		got, _ = joined(t, e.mustPoll())
		equalStrings(t, "poll 2", got, []string{long2})
		got, _ = joined(t, e.mustPoll())
		equalStrings(t, "poll 3", got, nil)
		if !strings.Contains(e.logs.String(), `INFO msg="line longer than the read limit delivered as one event in pieces" `) {
			t.Fatalf("no log of the long line:\n%s", e.logs.String())
		}

		// The second download of a long line breaks: it resumes. When it
		// keeps breaking, the event is closed, the container fails, and the
		// next poll delivers the line again, whole.
		base := int64(len(before) + len(long) + len(after) + len(long2) + 8)
		long3 := longRecord(35_000)
		e.appendOnly(c, name, long3+"\r\n"+after+"\r\n")
		breaks := 1
		restOfLine := func(r *http.Request) bool {
			off, ok := rangeStart(r)
			return isDownload(r) && ok && off > base && off < base+int64(len(long3))
		}
		e.counter.base = &faultTransport{base: http.DefaultTransport, fault: func(r *http.Request) (*http.Response, error, int) {
			if restOfLine(r) && breaks != 0 {
				breaks--
				return nil, nil, 30_000
			}
			return nil, nil, -1
		}}
		got, _ = joined(t, e.mustPoll())
		equalStrings(t, "after one break", got, []string{long3, after})
		if breaks != 0 || !strings.Contains(e.logs.String(), `operation="reading the rest of a long line of blob`) {
			t.Fatalf("the rest of the line was not read again after a break (breaks left %d):\n%s", breaks, e.logs.String())
		}

		base += int64(len(long3) + len(after) + 4)
		e.appendOnly(c, name, long3+"\r\n")
		breaks = -1 // always
		evs, err := e.poll()
		if err == nil {
			t.Fatal("poll succeeded although the rest of the long line could not be read")
		}
		if got, _ = joined(t, evs); len(got) != 1 || !strings.HasPrefix(long3, got[0]) || len(got[0]) >= len(long3) {
			t.Fatalf("the failed long line was not closed as one cut event: %d events", len(got))
		}
		e.counter.base = http.DefaultTransport
		got, _ = joined(t, e.mustPoll())
		equalStrings(t, "after the faults", got, []string{long3})
	})

	t.Run("CheckpointMovesOnlyAfterFlush", func(t *testing.T) {
		e := newEnv(t, az, "flush-")
		h := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
		recs := lines("DeviceEvents", h, 0, 200)
		e.appendBlob("flush-deviceevents", blobName(h), recs)
		fs, err := checkpoint.NewFileStore(e.cpDir, e.stanza().Name)
		if err != nil {
			t.Fatal(err)
		}
		spy := &flushSpy{Store: fs}
		var end int64
		for _, l := range splitLines(recs) {
			end += int64(len(l)) + 2
			spy.ends = append(spy.ends, end)
		}
		e.store = spy
		e.commit = 4096 // a checkpoint every few records
		out := &spyWriter{}
		spy.out = out
		secrets := &modinput.Secrets{}
		rt, w := e.runtime(out, secrets)
		cfg, err := configFromRuntime(e.ctx(), rt, e.stanza())
		if err != nil {
			t.Fatal(err)
		}
		in := New(cfg, rt)
		in.commitBytes = e.commit
		if err := in.Run(e.ctx()); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if spy.saves < 10 {
			t.Fatalf("only %d container checkpoint saves", spy.saves)
		}
		if spy.violation != "" {
			t.Fatal(spy.violation)
		}
		equalStrings(t, "events", dataOf(parseStream(t, out.b)), splitLines(recs))
	})

	t.Run("PruneKeepsCheckpointSmall", func(t *testing.T) {
		e := newEnv(t, az, "prune-")
		e.params = map[string]string{"start_date": ""} // default: 24 h before the first run
		day := time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC)
		for i := 0; i < 24; i++ {
			hr := day.Add(time.Duration(i) * time.Hour)
			e.appendBlob("prune-deviceevents", blobName(hr), lines("DeviceEvents", hr, 0, 1))
		}
		e.appendBlob("prune-deviceevents", blobName(day.Add(-2*time.Hour)), lines("DeviceEvents", day, 0, 1)) // older than the default start
		if n := len(e.mustPoll()); n != 24 {
			t.Fatalf("first poll: %d events, want the 24 blobs of the last day", n)
		}
		store, _ := checkpoint.NewFileStore(e.cpDir, e.stanza().Name)
		var st containerState
		store.Load(containerKey("prune-deviceevents"), &st)
		if len(st.Blobs) != 24 {
			t.Fatalf("%d blob records after the first poll", len(st.Blobs))
		}
		// Two days later, with new hours exported meanwhile.
		for i := 0; i < 3; i++ {
			e.now = e.now.Add(24 * time.Hour)
			hr := e.now.Truncate(time.Hour)
			e.appendBlob("prune-deviceevents", blobName(hr), lines("DeviceEvents", hr, 0, 2))
			if n := len(e.mustPoll()); n != 2 {
				t.Fatalf("day %d: %d events, want 2", i, n)
			}
		}
		st = containerState{}
		store.Load(containerKey("prune-deviceevents"), &st)
		// The horizon trails the last poll by 24 h: the records of the last
		// three exported hours remain, the first day's 24 are gone.
		if len(st.Blobs) > 3 {
			t.Fatalf("%d blob records kept, want at most 3: %v", len(st.Blobs), slices.Collect(maps.Keys(st.Blobs)))
		}
	})

	t.Run("ClosedBlobWithoutFinalNewline", func(t *testing.T) {
		e := newEnv(t, az, "tail-")
		h := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
		last := record("DeviceEvents", h, 9)
		e.appendBlob("tail-deviceevents", blobName(h), lines("DeviceEvents", h, 0, 1)+last)
		if n := len(e.mustPoll()); n != 1 {
			t.Fatalf("open hour: %d events, want 1 (the tail waits)", n)
		}
		e.now = h.Add(4 * time.Hour) // the hour closed long ago, the blob did not change
		equalStrings(t, "closed", dataOf(e.mustPoll()), []string{last})
		equalStrings(t, "again", dataOf(e.mustPoll()), nil)
	})

	t.Run("SecretsNeverInOutput", func(t *testing.T) {
		e := newEnv(t, az, "secret-")
		h := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
		e.appendBlob("secret-deviceevents", blobName(h), lines("DeviceEvents", h, 0, 2))
		// A wrong key: 403 (AuthenticationFailed from Azure, AuthorizationFailure from Azurite).
		badKey := "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="
		badCS := strings.Replace(e.az.ConnectionString(), testpeer.AzuriteKey, badKey, 1)
		e.params = map[string]string{"connection_string": badCS}
		_, err := e.poll()
		if err == nil {
			t.Fatal("poll with a wrong key succeeded")
		}
		var se *Error
		if !errors.As(err, &se) || se.Status != 403 || !strings.Contains(err.Error(), "check the account key") {
			t.Fatalf("error %v (%#v), want a 403 pointing at the key", err, err)
		}
		// Validation names the parameter.
		rt, _ := e.runtime(io.Discard, &modinput.Secrets{})
		verr := Kind().Validate(e.ctx(), rt, e.stanza())
		if verr == nil || !strings.HasPrefix(verr.Error(), `stanza "m365_defender_storage://secret-": parameter "connection_string": `) ||
			!strings.Contains(verr.Error(), "403 Authorization") {
			t.Fatalf("validate: %v", verr)
		}
		// Then the right key.
		e.params = nil
		if n := len(e.mustPoll()); n != 2 {
			t.Fatalf("%d events", n)
		}
		rt, _ = e.runtime(io.Discard, &modinput.Secrets{})
		if err := Kind().Validate(e.ctx(), rt, e.stanza()); err != nil {
			t.Fatalf("validate: %v", err)
		}
		var files strings.Builder
		filepath.WalkDir(e.cpDir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				files.Write(b)
			}
			return nil
		})
		for _, s := range []string{badKey, testpeer.AzuriteKey, "AccountKey"} {
			for what, text := range map[string]string{"logs": e.logs.String(), "error": err.Error() + verr.Error(), "checkpoints": files.String()} {
				if strings.Contains(text, s) {
					t.Errorf("%s contain %q:\n%s", what, s, text)
				}
			}
		}
		if !strings.Contains(e.logs.String(), "error_kind=permission") || !strings.Contains(e.logs.String(), `msg=retrying`) {
			t.Errorf("no retries with error_kind=permission in logs:\n%s", e.logs.String())
		}
	})

	t.Run("SASConnectionString", func(t *testing.T) {
		e := newEnv(t, az, "sas-")
		h := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
		recs := lines("DeviceEvents", h, 0, 2)
		e.appendBlob("sas-deviceevents", blobName(h), recs)
		sasURL, err := e.client.ServiceClient().GetSASURL(sas.AccountResourceTypes{Service: true, Container: true, Object: true},
			sas.AccountPermissions{Read: true, List: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		token := sasURL[strings.IndexByte(sasURL, '?')+1:]
		sig := token[strings.Index(token, "sig="):]
		e.params = map[string]string{"connection_string": "BlobEndpoint=" + az.BlobURL() + ";SharedAccessSignature=" + token}
		equalStrings(t, "events", dataOf(e.mustPoll()), splitLines(recs))
		// A SAS without the list permission: 403, and the token stays out of the logs.
		bad, err := e.client.ServiceClient().GetSASURL(sas.AccountResourceTypes{Service: true, Container: true, Object: true},
			sas.AccountPermissions{Read: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		badToken := bad[strings.IndexByte(bad, '?')+1:]
		e.params = map[string]string{"connection_string": "BlobEndpoint=" + az.BlobURL() + ";SharedAccessSignature=" + badToken}
		_, err = e.poll()
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("poll with a read-only SAS: %v", err)
		}
		badSig := badToken[strings.Index(badToken, "sig="):]
		for _, s := range []string{sig, badSig, token, badToken} {
			if strings.Contains(e.logs.String(), s) || strings.Contains(err.Error(), s) {
				t.Fatalf("SAS token in logs or error:\n%s\n%v", e.logs.String(), err)
			}
		}
	})

	t.Run("ValidateListsContainersAndNamesParameter", func(t *testing.T) {
		e := newEnv(t, az, "valid-")
		e.createContainer("valid-emailevents")
		rt, _ := e.runtime(io.Discard, &modinput.Secrets{})
		if err := Kind().Validate(e.ctx(), rt, e.stanza()); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(e.logs.String(), "container_names=valid-emailevents") {
			t.Fatalf("validation does not list the containers:\n%s", e.logs.String())
		}
		// Nothing listens on this port any more.
		e.params = map[string]string{"connection_string": "AccountName=devstoreaccount1;AccountKey=" + testKey + ";BlobEndpoint=http://127.0.0.1:1/devstoreaccount1"}
		err := Kind().Validate(e.ctx(), rt, e.stanza())
		if err == nil || !strings.Contains(err.Error(), `parameter "connection_string"`) || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("validate against a closed port: %v", err)
		}
	})
}

// rangeStart is the first byte a download asks for ("x-ms-range: bytes=N-").
func rangeStart(r *http.Request) (int64, bool) {
	rg := r.Header.Get("Range")
	if v := r.Header["x-ms-range"]; len(v) > 0 { // the SDK sets it lower-case
		rg = v[0]
	}
	v, ok := strings.CutPrefix(rg, "bytes=")
	if !ok {
		return 0, false
	}
	v, _, _ = strings.Cut(v, "-")
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// sharedAzurite starts Azurite once for the package's tests; TestMain stops
// it (and its lifetime is tied to the test process anyway).
func sharedAzurite(t *testing.T) *testpeer.Azurite {
	azOnce.Do(func() { azShared = testpeer.StartAzurite(&keepAlive{T: t}) })
	if azShared == nil {
		t.Fatal("Azurite did not start")
	}
	return azShared
}

var (
	azOnce    sync.Once
	azShared  *testpeer.Azurite
	azTempDir []string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if azShared != nil {
		azShared.Stop()
	}
	for _, d := range azTempDir {
		os.RemoveAll(d)
	}
	testBinary.Remove()
	os.Exit(code)
}

// keepAlive is the testing.TB of the shared Azurite: it outlives the test
// that started it, so cleanups are left to TestMain.
type keepAlive struct{ *testing.T }

func (k *keepAlive) Cleanup(func()) {}
func (k *keepAlive) Failed() bool   { return false }

func (k *keepAlive) TempDir() string {
	d, err := os.MkdirTemp("", "azurite-")
	if err != nil {
		k.T.Fatal(err)
	}
	azTempDir = append(azTempDir, d)
	return d
}

// deleteBeforeDownload deletes a blob right before the input downloads it,
// as if the blob vanished between the listing and the read.
type deleteBeforeDownload struct {
	blobContainer
	del func(ctx context.Context, blob string) error
}

func (d *deleteBeforeDownload) Download(ctx context.Context, name string, offset int64) (io.ReadCloser, blobItem, error) {
	if err := d.del(ctx, name); err != nil {
		return nil, blobItem{}, err
	}
	return d.blobContainer.Download(ctx, name, offset)
}

// spyWriter records everything written to the event stream.
type spyWriter struct{ b []byte }

func (s *spyWriter) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }

// flushSpy checks, on every checkpoint save, that the records up to the
// saved offset have already reached the output.
type flushSpy struct {
	checkpoint.Store
	out       *spyWriter
	ends      []int64 // byte offset after each record of the blob
	saves     int
	violation string
}

func (f *flushSpy) Save(key string, v any) error {
	if st, ok := v.(*containerState); ok && strings.HasPrefix(key, "container-") {
		f.saves++
		delivered := strings.Count(string(f.out.b), "</event>")
		for _, b := range st.Blobs {
			covered, _ := slices.BinarySearch(f.ends, b.Offset+1)
			if covered > delivered {
				f.violation = fmt.Sprintf("checkpoint at offset %d covers %d records, but only %d were flushed", b.Offset, covered, delivered)
			}
		}
	}
	return f.Store.Save(key, v)
}
