package cim

import (
	"reflect"
	"testing"
)

func TestFlatten(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Fields
		err  bool
	}{
		{name: "nested object", in: `{"a":{"b":"x","c":{"d":1}}}`, want: Fields{"a.b": {"x"}, "a.c.d": {"1"}}},
		{name: "array of scalars", in: `{"a":["x","y"]}`, want: Fields{"a{}": {"x", "y"}}},
		{name: "array of objects", in: `{"a":[{"b":1},{"b":2,"c":true}]}`, want: Fields{"a{}.b": {"1", "2"}, "a{}.c": {"true"}}},
		{name: "nested arrays", in: `{"a":[[1,2],[3]]}`, want: Fields{"a{}{}": {"1", "2", "3"}}},
		{name: "array in array of objects", in: `{"e":[{"r":["x"]},{"r":["y","z"]}]}`, want: Fields{"e{}.r{}": {"x", "y", "z"}}},
		{name: "null and booleans as text", in: `{"a":null,"b":false,"c":[null,true]}`, want: Fields{"a": {"null"}, "b": {"false"}, "c{}": {"null", "true"}}},
		{name: "number text kept", in: `{"n":1.50,"m":-0,"e":1e3,"big":12345678901234567890}`, want: Fields{"n": {"1.50"}, "m": {"-0"}, "e": {"1e3"}, "big": {"12345678901234567890"}}},
		{name: "string unescaped", in: `{"p":"C:\\Windows\\\"x\"","u":"\u00e9"}`, want: Fields{"p": {`C:\Windows\"x"`}, "u": {"é"}}},
		{name: "JSON in a string stays a string", in: `{"AdditionalFields":"{\"a\":1}"}`, want: Fields{"AdditionalFields": {`{"a":1}`}}},
		{name: "empty object and array give nothing", in: `{"o":{},"a":[],"s":""}`, want: Fields{"s": {""}}},
		{name: "repeated key adds values", in: `{"a":1,"a":2}`, want: Fields{"a": {"1", "2"}}},
		{name: "dotted key", in: `{"a.b":{"c":1}}`, want: Fields{"a.b.c": {"1"}}},
		{name: "top-level array", in: `[{"a":1}]`, want: Fields{"{}.a": {"1"}}},
		{name: "whitespace", in: " {\n \"a\" : 1 } \n", want: Fields{"a": {"1"}}},
		{name: "truncated", in: `{"a":1`, err: true},
		{name: "trailing data", in: `{"a":1} {"b":2}`, err: true},
		{name: "not JSON", in: `a=1 b=2`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Flatten([]byte(tt.in))
			if tt.err {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFlattenDeepNesting(t *testing.T) {
	deep := make([]byte, 0, 2*(maxDepth+10))
	for range maxDepth + 5 {
		deep = append(deep, '[')
	}
	for range maxDepth + 5 {
		deep = append(deep, ']')
	}
	if _, err := Flatten(deep); err == nil {
		t.Fatal("want an error for nesting deeper than maxDepth")
	}
}

func BenchmarkFlatten(b *testing.B) {
	for _, name := range []string{"graph_alert_mde.json", "ah_device_process_events.json"} {
		raw := readTestdata(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := Flatten(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
