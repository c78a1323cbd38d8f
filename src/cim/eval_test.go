package cim

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestEval(t *testing.T) {
	f := Fields{
		"sev":         {"Medium"},
		"empty":       {""},
		"nul":         {"null"},
		"n":           {"0"},
		"mv":          {"a", "null", "b", "a"},
		"a.b":         {"dotted"},
		"e{}.x":       {"null", "x1", ""},
		"path":        {`HKEY_LOCAL_MACHINE\SOFTWARE\Run`},
		"created":     {"2023-05-02T00:00:00Z"},
		"expires":     {"2025-05-01T23:59:59.0000000Z"},
		"source":      {"m365_defender_incidents:b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c"},
		"status":      {"inProgress"},
		"ah_table":    {"DeviceFileEvents"},
		"port_string": {"443"},
	}
	tests := []struct {
		name, expr string
		want       []string // nil: null
		err        string   // substring of the expected error
	}{
		{name: "string literal", expr: `"x"`, want: []string{"x"}},
		{name: "escaped quote and backslash", expr: `"a\"b\\c\d"`, want: []string{`a"b\c\d`}},
		{name: "number literal", expr: `4`, want: []string{"4"}},
		{name: "field", expr: `sev`, want: []string{"Medium"}},
		{name: "quoted dotted field", expr: `'a.b'`, want: []string{"dotted"}},
		{name: "missing field is null", expr: `nope`, want: nil},
		{name: "lower", expr: `lower(sev)`, want: []string{"medium"}},
		{name: "lower of null", expr: `lower(nope)`, want: nil},
		{name: "concat", expr: `"x" . sev . 1`, want: []string{"xMedium1"}},
		{name: "concat with null is null", expr: `"x" . nope`, want: nil},
		{name: "minus", expr: `10 - 4 - 1`, want: []string{"5"}},
		{name: "minus on text is null", expr: `sev - 1`, want: nil},
		{name: "== is case sensitive on text", expr: `if(sev=="medium", "y", "n")`, want: []string{"n"}},
		{name: "= is ==", expr: `if(sev="Medium", "y", "n")`, want: []string{"y"}},
		{name: "numeric compare of field text", expr: `if(n==0, "zero", "other")`, want: []string{"zero"}},
		{name: "numeric compare 443", expr: `if(port_string==443.0, "y", "n")`, want: []string{"y"}},
		{name: "!= with null is false", expr: `if(nope!="x", "y", "n")`, want: []string{"n"}},
		{name: "AND OR precedence", expr: `if(sev=="x" AND sev=="y" OR n==0, "t", "f")`, want: []string{"t"}},
		{name: "case first true", expr: `case(sev=="Low", 1, match(sev, "(?i)^med"), 2, true(), 3)`, want: []string{"2"}},
		{name: "case none true is null", expr: `case(sev=="Low", 1)`, want: nil},
		{name: "case needs a boolean", expr: `case(sev, 1)`, err: "expected a boolean"},
		{name: "if needs a boolean", expr: `if("x", 1, 2)`, err: "expected a boolean"},
		{name: "coalesce skips null", expr: `coalesce(nope, nullif(empty, ""), sev)`, want: []string{"Medium"}},
		{name: "coalesce keeps multivalue", expr: `coalesce(nope, mv)`, want: []string{"a", "null", "b", "a"}},
		{name: "nullif equal", expr: `nullif(nul, "null")`, want: nil},
		{name: "nullif different", expr: `nullif(sev, "null")`, want: []string{"Medium"}},
		{name: "isnotnull", expr: `if(isnotnull(sev) AND isnotnull(nope)==false(), 1, 0)`, err: "false() is not implemented"},
		{name: "match", expr: `if(match(sev, "^M"), 1, 0)`, want: []string{"1"}},
		{name: "match of null is false", expr: `if(match(nope, "^M"), 1, 0)`, want: []string{"0"}},
		{name: "match bad regex", expr: `match(sev, "(?<=x)")`, err: "regex"},
		{name: "replace with group", expr: `replace(status, "([a-z])([A-Z])", "\1_\2")`, want: []string{"in_Progress"}},
		{name: "replace dollar is literal", expr: `replace(sev, "M", "$1")`, want: []string{"$1edium"}},
		{name: "replace backslash path", expr: `replace(path, "^([^\\\\]+).*$", "\1")`, want: []string{"HKEY_LOCAL_MACHINE"}},
		{name: "replace last component", expr: `replace(path, "^.*\\\\", "")`, want: []string{"Run"}},
		{name: "tenant from source", expr: `replace(source,"^[^:]+:","")`, want: []string{"b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c"}},
		{name: "substr", expr: `substr(expires, 1, 19)`, want: []string{"2025-05-01T23:59:59"}},
		{name: "substr to end", expr: `substr(sev, 4)`, want: []string{"ium"}},
		{name: "strptime with offset", expr: `strptime(substr(created,1,19) . "+0000", "%Y-%m-%dT%H:%M:%S%z")`, want: []string{"1682985600"}},
		{name: "strptime text that does not fit is null", expr: `strptime(sev, "%Y")`, want: nil},
		{name: "strptime unknown directive", expr: `strptime(sev, "%b")`, err: "%b"},
		{name: "validity window", expr: `strptime(substr(expires,1,19) . "+0000", "%Y-%m-%dT%H:%M:%S%z") - strptime(substr(created,1,19) . "+0000", "%Y-%m-%dT%H:%M:%S%z")`, want: []string{"63158399"}},
		{name: "mvfilter", expr: `mvfilter('e{}.x'!="null" AND 'e{}.x'!="")`, want: []string{"x1"}},
		{name: "mvfilter on single value", expr: `mvfilter(sev!="null")`, want: []string{"Medium"}},
		{name: "mvfilter none left is null", expr: `mvfilter(nul!="null")`, want: nil},
		{name: "mvfilter of two fields", expr: `mvfilter(sev!=mv)`, err: "exactly one field"},
		{name: "mvfilter with match", expr: `mvfilter(match(mv, "^[ab]$"))`, want: []string{"a", "b", "a"}},
		{name: "mvdedup", expr: `mvdedup(mv)`, want: []string{"a", "null", "b"}},
		{name: "mvcount", expr: `mvcount(mv)`, want: []string{"4"}},
		{name: "mvcount null", expr: `mvcount(nope)`, want: nil},
		{name: "mvindex", expr: `mvindex(mv, 2)`, want: []string{"b"}},
		{name: "mvindex negative", expr: `mvindex(mv, 0 - 1)`, want: []string{"a"}},
		{name: "mvindex out of range", expr: `mvindex(mv, 9)`, want: nil},
		{name: "mvindex range", expr: `mvindex(mv, 1, 2)`, want: []string{"null", "b"}},
		{name: "null()", expr: `if(true(), null(), 1)`, want: nil},
		{name: "table match", expr: `if(match(ah_table, "^(DeviceFileEvents|DeviceImageLoadEvents)$"), "file", null())`, want: []string{"file"}},
		{name: "multiline value", expr: "case( \n    sev==\"Medium\", 3, \n    true(), 0)", want: []string{"3"}},

		// Splunk semantics the test refuses rather than guesses.
		{name: "scalar function on multivalue", expr: `lower(mv)`, err: "multivalue"},
		{name: "comparison on multivalue", expr: `if(mv=="a", 1, 0)`, err: "multivalue"},
		{name: "unknown function", expr: `json_extract(_raw, "a")`, err: "json_extract() is not implemented"},
		{name: "removed function", expr: `upper(sev)`, err: "upper() is not implemented"},
		{name: "wrong arity", expr: `lower(sev, sev)`, err: "takes 1 arguments"},
		{name: "operator +", expr: `1 + 2`, err: "operator + is not implemented"},
		{name: "operator *", expr: `1 * 2`, err: "operator * is not implemented"},
		{name: "operator <", expr: `if(n < 1, 1, 0)`, err: "operator < is not implemented"},
		{name: "operator NOT", expr: `if(NOT n==0, 1, 0)`, err: "operator NOT is not implemented"},
		{name: "operator LIKE", expr: `if(sev LIKE "M%", 1, 0)`, err: "operator LIKE is not implemented"},
		{name: "operator IN", expr: `if(sev IN ("a"), 1, 0)`, err: "operator IN is not implemented"},
		{name: "unary minus", expr: `-1`, err: "unary - is not implemented"},
		{name: "unquoted dotted field", expr: `lower(properties.FileName)`, err: "quote dotted field names"},
		{name: "unterminated string", expr: `lower("x)`, err: "unterminated string"},
		{name: "unterminated field", expr: `lower('x)`, err: "unterminated quoted field"},
		{name: "trailing garbage", expr: `lower(sev) sev`, err: "unexpected"},
		{name: "empty", expr: ``, err: "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEval(tt.expr)
			if err == nil {
				var v Value
				v, err = Eval(e, f)
				if err == nil {
					if tt.err != "" {
						t.Fatalf("got %q, want error containing %q", v.Values(), tt.err)
					}
					if got := v.Values(); !slices.Equal(got, tt.want) {
						t.Fatalf("got %q, want %q", got, tt.want)
					}
					return
				}
			}
			if tt.err == "" || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestParseErrorPosition(t *testing.T) {
	_, err := ParseEval(`coalesce(a, 1 * 2)`)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("got %T %v, want *ParseError", err, err)
	}
	if pe.Pos != 14 {
		t.Errorf("Pos = %d, want 14 (the *)", pe.Pos)
	}
}

func TestMultivalueErrorIsTyped(t *testing.T) {
	e, err := ParseEval(`lower(mv)`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Eval(e, Fields{"mv": {"a", "b"}}); !errors.Is(err, ErrMultivalue) {
		t.Fatalf("err = %v, want ErrMultivalue", err)
	}
}
