package cim

import (
	"strings"
	"testing"
)

func TestParseConf(t *testing.T) {
	in := "top = 1\n# comment\n[a]\nx = 1\n  # indented comment\ny=two = parts\n\n[b]\nlong = one \\\n  two \\\n  three\nx = first\nx = last\n[default]\nz = 3\n"
	c, err := ParseConf(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	check := func(stanza, key, want string) {
		t.Helper()
		st := c.Stanza(stanza)
		if st == nil {
			t.Fatalf("no stanza %q", stanza)
		}
		got, ok := st.Get(key)
		if !ok || got != want {
			t.Errorf("[%s] %s = %q (%v), want %q", stanza, key, got, ok, want)
		}
	}
	check("default", "top", "1")
	check("default", "z", "3")
	check("a", "x", "1")
	check("a", "y", "two = parts")
	check("b", "long", "one \n  two \n  three")
	check("b", "x", "last")
	if st := c.Stanza("b"); st.Line != 8 || st.Settings[0].Line != 9 {
		t.Errorf("line numbers: stanza %d, setting %d; want 8, 9", st.Line, st.Settings[0].Line)
	}
}

func TestParseConfErrors(t *testing.T) {
	for _, in := range []string{"[open\n", "no equals sign\n", "k = v \\"} {
		if _, err := ParseConf(strings.NewReader(in)); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
}
