package cim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// countScalars counts the scalar values of a JSON document.
func countScalars(v any) int {
	switch x := v.(type) {
	case map[string]any:
		n := 0
		for _, c := range x {
			n += countScalars(c)
		}
		return n
	case []any:
		n := 0
		for _, c := range x {
			n += countScalars(c)
		}
		return n
	}
	return 1
}

// FuzzFlatten checks, for any input: Flatten never panics; it accepts exactly
// the inputs encoding/json accepts (one value); and every scalar of the
// document becomes exactly one value, under a name built from the document's
// keys (so nothing is dropped and nothing is invented). Duplicate object keys
// are excluded from the count check, since encoding/json keeps only the last.
func FuzzFlatten(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			f.Add(readTestdata(f, e.Name()))
		}
	}
	for _, s := range []string{`{}`, `[]`, `null`, `"x"`, `{"a":[[],[{}],[null]]}`, `{"a":1,"a":2}`, `{"":{"":[1]}}`, `[1,[2,[3]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := Flatten(raw)
		var doc any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		jerr := dec.Decode(&doc)
		if jerr == nil {
			if _, e := dec.Token(); !errors.Is(e, io.EOF) {
				jerr = errTrailing
			}
		}
		if (err == nil) != (jerr == nil) {
			if err != nil && strings.Contains(err.Error(), "nesting too deep") {
				return
			}
			t.Fatalf("Flatten err = %v, encoding/json err = %v", err, jerr)
		}
		if err != nil {
			return
		}
		total := 0
		for name, vals := range got {
			if len(vals) == 0 {
				t.Fatalf("field %q has no values", name)
			}
			total += len(vals)
		}
		if !hasDuplicateKeys(raw) && total != countScalars(doc) {
			t.Fatalf("%d values for %d scalars", total, countScalars(doc))
		}
	})
}

var errTrailing = &json.SyntaxError{}

// hasDuplicateKeys reports whether any object in the document repeats a key.
func hasDuplicateKeys(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].obj {
					stack[len(stack)-1].key = true
				}
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.key = false
			continue
		}
		switch d := tok.(type) {
		case json.Delim:
			switch d {
			case '{':
				stack = append(stack, &frame{obj: true, keys: map[string]bool{}, key: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].obj {
					stack[len(stack)-1].key = true
				}
			}
			continue
		}
		if top != nil && top.obj {
			top.key = true
		}
	}
}

// FuzzParseEval: the eval parser and evaluator never panic, whatever the
// expression; an expression that parses evaluates or fails with an error.
func FuzzParseEval(f *testing.F) {
	for _, s := range []string{`coalesce(nullif(a,"null"), 'b{}.c')`, `case(x=="1", "a" . y, true(), null())`,
		`mvfilter(match('e{}.x', "^T\d"))`, `strptime(substr(t,1,19) . "+0000", "%Y-%m-%dT%H:%M:%S%z") - 1`,
		`if(`, `'`, `"\`, `mvindex(m, 0 - 5, 9)`, `replace(a, "(", "\1")`} {
		f.Add(s)
	}
	fields := Fields{"a": {"null"}, "b{}.c": {"1", "2"}, "x": {"1"}, "y": {"z"}, "t": {"2024-01-02T03:04:05Z"}, "m": {"p", "q"}, "e{}.x": {"T1", "x"}}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := ParseEval(src)
		if err != nil {
			return
		}
		_, _ = Eval(e, fields)
	})
}

// FuzzParseSearch: the event type search parser never panics and a parsed
// search can always be matched.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{`sourcetype=a (b=1 OR c!=2) NOT d="x y"`, `a=*`, `(`, `a="`, `NOT NOT a=1`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := ParseSearch(src)
		if err != nil {
			return
		}
		s.Match(Fields{"a": {"1"}, "b": {"x", "y"}})
	})
}
