package defender

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// The scanner below finds member and element boundaries in JSON that has
// already been validated (DecodePage hands out values encoding/json read),
// without allocating. On malformed input it returns an error, never panics,
// but it does not check everything a validator would (number and literal
// spelling, string escapes): feed it valid JSON.

var errTruncated = errors.New("defender: truncated JSON value")

func skipWS(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanString returns the offset just past the string starting at b[i]
// ('"'), and whether it holds a backslash escape.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped, nil
		}
	}
	return 0, false, errTruncated
}

// scanValue returns the offset just past the value starting at b[i].
func scanValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errTruncated
	}
	switch c := b[i]; c {
	case '"':
		end, _, err := scanString(b, i)
		return end, err
	case '{', '[':
		var stackBuf [32]byte
		stack := append(stackBuf[:0], c)
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _, err := scanString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				stack = append(stack, b[j])
			case '}', ']':
				open := byte('{')
				if b[j] == ']' {
					open = '['
				}
				if stack[len(stack)-1] != open {
					return 0, fmt.Errorf("defender: mismatched %q at byte %d", b[j], j)
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errTruncated
	default:
		j := i
		for j < len(b) && isLiteralByte(b[j]) {
			j++
		}
		if j == i {
			return 0, fmt.Errorf("defender: unexpected %q at byte %d", c, i)
		}
		return j, nil
	}
}

func isLiteralByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.'
}

// Members lists the top-level members of the JSON object obj.
func Members(obj []byte) ([]Member, error) {
	ms, err := scanMembers(obj, true)
	return ms, err
}

// scanMembers lists the members of obj; unless keys is set, the Key of a
// member whose name has no escapes is left empty (Member.is compares the
// name in place), which saves an allocation per member.
func scanMembers(obj []byte, keys bool) ([]Member, error) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, errors.New("defender: not a JSON object")
	}
	i = skipWS(obj, i+1)
	ms := make([]Member, 0, 32)
	if i < len(obj) && obj[i] == '}' {
		return ms, trailing(obj, i+1)
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return nil, fmt.Errorf("defender: expected a member name at byte %d", i)
		}
		keyStart := i
		keyEnd, escaped, err := scanString(obj, i)
		if err != nil {
			return nil, err
		}
		var key string
		if escaped || !utf8.Valid(obj[keyStart+1:keyEnd-1]) {
			if err := json.Unmarshal(obj[keyStart:keyEnd], &key); err != nil {
				return nil, fmt.Errorf("defender: bad member name at byte %d: %w", keyStart, err)
			}
			escaped = true
		} else if keys {
			key = string(obj[keyStart+1 : keyEnd-1])
		}
		i = skipWS(obj, keyEnd)
		if i >= len(obj) || obj[i] != ':' {
			return nil, fmt.Errorf("defender: expected ':' at byte %d", i)
		}
		i = skipWS(obj, i+1)
		valEnd, err := scanValue(obj, i)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Member{Key: key, KeyStart: keyStart, ValueStart: i, ValueEnd: valEnd, keyEnd: keyEnd, decoded: escaped || keys})
		i = skipWS(obj, valEnd)
		if i >= len(obj) {
			return nil, errTruncated
		}
		switch obj[i] {
		case ',':
			i = skipWS(obj, i+1)
		case '}':
			return ms, trailing(obj, i+1)
		default:
			return nil, fmt.Errorf("defender: expected ',' or '}' at byte %d", i)
		}
	}
}

func trailing(b []byte, i int) error {
	if skipWS(b, i) != len(b) {
		return fmt.Errorf("defender: data after the JSON value at byte %d", i)
	}
	return nil
}

// SplitArray calls item for each element of the JSON array raw, with the
// element's exact bytes. A null or empty raw has no elements.
func SplitArray(raw []byte, item func(elem []byte) error) error {
	i := skipWS(raw, 0)
	if i == len(raw) || string(raw[i:skipLiteral(raw, i)]) == "null" {
		return nil
	}
	if raw[i] != '[' {
		return errors.New("defender: not a JSON array")
	}
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return trailing(raw, i+1)
	}
	for {
		end, err := scanValue(raw, i)
		if err != nil {
			return err
		}
		if err := item(raw[i:end]); err != nil {
			return err
		}
		i = skipWS(raw, end)
		if i >= len(raw) {
			return errTruncated
		}
		switch raw[i] {
		case ',':
			i = skipWS(raw, i+1)
		case ']':
			return trailing(raw, i+1)
		default:
			return fmt.Errorf("defender: expected ',' or ']' at byte %d", i)
		}
	}
}

func skipLiteral(b []byte, i int) int {
	for i < len(b) && isLiteralByte(b[i]) {
		i++
	}
	return i
}

// stringValue returns the text of a JSON string value, without allocating
// more than the result when it has no escapes.
func stringValue(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
			var s string
			if json.Unmarshal(v, &s) != nil {
				return "", false
			}
			return s, true
		}
	}
	return string(inner), true
}
