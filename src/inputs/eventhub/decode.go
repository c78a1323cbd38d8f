package eventhub

import (
	"bytes"
	"time"
	"unicode/utf8"
)

// splitRecords returns the records of a Streaming API message body
// {"records":[{...},{...}]}, each as the exact bytes Microsoft sent. ok is false
// when the body is not that envelope (other JSON, text, invalid UTF-8, a
// truncated body); the caller then delivers the body whole. The records slice
// is appended to dst, so a caller can reuse it across messages.
func splitRecords(dst [][]byte, body []byte) (records [][]byte, ok bool) {
	if !utf8.Valid(body) {
		return dst, false
	}
	s := scanner{b: body}
	s.ws()
	if !s.eat('{') {
		return dst, false
	}
	found := false
	start := len(dst)
	for {
		s.ws()
		if s.eat('}') {
			break
		}
		key, kok := s.str()
		if !kok {
			return dst[:start], false
		}
		s.ws()
		if !s.eat(':') {
			return dst[:start], false
		}
		s.ws()
		if !found && bytes.Equal(key, []byte("records")) && s.peek() == '[' {
			found = true
			s.i++
			for {
				s.ws()
				if s.eat(']') {
					break
				}
				vs := s.i
				if !s.value() {
					return dst[:start], false
				}
				dst = append(dst, body[vs:s.i])
				s.ws()
				if s.eat(',') {
					continue
				}
				if s.eat(']') {
					break
				}
				return dst[:start], false
			}
		} else if !s.value() {
			return dst[:start], false
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			break
		}
		return dst[:start], false
	}
	s.ws()
	if !found || s.i != len(body) {
		return dst[:start], false
	}
	return dst, true
}

// recordTime returns a record's properties.Timestamp, else its time, else the
// zero time.
func recordTime(rec []byte) time.Time {
	var topTime []byte
	s := scanner{b: rec}
	s.ws()
	if !s.eat('{') {
		return time.Time{}
	}
	for {
		s.ws()
		key, ok := s.str()
		if !ok {
			break
		}
		s.ws()
		if !s.eat(':') {
			break
		}
		s.ws()
		switch {
		case bytes.Equal(key, []byte("properties")) && s.peek() == '{':
			if ts := findStringField(&s, "Timestamp"); ts != nil {
				if t, err := parseTime(ts); err == nil {
					return t
				}
			}
		case bytes.Equal(key, []byte("time")) && s.peek() == '"':
			vs := s.i
			if _, ok := s.str(); !ok {
				return time.Time{}
			}
			topTime = rec[vs+1 : s.i-1]
		default:
			if !s.value() {
				return time.Time{}
			}
		}
		s.ws()
		if !s.eat(',') {
			break
		}
	}
	if topTime != nil {
		if t, err := parseTime(topTime); err == nil {
			return t
		}
	}
	return time.Time{}
}

// findStringField scans the object at the scanner's position (consuming it
// whole) and returns the raw contents of the string field name, or nil.
func findStringField(s *scanner, name string) []byte {
	var found []byte
	s.i++ // '{'
	for {
		s.ws()
		if s.eat('}') {
			return found
		}
		key, ok := s.str()
		if !ok {
			return found
		}
		s.ws()
		if !s.eat(':') {
			return found
		}
		s.ws()
		if found == nil && string(key) == name && s.peek() == '"' {
			vs := s.i
			if _, ok := s.str(); !ok {
				return nil
			}
			found = s.b[vs+1 : s.i-1]
		} else if !s.value() {
			return found
		}
		s.ws()
		if !s.eat(',') {
			s.eat('}')
			return found
		}
	}
}

// parseTime parses the timestamps the Streaming API writes (RFC 3339 with up
// to seven fractional digits), without escapes.
func parseTime(b []byte) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, string(b))
}

// scanner is a minimal JSON scanner: it finds value boundaries without
// building values, which is all the record path needs.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str consumes a string and returns its raw contents (escapes left as they
// are). It jumps from quote to quote with bytes.IndexByte, which is what keeps
// the record path fast.
func (s *scanner) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			s.i = len(s.b)
			return nil, false
		}
		s.i += j
		// An odd run of backslashes before the quote escapes it.
		k := s.i - 1
		for k >= start && s.b[k] == '\\' {
			k--
		}
		s.i++
		if (s.i-2-k)%2 == 0 {
			return s.b[start : s.i-1], true
		}
	}
}

// value consumes one JSON value.
func (s *scanner) value() bool {
	switch c := s.peek(); {
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '{' || c == '[':
		return s.composite()
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.i
		for s.i < len(s.b) {
			switch d := s.b[s.i]; {
			case d >= '0' && d <= '9', d == '-', d == '+', d == '.', d == 'e', d == 'E':
				s.i++
				continue
			}
			break
		}
		return s.i > start
	}
	return false
}

// composite consumes an object or array by matching brackets, strings
// skipped; the structure inside is checked only for nesting, which is enough
// to find where a record ends.
func (s *scanner) composite() bool {
	var stackBuf [64]byte
	stack := stackBuf[:0]
	for s.i < len(s.b) {
		j := bytes.IndexAny(s.b[s.i:], `"{}[]`)
		if j < 0 {
			s.i = len(s.b)
			return false
		}
		s.i += j
		switch c := s.b[s.i]; c {
		case '"':
			if _, ok := s.str(); !ok {
				return false
			}
			continue
		case '{':
			stack = append(stack, '}')
		case '[':
			stack = append(stack, ']')
		case '}', ']':
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return false
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				s.i++
				return true
			}
		}
		s.i++
	}
	return false
}

func (s *scanner) lit(word string) bool {
	if bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		s.i += len(word)
		return true
	}
	return false
}
