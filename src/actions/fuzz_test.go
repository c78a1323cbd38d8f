package actions

import (
	"bytes"
	"compress/gzip"
	"regexp"
	"strings"
	"testing"
)

// FuzzReadPayload: any stdin gives a payload or an error, never a panic.
func FuzzReadPayload(f *testing.F) {
	for _, s := range []string{
		`{"configuration":{"input":"prod","status":"resolved"},"result":{"id":"1","n":[1,true,null]},"session_key":"k"}`,
		`{"configuration":{"param.input":["a","b"]}}`, `<xml/>`, ``, `{"result":{"a":{"b":1}}}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadPayload(bytes.NewReader(b))
		if err == nil && (p.Configuration == nil || p.Result == nil) {
			t.Fatal("nil maps without an error")
		}
	})
}

// FuzzReadResults: a results file, plain or gzip, never panics, and every row it delivers
// holds only the header's fields (no __mv_ column).
func FuzzReadResults(f *testing.F) {
	for _, s := range []string{"id,__mv_id\n1,$1$;$2$\n", "a,b\n\"x\ny\",2\n", "id\n", "", "__mv_x\n$$$\n", "id,__mv_id\n1,$1\n"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, compress bool) {
		in := b
		if compress {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			in = buf.Bytes()
		}
		_, _ = ReadResultsFrom(bytes.NewReader(in), func(i int, r Row) error {
			for k := range r {
				if strings.HasPrefix(k, "__mv_") {
					t.Fatalf("row %d passes on %s", i, k)
				}
			}
			return nil
		})
	})
}

// FuzzParseMV: decoding then re-encoding a multivalue gives the same values.
func FuzzParseMV(f *testing.F) {
	for _, s := range []string{"$a$;$b$", "$a$$b$", "$$", "", "$x;y$", "$a$;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vals, err := parseMV(s)
		if err != nil {
			return
		}
		var parts []string
		for _, v := range vals {
			parts = append(parts, "$"+strings.ReplaceAll(v, "$", "$$")+"$")
		}
		again, err := parseMV(strings.Join(parts, ";"))
		if err != nil || strings.Join(again, "\x00") != strings.Join(vals, "\x00") {
			t.Fatalf("%q → %q → %q (%v)", s, vals, again, err)
		}
	})
}

// FuzzCAMEvent: whatever a value holds (quotes, backslashes, line breaks, a forged breaker), an
// ES outcome event stays one line and its key="value" pairs give the value back, flattened.
func FuzzCAMEvent(f *testing.F) {
	for _, s := range []string{`a"b`, `c:\x\`, "x\n" + stashBreaker + "\ny", "\r\n", `\"`, ""} {
		f.Add(s)
	}
	pair := regexp.MustCompile(`, ([a-z_]+)="((?:[^"\\]|\\.)*)"`)
	f.Fuzz(func(t *testing.T, v string) {
		c := newCAM(UpdateIncident, &Payload{SID: "1.2", SearchName: v, Configuration: map[string]string{}}, nil)
		c.add("7", []rowRef{{n: 1, rid: "0"}}, v, nil)
		ev := c.events[0]
		if strings.ContainsAny(ev, "\r\n") {
			t.Fatalf("event spans lines: %q", ev)
		}
		got := map[string]string{}
		rest := ev[strings.IndexByte(ev, ','):]
		for rest != "" {
			m := pair.FindStringSubmatchIndex(rest)
			if m == nil || m[0] != 0 {
				t.Fatalf("not key=\"value\" pairs at %q", rest)
			}
			got[rest[m[2]:m[3]]] = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(rest[m[4]:m[5]])
			rest = rest[m[1]:]
		}
		want := strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(v))
		if got["search_name"] != want || got["signature"] != want || got["incident_id"] != "7" {
			t.Fatalf("value %q came back as %q / %q", v, got["search_name"], got["signature"])
		}
	})
}
