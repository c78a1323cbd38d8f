package modinput

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzReadInputDefinition checks that no document makes the reader panic or
// hang, and that what it accepts is consistent.
func FuzzReadInputDefinition(f *testing.F) {
	for _, file := range []string{"python/conf_with_2_inputs.xml", "javascript/conf_with_5_inputs.xml", "python/conf_with_invalid_inputs.xml", "real-world/splunkd_input_issue201.xml"} {
		f.Add(fixture(f, file))
	}
	f.Add([]byte(`<input><configuration><stanza name="a://b" app="x"><param name="p">v</param><param_list name="l"><value>1</value></param_list></stanza></configuration></input>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		// The reader's own goroutine and timeout are left out: they are
		// covered by TestReadTimesOut, and the fuzzer wants the parser alone.
		b, err := scanDocument(bytes.NewReader(doc), "input")
		if err != nil {
			return
		}
		def, err := ParseInputDefinition(b)
		if err != nil {
			return
		}
		for _, st := range def.Stanzas {
			if st.Name == "" || st.Params == nil || st.ParamLists == nil {
				t.Fatalf("incomplete stanza %#v", st)
			}
		}
	})
}

// FuzzEventWriter checks that whatever an event holds, the stream is
// well-formed XML, and that valid text round-trips unchanged.
func FuzzEventWriter(f *testing.F) {
	f.Add([]byte(`{"records":[{"a":1}]}`), "s://x", "src")
	f.Add([]byte("a\x00b\xffc]]>&<"), "s://\"", "\uFFFE")
	f.Add([]byte("line\r\nline"), "", "")
	f.Fuzz(func(t *testing.T, data []byte, stanza, source string) {
		var out bytes.Buffer
		w := NewEventWriter(&out)
		e := &Event{Stanza: stanza, Source: source, Time: time.UnixMilli(1), Data: data, Unbroken: true, Done: true}
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Events []struct {
				Stanza string `xml:"stanza,attr"`
				Source string `xml:"source"`
				Data   string `xml:"data"`
			} `xml:"event"`
		}
		if err := xml.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("stream is not well-formed: %v\n%q", err, out.String())
		}
		if len(doc.Events) != 1 {
			t.Fatalf("got %d events", len(doc.Events))
		}
		if xmlText(data) {
			// XML parsers normalise CR LF and lone CR to LF.
			want := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
			if doc.Events[0].Data != want {
				t.Fatalf("data did not round-trip:\n got %q\nwant %q", doc.Events[0].Data, want)
			}
		}
	})
}

// xmlText reports whether b is valid UTF-8 made only of characters XML 1.0
// allows, which must be carried unchanged.
func xmlText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}
