package modinput

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sdkEvent(t time.Time, maximal bool) *Event {
	e := &Event{Stanza: "fubar", Time: t, Data: []byte("This is a test of the emergency broadcast system."), Unbroken: true, Done: true}
	if maximal {
		e.Source, e.Sourcetype, e.Index, e.Host = "hilda", "misc", "main", "localhost"
	}
	return e
}

func TestEventWriterMatchesSDKFixtures(t *testing.T) {
	t1 := time.UnixMilli(1372187084000)
	t2 := time.UnixMilli(1372274622493)
	t3 := time.UnixMilli(1372275124466)
	type fixtureCase struct {
		file   string
		events []*Event
		close  bool
	}
	var tests []fixtureCase
	for _, sdk := range []string{"python", "java", "javascript"} {
		tests = append(tests,
			fixtureCase{sdk + "/event_minimal.xml", []*Event{sdkEvent(t1, false)}, false},
			fixtureCase{sdk + "/event_maximal.xml", []*Event{sdkEvent(t2, true)}, false},
			fixtureCase{sdk + "/stream_with_one_event.xml", []*Event{sdkEvent(t3, true)}, true},
			fixtureCase{sdk + "/stream_with_two_events.xml", []*Event{sdkEvent(t3, true), sdkEvent(t3, true)}, true},
		)
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want := parseTreeForTest(t, fixture(t, tt.file))
			var out bytes.Buffer
			w := NewEventWriter(&out)
			for _, e := range tt.events {
				if err := w.Write(e); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := parseTreeForTest(t, out.Bytes())
			if !tt.close { // bare event fixtures: compare with the events inside <stream>
				got = got[0].Children
			}
			if !treesEqual(got, want) {
				t.Errorf("output differs from %s:\n got:\n%s\nwant:\n%s", tt.file, dumpTrees(got), dumpTrees(want))
			}
		})
	}
}

func TestEventWriterFiveAndJSONEvents(t *testing.T) {
	for _, file := range []string{"javascript/stream_with_five_events.xml", "javascript/stream_with_two_json_events.xml"} {
		t.Run(file, func(t *testing.T) {
			want := parseTreeForTest(t, fixture(t, file))
			var out bytes.Buffer
			w := NewEventWriter(&out)
			for _, ev := range want[0].Children {
				e := &Event{Stanza: "fubar", Unbroken: true}
				for _, c := range ev.Children {
					switch c.Name {
					case "time":
						var sec, ms int64
						fmt.Sscanf(c.Text, "%d.%d", &sec, &ms)
						e.Time = time.UnixMilli(sec*1000 + ms)
					case "source":
						e.Source = c.Text
					case "sourcetype":
						e.Sourcetype = c.Text
					case "index":
						e.Index = c.Text
					case "host":
						e.Host = c.Text
					case "data":
						e.Data = []byte(c.Text)
					case "done":
						e.Done = true
					}
				}
				if err := w.Write(e); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := parseTreeForTest(t, out.Bytes()); !treesEqual(got, want) {
				t.Errorf("got:\n%s\nwant:\n%s", dumpTrees(got), dumpTrees(want))
			}
		})
	}
}

func TestEventWriterEscaping(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string // the <data> text as an XML parser reads it back
		raw  string // the bytes written between <data> and </data>
	}{
		{"plain json", `{"a":"b"}`, `{"a":"b"}`, `{"a":"b"}`},
		{"markup", `<a href="x">&amp;</a>`, `<a href="x">&amp;</a>`, `&lt;a href="x"&gt;&amp;amp;&lt;/a&gt;`},
		{"newlines kept", "line1\nline2\r\n\tx", "line1\nline2\n\tx", "line1\nline2\r\n\tx"},
		{"cdata end", "]]>", "]]>", "]]&gt;"},
		{"control chars", "a\x00b\x1bc\x7f", "a\uFFFDb\uFFFDc\x7f", "a\uFFFDb\uFFFDc\x7f"},
		{"invalid utf8", "a\xffb\xc3", "a\uFFFDb\uFFFD", "a\uFFFDb\uFFFD"},
		{"noncharacters", "x\uFFFEy\uFFFFz", "x\uFFFDy\uFFFDz", "x\uFFFDy\uFFFDz"},
		{"multibyte", "für 😀 쎼", "für 😀 쎼", "für 😀 쎼"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			w := NewEventWriter(&out)
			if err := w.Write(&Event{Stanza: `s://"q"&<>`, Data: []byte(tt.data)}); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			s := out.String()
			raw := s[strings.Index(s, "<data>")+6 : strings.Index(s, "</data>")]
			if raw != tt.raw {
				t.Errorf("raw = %q, want %q", raw, tt.raw)
			}
			var doc struct {
				Events []struct {
					Stanza string `xml:"stanza,attr"`
					Data   string `xml:"data"`
				} `xml:"event"`
			}
			if err := xml.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatalf("not well-formed: %v\n%s", err, s)
			}
			if doc.Events[0].Data != tt.want || doc.Events[0].Stanza != `s://"q"&<>` {
				t.Errorf("read back %q / %q", doc.Events[0].Data, doc.Events[0].Stanza)
			}
		})
	}
}

func TestEventWriterTime(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.UnixMilli(1372187084000), "1372187084.000"},
		{time.Unix(1700000000, 123456789), "1700000000.123"},
		{time.UnixMilli(-1500), "-2.500"},
	}
	for _, tt := range tests {
		if got := string(appendEpoch(nil, tt.t)); got != tt.want {
			t.Errorf("appendEpoch(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

// brokenPipe fails every write the way a closed stdout does.
type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}
}

func TestEventWriterClosedOutput(t *testing.T) {
	w := NewEventWriter(brokenPipe{})
	if err := w.Write(&Event{Data: []byte("x")}); err != nil {
		t.Fatalf("Write buffers and must not fail yet: %v", err)
	}
	err := w.Flush()
	if !errors.Is(err, ErrOutputClosed) {
		t.Fatalf("Flush err = %v, want ErrOutputClosed", err)
	}
	if err := w.Write(&Event{Data: []byte("y")}); !errors.Is(err, ErrOutputClosed) {
		t.Fatalf("error is not sticky: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrOutputClosed) {
		t.Fatalf("Close err = %v", err)
	}
}

func TestEventWriterEmptyStream(t *testing.T) {
	var out bytes.Buffer
	w := NewEventWriter(&out)
	if err := w.Close(); err != nil || out.Len() != 0 {
		t.Fatalf("Close on an unused writer wrote %q, %v", out.String(), err)
	}
}

func TestEventWriterConcurrent(t *testing.T) {
	pr, pw := io.Pipe()
	w := NewEventWriter(pw)
	done := make(chan error, 1)
	go func() {
		var doc struct {
			Events []struct {
				Data string `xml:"data"`
			} `xml:"event"`
		}
		err := xml.NewDecoder(pr).Decode(&doc)
		if err == nil && len(doc.Events) != 8*200 {
			err = fmt.Errorf("read %d events", len(doc.Events))
		}
		done <- err
	}()
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				if err := w.Write(&Event{Stanza: "s://x", Data: bytes.Repeat([]byte{'a' + byte(g)}, 100+i)}); err != nil {
					errs <- err
					return
				}
				if i%50 == 0 {
					if err := w.Flush(); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _ := w.Stats(); n != 1600 {
		t.Errorf("Stats events = %d", n)
	}
}
