package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

type gotLine struct {
	Data      string
	Size      int64
	Complete  bool
	Truncated bool
}

func readAll(t testing.TB, r io.Reader, bufSize, max int) ([]gotLine, error) {
	if max <= 0 {
		max = maxLineBytes
	}
	lr := newLineReader(r, bufSize, max)
	var out []gotLine
	for {
		ln, err := lr.next()
		if ln.Size > 0 || ln.Complete {
			out = append(out, gotLine{string(ln.Data), ln.Size, ln.Complete, ln.Truncated})
		}
		if err != nil {
			return out, err
		}
	}
}

func TestLineReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		bufSize int
		max     int
		want    []gotLine
	}{
		{name: "CRLF", in: "{\"a\":1}\r\n{\"b\":2}\r\n", want: []gotLine{{`{"a":1}`, 9, true, false}, {`{"b":2}`, 9, true, false}}},
		{name: "LF", in: "a\nb\n", want: []gotLine{{"a", 2, true, false}, {"b", 2, true, false}}},
		{name: "MixedAndBlank", in: "a\r\n\r\nb\n\n", want: []gotLine{{"a", 3, true, false}, {"", 2, true, false}, {"b", 2, true, false}, {"", 1, true, false}}},
		{name: "PartialLastLine", in: "a\r\n{\"b\":", want: []gotLine{{"a", 3, true, false}, {`{"b":`, 5, false, false}}},
		{name: "PartialEndsInCR", in: "a\r\nb\r", want: []gotLine{{"a", 3, true, false}, {"b\r", 2, false, false}}},
		{name: "LoneCRKept", in: "a\rb\r\n", want: []gotLine{{"a\rb", 5, true, false}}},
		{name: "LongerThanBuffer", in: strings.Repeat("x", 100) + "\r\nok\n", bufSize: 16, want: []gotLine{{strings.Repeat("x", 100), 102, true, false}, {"ok", 3, true, false}}},
		{name: "TruncatedAtMax", in: strings.Repeat("y", 100) + "\r\nz\n", bufSize: 16, max: 40, want: []gotLine{{strings.Repeat("y", 40), 102, true, true}, {"z", 2, true, false}}},
		{name: "PartialLongerThanMax", in: "k\n" + strings.Repeat("p", 50), bufSize: 16, max: 20, want: []gotLine{{"k", 2, true, false}, {strings.Repeat("p", 20), 50, false, true}}},
		{name: "Empty", in: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := tt.bufSize
			if bs == 0 {
				bs = 4096
			}
			got, err := readAll(t, strings.NewReader(tt.in), bs, tt.max)
			if err != io.EOF {
				t.Fatalf("err = %v, want io.EOF", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d lines %+v, want %d %+v", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("line %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestLineReaderReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("a\r\nhalf"), iotest.ErrReader(boom))
	got, err := readAll(t, r, 4096, 0)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	want := []gotLine{{"a", 3, true, false}, {"half", 4, false, false}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestRecordTime(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string // RFC 3339 nano, "" for zero
		isJSON bool
	}{
		{"PropertiesTimestamp", `{"time":"2026-12-04T15:00:10.1234567Z","properties":{"Timestamp":"2026-12-04T14:58:00.5Z"}}`, "2026-12-04T14:58:00.5Z", true},
		{"EnvelopeTimeFallback", `{"time":"2026-12-04T15:00:10.1234567Z","properties":{"DeviceName":"x"}}`, "2026-12-04T15:00:10.1234567Z", true},
		{"NoZone", `{"time":"2026-07-22T10:43:05.0000000"}`, "2026-07-22T10:43:05Z", true},
		{"TimestampNotString", `{"time":"2026-12-04T15:00:00Z","properties":{"Timestamp":12}}`, "2026-12-04T15:00:00Z", true},
		{"PropertiesNotObject", `{"time":"2026-12-04T15:00:00Z","properties":"x"}`, "2026-12-04T15:00:00Z", true},
		{"NoTime", `{"category":"AdvancedHunting-DeviceInfo"}`, "", true},
		{"NotJSON", `this is not json`, "", false},
		{"TruncatedJSON", `{"time":"2026-12-04T15:00:00Z",`, "", false},
		{"Array", `[1,2]`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := recordTime([]byte(tt.in))
			if ok != tt.isJSON {
				t.Fatalf("ok = %v, want %v", ok, tt.isJSON)
			}
			var want time.Time
			if tt.want != "" {
				want, _ = time.Parse(time.RFC3339Nano, tt.want)
			}
			if !got.Equal(want) {
				t.Fatalf("time = %v, want %v", got, want)
			}
		})
	}
}

func TestParseBlobHour(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{"tenantId=8d3c/y=2026/m=12/d=04/h=15/m=00/PT1H.json", "2026-12-04T15:00:00Z"},
		{"tenantId=8d3c/y=2026/m=01/d=31/h=00/m=00/PT1H_1.json", "2026-01-31T00:00:00Z"},
		{"tenantId=8d3c/y=2026/m=13/d=04/h=15/m=00/PT1H.json", ""},
		{"tenantId=8d3c/y=2026/m=12/PT1H.json", ""},
		{"other/file.json", ""},
	}
	for _, tt := range tests {
		got, ok := parseBlobHour(tt.name)
		if tt.want == "" {
			if ok {
				t.Errorf("%s: got %v, want no hour", tt.name, got)
			}
			continue
		}
		if !ok || got.Format(time.RFC3339) != tt.want {
			t.Errorf("%s: got %v %v, want %s", tt.name, got, ok, tt.want)
		}
	}
}

func TestDayPrefixes(t *testing.T) {
	from := time.Date(2026, 12, 30, 22, 0, 0, 0, time.UTC)
	to := time.Date(2027, 1, 1, 1, 0, 0, 0, time.UTC)
	got := strings.Join(dayPrefixes("tenantId=x/", from, to), " ")
	want := "tenantId=x/y=2026/m=12/d=30/ tenantId=x/y=2026/m=12/d=31/ tenantId=x/y=2027/m=01/d=01/"
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

// FuzzLineReader checks that splitting never loses or invents a byte: every
// line's Len bytes and its terminator put back together give the input, and
// Data is the beginning of the line (all of it unless Truncated), whatever
// the buffer size and the reader's limit.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("{\"a\":1}\r\n{\"b\":2}\r\npartial"), 16, uint16(0))
	f.Add([]byte("\r\r\n\n\r"), 1, uint16(0))
	f.Add([]byte(strings.Repeat("x", 70)+"\n"), 16, uint16(0))
	f.Add([]byte(strings.Repeat("x", 15)+"\r\n"+strings.Repeat("y", 40)+"\r\nz"), 16, uint16(20))
	f.Fuzz(func(t *testing.T, in []byte, bufSize int, limit uint16) {
		if bufSize < 16 {
			bufSize = 16
		}
		bufSize %= 1 << 16
		if bufSize < 16 {
			bufSize = 16
		}
		max := maxLineBytes
		if limit > 0 {
			max = int(limit)
		}
		lr := newLineReader(bytes.NewReader(in), bufSize, max)
		var total int64
		for {
			ln, err := lr.next()
			start := total
			total += ln.Size
			if ln.Size > 0 || ln.Complete {
				if ln.Len > ln.Size || start+ln.Size > int64(len(in)) {
					t.Fatalf("line of %d bytes (Len %d) at %d overruns the input of %d", ln.Size, ln.Len, start, len(in))
				}
				content := in[start : start+ln.Len]
				if !bytes.HasPrefix(content, ln.Data) || ln.Truncated != (int64(len(ln.Data)) < ln.Len) || len(ln.Data) > max {
					t.Fatalf("line %q (truncated %v) is not its bytes %q", ln.Data, ln.Truncated, content)
				}
				term := string(in[start+ln.Len : total])
				switch {
				case ln.Complete && term != "\n" && term != "\r\n":
					t.Fatalf("terminator %q", term)
				case ln.Complete && term == "\n" && bytes.HasSuffix(content, []byte("\r")):
					t.Fatalf("CRLF split: line %q ends in CR", content)
				case !ln.Complete && term != "":
					t.Fatalf("partial line with terminator %q", term)
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if total != int64(len(in)) {
			t.Fatalf("consumed %d of %d bytes", total, len(in))
		}
	})
}

func TestRuneCut(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""}, {"abc", "abc"}, {"ab\xc3", "ab"}, {"ab\xc3\xa9", "ab\xc3\xa9"}, {"a\xf0\x9f\x98", "a"},
		{"a\xf0\x9f\x98\x80", "a\xf0\x9f\x98\x80"}, {"\x80\x80\x80\x80", "\x80\x80\x80\x80"}, {"a\xff", "a\xff"},
	} {
		if got := runeCut([]byte(tt.in)); string(got) != tt.want {
			t.Errorf("runeCut(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrefixTime(t *testing.T) {
	rec := record("DeviceEvents", testNow, 1)
	for _, tt := range []struct {
		name string
		in   string
		want time.Time
		ok   bool
	}{
		{"Whole", rec, testNow, true},
		{"TimeOnly", rec[:60], testNow.Add(90 * time.Second), true},
		{"NoTimeYet", rec[:10], time.Time{}, false},
		{"NotJSON", "xyz", time.Time{}, false},
	} {
		got, ok := prefixTime([]byte(tt.in))
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("%s: prefixTime = %v %v, want %v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// recordTimeStd is the reference for recordTime, built on encoding/json.
func recordTimeStd(b []byte) (time.Time, bool) {
	var rec struct {
		Time       json.RawMessage `json:"time"`
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return time.Time{}, false
	}
	if len(rec.Properties) > 0 && rec.Properties[0] == '{' {
		var p struct {
			Timestamp json.RawMessage `json:"Timestamp"`
		}
		if json.Unmarshal(rec.Properties, &p) == nil {
			if t, ok := parseTime(p.Timestamp); ok {
				return t, true
			}
		}
	}
	t, _ := parseTime(rec.Time)
	return t, true
}

// FuzzRecordTime checks the one-pass scanner against encoding/json: the same
// lines are JSON objects, and (for ASCII lines without escapes, where key
// folding is plain) the same time is found.
func FuzzRecordTime(f *testing.F) {
	f.Add([]byte(`{"time":"2026-12-04T15:00:10.1234567Z","properties":{"Timestamp":"2026-12-04T14:58:00Z"}}`))
	f.Add([]byte(`{"time":"2026-12-04T15:00:10Z","properties":{"Timestamp":1},"properties":{"x":[1,2.5e-3,true,null,{}]}}`))
	f.Add([]byte(`{"TIME":"2026-12-04T15:00:10Z","a":"\u00e9\n"}`))
	f.Add([]byte("\xff\xfe{"))
	f.Add([]byte(`{"a":-0.0E+1}  `))
	f.Add([]byte(`[{"time":"2026-12-04T15:00:10Z"}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, ok := recordTime(in)
		want, wantOK := recordTimeStd(in)
		if ok != wantOK {
			t.Fatalf("recordTime(%q) ok = %v, encoding/json says %v", in, ok, wantOK)
		}
		ascii := !bytes.ContainsRune(in, '\\')
		for _, c := range in {
			if c >= 0x80 {
				ascii = false
			}
		}
		if ok && ascii && !got.Equal(want) {
			t.Fatalf("recordTime(%q) = %v, encoding/json gives %v", in, got, want)
		}
	})
}

func BenchmarkRecordTimeStd(b *testing.B) {
	line := []byte(benchRecord(testNow, 42))
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, ok := recordTimeStd(line); !ok {
			b.Fatal("not JSON")
		}
	}
}

func TestPlan(t *testing.T) {
	h := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC) // horizon
	open := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	closedHour := time.Date(2026, 12, 4, 11, 0, 0, 0, time.UTC)
	now := testNow
	t1, t2 := time.Date(2026, 12, 4, 15, 0, 1, 0, time.UTC), time.Date(2026, 12, 4, 15, 20, 7, 0, time.UTC)
	tests := []struct {
		name    string
		hour    time.Time
		rec     *blobState
		size    int64
		etag    string
		want    bool
		from    int64
		newETag bool // the record's ETag is updated without a download
		created time.Time
		// wantCreated is the record's creation time after plan (zero: not checked).
		wantCreated time.Time
		// start and pruned of the container run (zero pruned: the horizon).
		start, pruned time.Time
	}{
		{name: "NewBlob", hour: open, size: 10, etag: "e1", want: true},
		{name: "NewEmptyBlob", hour: open, size: 0, etag: "e1"},
		{name: "NewBlobOfPrunedHour", hour: h.Add(-time.Hour), size: 10, etag: "e1"},
		{name: "NewBlobBeforeHorizonNotPruned", hour: h.Add(-time.Hour), pruned: h.Add(-24 * time.Hour), size: 10, etag: "e1", want: true},
		{name: "NewBlobBeforeStart", hour: h.Add(-time.Hour), start: h, pruned: h.Add(-48 * time.Hour), size: 10, etag: "e1"},
		{name: "PrunedHourRecordGrew", hour: h.Add(-3 * time.Hour), rec: &blobState{Offset: 4, Size: 4, ETag: "e1"}, size: 9, etag: "e2", want: true, from: 4},
		{name: "Unchanged", hour: open, rec: &blobState{Offset: 10, Size: 10, ETag: "e1"}, size: 10, etag: "e1"},
		{name: "UnchangedPartialTailOpenHour", hour: open, rec: &blobState{Offset: 8, Size: 10, ETag: "e1"}, size: 10, etag: "e1"},
		{name: "PartialTailClosedHour", hour: closedHour, rec: &blobState{Offset: 8, Size: 10, ETag: "e1"}, size: 10, etag: "e1", want: true, from: 8},
		{name: "Grew", hour: open, rec: &blobState{Offset: 8, Size: 10, ETag: "e1"}, size: 30, etag: "e2", want: true, from: 8},
		{name: "GrewSameETagAfterBrokenRead", hour: closedHour, rec: &blobState{Offset: 8, Size: 8, ETag: "e1"}, size: 30, etag: "e1", want: true, from: 8},
		{name: "Replaced", hour: open, rec: &blobState{Offset: 8, Size: 10, ETag: "e1"}, size: 5, etag: "e9", want: true, from: 0},
		{name: "MetadataOnly", hour: open, rec: &blobState{Offset: 10, Size: 10, ETag: "e1"}, size: 10, etag: "e2", newETag: true},
		{name: "RecreatedLarger", hour: open, rec: &blobState{Offset: 8, Size: 10, ETag: "e1", Created: t1}, size: 30, etag: "e2", created: t2, want: true, from: 0},
		{name: "RecreatedSameSize", hour: open, rec: &blobState{Offset: 10, Size: 10, ETag: "e1", Created: t1}, size: 10, etag: "e2", created: t2, want: true, from: 0},
		{name: "GrewSameCreation", hour: open, rec: &blobState{Offset: 8, Size: 10, ETag: "e1", Created: t1}, size: 30, etag: "e2", created: t1, want: true, from: 8},
		{name: "LegacyRecordAdoptsCreation", hour: open, rec: &blobState{Offset: 10, Size: 10, ETag: "e1"}, size: 10, etag: "e1", created: t2, wantCreated: t2},
		{name: "LegacyRecordGrew", hour: open, rec: &blobState{Offset: 8, Size: 10, ETag: "e1"}, size: 30, etag: "e2", created: t2, want: true, from: 8, wantCreated: t2},
		{name: "NoCreationInListing", hour: open, rec: &blobState{Offset: 8, Size: 10, ETag: "e1", Created: t1}, size: 30, etag: "e2", want: true, from: 8},
		{name: "OldRecordStillFollowed", hour: h.Add(-5 * time.Hour), rec: &blobState{Offset: 4, Size: 4, ETag: "e1"}, size: 9, etag: "e2", want: true, from: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := blobName(tt.hour)
			cr := &containerRun{name: "c", state: &containerState{Blobs: map[string]*blobState{}}, horizon: h, start: tt.start, pruned: tt.pruned}
			if cr.pruned.IsZero() {
				cr.pruned = h
			}
			if tt.rec != nil {
				r := *tt.rec
				r.Hour = tt.hour
				cr.state.Blobs[name] = &r
			}
			in := &Input{log: slog.New(slog.DiscardHandler)}
			w, ok := in.plan(cr, blobItem{Name: name, ETag: tt.etag, Size: tt.size, Created: tt.created}, now)
			if ok != tt.want || (ok && w.from != tt.from) {
				t.Fatalf("plan = %v from %d, want %v from %d", ok, w.from, tt.want, tt.from)
			}
			if tt.newETag && (cr.state.Blobs[name].ETag != tt.etag || !cr.dirty) {
				t.Fatalf("ETag not updated: %+v", cr.state.Blobs[name])
			}
			if !tt.wantCreated.IsZero() && (!cr.state.Blobs[name].Created.Equal(tt.wantCreated) || !cr.dirty) {
				t.Fatalf("creation time not adopted: %+v", cr.state.Blobs[name])
			}
			if ok && !w.created.Equal(tt.created) {
				t.Fatalf("work carries creation time %v, want %v", w.created, tt.created)
			}
		})
	}
}

func TestPlainRun(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{"", 0}, {"abcdefg", 0}, {"abcdefgh", 8}, {"abcdefgh\"", 8}, {"abc\"efghijklmnop", 0},
		{"abcdefghij\\klmnopq", 8}, {"abcdefgh\x1fijklmnop", 8}, {"héllo wörld, ünïcode!", 24}, {"\x7f\x80\xff\xfe abcd", 8},
	} {
		if got := plainRun([]byte(tt.in)); got != tt.want {
			t.Errorf("plainRun(%q) = %d, want %d", tt.in, got, tt.want)
		}
		// Never skips a special byte.
		for i := 0; i < plainRun([]byte(tt.in)); i++ {
			if c := tt.in[i]; c == '"' || c == '\\' || c < 0x20 {
				t.Errorf("plainRun(%q) skipped %q at %d", tt.in, c, i)
			}
		}
	}
}

// TestPlanPrunedHourLogs: a listed blob of a pruned hour without a record is
// not read, with a WARN naming container, blob and bytes; when the cutoff
// comes from a record written before PrunedBefore existed, the skip is
// expected (DEBUG).
func TestPlanPrunedHourLogs(t *testing.T) {
	h := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	const msg = `msg="blob of an hour whose checkpoints were pruned is not read; lines appended to it after it was read are missed" container=c blob=`
	for _, tt := range []struct {
		name   string
		legacy bool
		want   string
	}{
		{"Pruned", false, "level=WARN " + msg},
		{"LegacyRecord", true, "level=DEBUG " + msg},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			in := &Input{log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			cr := &containerRun{name: "c", state: &containerState{Blobs: map[string]*blobState{}}, horizon: h, pruned: h, prunedLegacy: tt.legacy}
			if _, ok := in.plan(cr, blobItem{Name: blobName(h.Add(-2 * time.Hour)), Size: 1234}, testNow); ok {
				t.Fatal("blob of a pruned hour planned for reading")
			}
			if !strings.Contains(logs.String(), tt.want) || !strings.Contains(logs.String(), " bytes=1234 ") || strings.Count(logs.String(), "\n") != 1 {
				t.Fatalf("logs:\n%s\nwant one line with %s and bytes=1234", logs.String(), tt.want)
			}
		})
	}
}
