package defender

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"testing/iotest"
)

// FuzzDecodePage checks that the streaming page decoder never panics and,
// whenever the body is valid JSON and the decoder accepts it, hands over
// exactly the elements of "value", byte for byte as encoding/json reads
// them. Invalid bodies may be accepted (the decoder checks structure, not
// the spelling of numbers and literals) but must never crash it.
func FuzzDecodePage(f *testing.F) {
	for _, s := range []string{
		`{"value":[{"id":"1"}],"@odata.nextLink":"x"}`,
		`{"@odata.context":"c","@odata.count":2,"value":[{"a":[1,{"b":null}]},{"c":"\u00e9"}]}`,
		`{"value":[]}`,
		`{"value":[1,"2",null,true,[]]}`,
		`{"x":{"value":[1]},"value":[2]}`,
		`{"value":[{"id":"1"}`,
		`{"error":{"code":"c","message":"m"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got [][]byte
		info, err := DecodePage(iotest.HalfReader(bytes.NewReader(body)), func(raw []byte) error {
			got = append(got, raw)
			return nil
		})
		if !json.Valid(body) {
			return
		}
		if err != nil {
			if acceptablePage(body) {
				t.Fatalf("valid page refused: %v: %q", err, body)
			}
			return
		}
		if info.Items != len(got) {
			t.Fatalf("Items = %d, handed over %d", info.Items, len(got))
		}
		var ref map[string]json.RawMessage
		if err := json.Unmarshal(body, &ref); err != nil {
			t.Fatalf("decoder accepted what encoding/json refuses (%v): %q", err, body)
		}
		var want []json.RawMessage
		if err := json.Unmarshal(ref["value"], &want); err != nil {
			t.Fatalf("value: %v", err)
		}
		if len(want) != len(got) {
			t.Fatalf("got %d items, encoding/json reads %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(bytes.TrimSpace(want[i]), got[i]) {
				t.Fatalf("item %d: got %q, want %q", i, got[i], want[i])
			}
		}
	})
}

// acceptablePage reports whether a valid JSON body is a page DecodePage
// must accept: an object with exactly one "value" array, no "error", and a
// string or null nextLink and an integer or null count when present.
func acceptablePage(body []byte) bool {
	ms, err := membersReference(body)
	if err != nil {
		return false
	}
	values := 0
	for _, m := range ms {
		v := bytes.TrimSpace(body[m.ValueStart:m.ValueEnd])
		switch m.Key {
		case "value":
			values++
			if v[0] != '[' {
				return false
			}
		case "error":
			return false
		case "@odata.nextLink":
			if v[0] != '"' && string(v) != "null" {
				return false
			}
		case "@odata.count":
			var n *int64
			if json.Unmarshal(v, &n) != nil || bytes.ContainsAny(v, ".eE") {
				return false
			}
		}
	}
	return values == 1
}

// FuzzObjectWithout checks that removing a member keeps valid JSON, removes
// exactly that key and leaves every other member's bytes untouched.
func FuzzObjectWithout(f *testing.F) {
	f.Add([]byte(`{"id":"1","alerts":[{"x":1}],"s":2}`), "alerts")
	f.Add([]byte(`{"alerts":[]}`), "alerts")
	f.Add([]byte(` { "a" : 1 , "b" : 2 } `), "b")
	f.Fuzz(func(t *testing.T, raw []byte, key string) {
		o, err := ParseObject(raw, "id", "lastUpdateDateTime")
		if err != nil {
			return
		}
		out := o.Without(key)
		if !json.Valid(out) {
			if json.Valid(raw) {
				t.Fatalf("invalid result %q from %q", out, raw)
			}
			return
		}
		ms, err := Members(out)
		if err != nil {
			t.Fatalf("Members(result): %v", err)
		}
		var kept []string
		for _, m := range o.members {
			if !m.is(raw, key) {
				kept = append(kept, string(raw[m.KeyStart:m.ValueEnd]))
			}
		}
		if len(ms) != len(kept) {
			t.Fatalf("%d members left, want %d (%q → %q)", len(ms), len(kept), raw, out)
		}
		for i, m := range ms {
			if m.Key == key {
				t.Fatalf("key %q still in %q", key, out)
			}
			if s := string(out[m.KeyStart:m.ValueEnd]); s != kept[i] {
				t.Fatalf("member %d changed: %q → %q", i, kept[i], s)
			}
		}
	})
}

// membersReference is the straightforward encoding/json implementation the
// scanner must agree with on valid JSON.
func membersReference(obj []byte) ([]Member, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not an object")
	}
	var ms []Member
	for dec.More() {
		start := int(dec.InputOffset())
		for start < len(obj) && (obj[start] == ',' || isSpace(obj[start])) {
			start++
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		end := int(dec.InputOffset())
		ms = append(ms, Member{Key: key, KeyStart: start, ValueStart: end - len(v), ValueEnd: end})
	}
	return ms, nil
}

// FuzzMembers checks the allocation-free scanner against encoding/json on
// valid objects, and that it never panics on anything else.
func FuzzMembers(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[{"c":"}"}],"d\"e":"x\\"}`))
	f.Add([]byte(` { } `))
	f.Add([]byte(`{"a":[1,{"b":[]}],"c":null,"d":-1.5e3,"e":true}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := Members(raw)
		if !json.Valid(raw) || len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
			return
		}
		if err != nil {
			t.Fatalf("Members refused a valid object %q: %v", raw, err)
		}
		want, err := membersReference(raw)
		if err != nil {
			t.Fatalf("reference: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d members, want %d", len(got), len(want))
		}
		for i := range want {
			g := got[i]
			if g.Key != want[i].Key || g.KeyStart != want[i].KeyStart || g.ValueStart != want[i].ValueStart || g.ValueEnd != want[i].ValueEnd {
				t.Fatalf("member %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		var elems int
		for _, m := range got {
			v := raw[m.ValueStart:m.ValueEnd]
			if len(v) > 0 && v[0] == '[' {
				var ref []json.RawMessage
				json.Unmarshal(v, &ref)
				elems = 0
				if err := SplitArray(v, func(e []byte) error {
					if elems >= len(ref) || !bytes.Equal(e, bytes.TrimSpace(ref[elems])) {
						t.Fatalf("element %d: %q (array %q)", elems, e, v)
					}
					elems++
					return nil
				}); err != nil || elems != len(ref) {
					t.Fatalf("SplitArray(%q): %d elements, err %v", v, elems, err)
				}
			}
		}
	})
}
