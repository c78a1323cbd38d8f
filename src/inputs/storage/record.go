package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"time"
)

// maxJSONDepth matches encoding/json's nesting limit.
const maxJSONDepth = 10000

// recordTime returns the event time of one exported record:
// properties.Timestamp, else the envelope's time. ok is false when the line
// is not a JSON object; t is zero when neither field holds a time.
//
// It validates the whole line in one pass without allocating (the lines are
// delivered as stored, so nothing else is decoded). Keys match
// case-insensitively and the last duplicate wins, as with encoding/json.
func recordTime(b []byte) (t time.Time, ok bool) {
	s := recScanner{b: b}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return time.Time{}, false
	}
	if !s.object(1, slotTop) || !s.end() {
		return time.Time{}, false
	}
	if s.ts != nil {
		if t, ok := parseTime(s.ts); ok {
			return t, true
		}
	}
	t, _ = parseTime(s.time)
	return t, true
}

// prefixTime finds the time of a record of which only the beginning is at
// hand (a line longer than the reader keeps): the same fields as recordTime,
// as far as the prefix holds them complete.
func prefixTime(b []byte) (time.Time, bool) {
	s := recScanner{b: b}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return time.Time{}, false
	}
	s.object(1, slotTop)
	if s.ts != nil {
		if t, ok := parseTime(s.ts); ok {
			return t, true
		}
	}
	return parseTime(s.time)
}

// Where an object sits, for capturing the two fields.
const (
	slotNone = iota
	slotTop
	slotProperties
)

type recScanner struct {
	b        []byte
	i        int
	time, ts json.RawMessage // quoted string values, as in the input
}

func (s *recScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *recScanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// value scans one value; slot says which object it belongs to when it is an object.
func (s *recScanner) value(depth, slot int) bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth+1, slot)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		return s.str()
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return false
}

func (s *recScanner) object(depth, slot int) bool {
	if depth > maxJSONDepth {
		return false
	}
	s.i++ // '{'
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		k0 := s.i
		if !s.str() {
			return false
		}
		key := s.b[k0+1 : s.i-1]
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		v0 := s.i
		child := slotNone
		if slot == slotTop && keyIs(key, "properties") {
			child = slotProperties
			s.ts = nil // a later "properties" replaces an earlier one
		}
		if !s.value(depth, child) {
			return false
		}
		raw := s.b[v0:s.i]
		switch {
		case slot == slotTop && keyIs(key, "time"):
			s.time = raw
		case slot == slotProperties && keyIs(key, "Timestamp"):
			s.ts = raw
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

func keyIs(key []byte, name string) bool {
	return len(key) == len(name) && bytes.EqualFold(key, []byte(name))
}

func (s *recScanner) array(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	s.i++ // '['
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(depth, slotNone) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// SWAR constants: one byte value repeated in all 8 lanes.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// plainRun returns how many bytes from b[0:] are plain string content: not
// '"', not '\\' and not a control character. It checks 8 bytes at a time.
func plainRun(b []byte) int {
	n := 0
	for len(b)-n >= 8 {
		x := binary.LittleEndian.Uint64(b[n:])
		q := x ^ (lanes01 * '"')  // zero lanes where x has '"'
		e := x ^ (lanes01 * '\\') // zero lanes where x has '\\'
		// A lane's high bit ends up set where the byte is < 0x20 or zero
		// after the xor; bytes >= 0x80 are masked out by &^.
		special := ((x - lanes01*0x20) &^ x) | ((q - lanes01) &^ q) | ((e - lanes01) &^ e)
		if special&lanes80 != 0 {
			break // a special byte in this word: the caller goes byte by byte
		}
		n += 8
	}
	return n
}

// str scans a string starting at its opening quote.
func (s *recScanner) str() bool {
	s.i++ // '"'
	for s.i < len(s.b) {
		s.i += plainRun(s.b[s.i:])
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+4 >= len(s.b) {
					return false
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				s.i += 5
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			s.i++
		}
	}
	return false
}

func (s *recScanner) lit(w string) bool {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return false
	}
	s.i += len(w)
	return true
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *recScanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return false
	}
	if s.b[s.i] == '0' {
		s.i++
	} else if !s.digits() {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

func (s *recScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
