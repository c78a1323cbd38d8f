package cim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Flatten extracts fields from a JSON document the way Splunk's KV_MODE = json
// does:
//
//	{"a":{"b":"x"}}            a.b = x
//	{"a":["x","y"]}            a{} = x, y          (multivalue, array order)
//	{"a":[{"b":1},{"b":2}]}    a{}.b = 1, 2
//	{"a":[[1,2],[3]]}          a{}{} = 1, 2, 3
//	{"a":null,"t":true}        a = null, t = true  (JSON literals as text)
//	{"n":1.50}                 n = 1.50            (number text kept as written)
//
// Strings are unescaped. Empty objects and arrays produce no field. A key that
// repeats adds values to the same field. Every scalar of the document becomes
// exactly one value of exactly one field. Input that is not a single JSON value
// gives an error and no fields (KV_MODE = json extracts nothing from it).
func Flatten(raw []byte) (Fields, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	out := Fields{}
	if err := flattenValue(dec, "", out, 0); err != nil {
		return nil, fmt.Errorf("cim: flatten: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("cim: flatten: data after the JSON value")
	}
	return out, nil
}

const maxDepth = 10000

func flattenValue(dec *json.Decoder, name string, out Fields, depth int) error {
	if depth > maxDepth {
		return errors.New("nesting too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	return flattenToken(dec, tok, name, out, depth)
}

func flattenToken(dec *json.Decoder, tok json.Token, name string, out Fields, depth int) error {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key, ok := kt.(string)
				if !ok {
					return fmt.Errorf("object key is %T", kt)
				}
				child := key
				if name != "" {
					child = name + "." + key
				}
				if err := flattenValue(dec, child, out, depth+1); err != nil {
					return err
				}
			}
			_, err := dec.Token() // '}'
			return err
		case '[':
			for dec.More() {
				if err := flattenValue(dec, name+"{}", out, depth+1); err != nil {
					return err
				}
			}
			_, err := dec.Token() // ']'
			return err
		default:
			return fmt.Errorf("unexpected %v", t)
		}
	case string:
		out.Add(name, t)
	case json.Number:
		out.Add(name, t.String())
	case bool:
		if t {
			out.Add(name, "true")
		} else {
			out.Add(name, "false")
		}
	case nil:
		out.Add(name, "null")
	default:
		return fmt.Errorf("unexpected token %T", tok)
	}
	return nil
}
