package appcheck

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseConf(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []*Stanza
		wantErr string // substring of the error; "" for success
	}{
		{
			name: "StanzasAndComments",
			in:   "# comment\n[a]\nk = v\n  # indented comment\n\n[b]\nx=1\n",
			want: []*Stanza{
				{Name: "a", Line: 2, Settings: []Setting{{Key: "k", Value: "v", Line: 3}}},
				{Name: "b", Line: 6, Settings: []Setting{{Key: "x", Value: "1", Line: 7}}},
			},
		},
		{
			name: "GlobalSettingsBeforeFirstStanza",
			in:   "index = main\n[s]\n",
			want: []*Stanza{
				{Name: "default", Implicit: true, Settings: []Setting{{Key: "index", Value: "main", Line: 1}}},
				{Name: "s", Line: 2},
			},
		},
		{
			name: "ContinuationKeepsLineBreak",
			in:   "[s]\nsearch = a \\\n  | b \\\n  | c\nnext = 1\n",
			want: []*Stanza{{Name: "s", Line: 1, Settings: []Setting{
				{Key: "search", Value: "a \n  | b \n  | c", Line: 2},
				{Key: "next", Value: "1", Line: 5},
			}}},
		},
		{
			name: "ValueWithEqualsAndHash",
			in:   "[s]\nEVAL-x = if(a==\"#\", 1, 0)\n",
			want: []*Stanza{{Name: "s", Line: 1, Settings: []Setting{{Key: "EVAL-x", Value: `if(a=="#", 1, 0)`, Line: 2}}}},
		},
		{
			name: "StanzaNameWithBrackets",
			in:   "[source::...[ab]]\nk = v\n",
			want: []*Stanza{{Name: "source::...[ab]", Line: 1, Settings: []Setting{{Key: "k", Value: "v", Line: 2}}}},
		},
		{
			name: "CRLFAndBOM",
			in:   "\ufeff[s]\r\nk = v\r\n",
			want: []*Stanza{{Name: "s", Line: 1, Settings: []Setting{{Key: "k", Value: "v", Line: 2}}}},
		},
		{
			name: "EmptyValue",
			in:   "[s]\nk =\n",
			want: []*Stanza{{Name: "s", Line: 1, Settings: []Setting{{Key: "k", Value: "", Line: 2}}}},
		},
		{name: "UnclosedStanza", in: "[s\nk = v\n", wantErr: "1: stanza header \"[s\" has no closing ']'"},
		{name: "TextAfterStanza", in: "[s] extra\n", wantErr: "1: unexpected text \"extra\""},
		{name: "LineWithoutEquals", in: "[s]\nnot a setting\n", wantErr: "2: expected [stanza], key = value or # comment"},
		{name: "EmptyKey", in: "[s]\n= v\n", wantErr: "2: setting has no name"},
		{name: "KeyWithSpace", in: "[s]\nmy key = v\n", wantErr: "2: setting name \"my key\" contains white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConf("test.conf", strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				if !errors.Is(err, ErrSyntax) {
					t.Errorf("error %v does not wrap ErrSyntax", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.Stanzas {
				if len(s.Settings) == 0 {
					s.Settings = nil
				}
			}
			if !reflect.DeepEqual(c.Stanzas, tt.want) {
				t.Errorf("stanzas:\n got %s\nwant %s", dump(c.Stanzas), dump(tt.want))
			}
		})
	}
}

func dump(ss []*Stanza) string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString("[" + s.Name + "]")
		for _, kv := range s.Settings {
			b.WriteString(" " + kv.Key + "=" + kv.Value)
		}
		b.WriteString("; ")
	}
	return b.String()
}

func TestStanzaGetLastWins(t *testing.T) {
	c, err := ParseConf("x.conf", strings.NewReader("[s]\nk = 1\nk = 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Stanza("s").Get("k"); !ok || v != "2" {
		t.Errorf("Get = %q, %v; want 2, true", v, ok)
	}
	if c.Stanza("missing") != nil {
		t.Error("Stanza(missing) != nil")
	}
}
