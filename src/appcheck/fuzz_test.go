package appcheck

import (
	"strings"
	"testing"
)

// writeConf renders a parsed conf back to text, continuation lines included.
func writeConf(c *Conf) string {
	var b strings.Builder
	for _, st := range c.Stanzas {
		if !st.Implicit {
			b.WriteString("[" + st.Name + "]\n")
		}
		for _, kv := range st.Settings {
			b.WriteString(kv.Key + " = " + strings.ReplaceAll(kv.Value, "\n", "\\\n") + "\n")
		}
	}
	return b.String()
}

// FuzzParseConf: the parser never panics, and what it accepts survives a
// write and a second parse unchanged.
func FuzzParseConf(f *testing.F) {
	for _, s := range []string{
		"[a]\nk = v\n",
		"index = main\n[s]\nsearch = a \\\n | b\n",
		"# c\n[source::...[ab]]\nEVAL-x = if(a==\"#\",1,0)\r\n",
		"[]\naccess = read : [ * ], write : [ admin ]\n",
		"[s\n",
		"\ufeff[s]\nk=\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseConf("fuzz.conf", strings.NewReader(in))
		if err != nil {
			return
		}
		for _, st := range c.Stanzas {
			if strings.ContainsAny(st.Name, "\n\r") {
				return // a header continued over lines cannot be written back as one
			}
			for _, kv := range st.Settings {
				if strings.HasSuffix(kv.Value, `\`) || strings.Contains(kv.Value, "\r") {
					return
				}
			}
		}
		out := writeConf(c)
		c2, err := ParseConf("fuzz.conf", strings.NewReader(out))
		if err != nil {
			t.Fatalf("re-parse of %q failed: %v", out, err)
		}
		if len(c.Stanzas) != len(c2.Stanzas) {
			t.Fatalf("stanzas %d -> %d for %q", len(c.Stanzas), len(c2.Stanzas), out)
		}
		for i, st := range c.Stanzas {
			st2 := c2.Stanzas[i]
			if st.Name != st2.Name || len(st.Settings) != len(st2.Settings) {
				t.Fatalf("stanza %d: %q/%d -> %q/%d", i, st.Name, len(st.Settings), st2.Name, len(st2.Settings))
			}
			for j, kv := range st.Settings {
				if kv2 := st2.Settings[j]; kv.Key != kv2.Key || kv.Value != kv2.Value {
					t.Fatalf("setting %q=%q -> %q=%q", kv.Key, kv.Value, kv2.Key, kv2.Value)
				}
			}
		}
	})
}

// FuzzParseSpec: any spec text parses without panicking, and every pattern
// it yields matches its own literal parts when the placeholders are filled.
func FuzzParseSpec(f *testing.F) {
	f.Add(testSpec)
	f.Add("[<a>:<b>]\nx.<n>.y = <v>\n")
	f.Add("[input:...]\nremote_queue.* = <string>\n")
	f.Fuzz(func(t *testing.T, in string) {
		sp, err := ParseSpec("fuzz.spec", strings.NewReader(in))
		if err != nil {
			return
		}
		for _, st := range sp.Stanzas {
			for _, s := range st.Settings {
				if filled := fill(s.Key); !s.Matches(filled) {
					t.Fatalf("setting pattern %q does not match %q", s.Key, filled)
				}
			}
			if filled := fill(st.Pattern); !st.Matches(filled) {
				t.Fatalf("stanza pattern %q does not match %q", st.Pattern, filled)
			}
		}
	})
}

// fill replaces each complete <placeholder> with "x".
func fill(p string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(p, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(p[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(p[:i] + "x")
		p = p[i+j+1:]
	}
	b.WriteString(p)
	return b.String()
}
