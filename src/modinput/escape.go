package modinput

import (
	"encoding/binary"
	"unicode/utf8"
)

// SWAR constants: one byte value repeated in all eight lanes of a uint64.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// plain8 reports whether none of the eight bytes of x needs the escaper's
// attention: no control character, no '&', '<', '>' (or '"' in attributes),
// and nothing outside ASCII. It lets the escaper skip runs of ordinary text
// eight bytes at a time.
func plain8(x uint64, attr bool) bool {
	special := (x - lanes01*0x20) &^ x // a lane below 0x20
	special |= x                       // a lane at or above 0x80
	special |= zeroLane(x ^ lanes01*'&')
	special |= zeroLane(x ^ lanes01*'<')
	special |= zeroLane(x ^ lanes01*'>')
	if attr {
		special |= zeroLane(x ^ lanes01*'"')
	}
	return special&lanes80 == 0
}

// zeroLane has the high bit of each lane that is zero set (and possibly
// others after a zero lane, which only makes plain8 more cautious).
func zeroLane(x uint64) uint64 { return (x - lanes01) &^ x }

// byteClass says what the escaper must do with a byte: 0 copy it, 1 escape it,
// 2 drop it (a control character XML 1.0 forbids), 3 decode a multi-byte rune.
// It is read-only after initialisation.
var byteClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = 2
	}
	t['\t'], t['\n'], t['\r'] = 0, 0, 0
	t['&'], t['<'], t['>'], t['"'] = 1, 1, 1, 1
	for c := 0x80; c < 0x100; c++ {
		t[c] = 3
	}
	return t
}()

// byteSink is what the escaper writes into: a *bufio.Writer or a byte buffer.
type byteSink interface {
	Write(p []byte) (int, error)
	WriteString(s string) (int, error)
}

// writeEscaped writes src as XML character data: '&', '<' and '>' become
// entities (and '"' too inside attributes), invalid UTF-8 and the code points
// XML 1.0 forbids become U+FFFD, and everything else, newlines included, is
// copied as it is, the way Splunk's SDKs write events.
func writeEscaped(w byteSink, src []byte, attr bool) {
	start := 0
	for i := 0; i < len(src); {
		for i+8 <= len(src) && plain8(binary.LittleEndian.Uint64(src[i:]), attr) {
			i += 8
		}
		if i >= len(src) {
			break
		}
		c := src[i]
		switch byteClass[c] {
		case 0:
			i++
			continue
		case 1:
			if c == '"' && !attr {
				i++
				continue
			}
			w.Write(src[start:i])
			switch c {
			case '&':
				w.WriteString("&amp;")
			case '<':
				w.WriteString("&lt;")
			case '>':
				w.WriteString("&gt;")
			case '"':
				w.WriteString("&quot;")
			}
			i++
			start = i
		case 2:
			w.Write(src[start:i])
			w.WriteString("\uFFFD")
			i++
			start = i
		case 3:
			r, size := utf8.DecodeRune(src[i:])
			if (r == utf8.RuneError && size == 1) || r == 0xFFFE || r == 0xFFFF {
				w.Write(src[start:i])
				w.WriteString("\uFFFD")
				i += size
				start = i
				continue
			}
			i += size
		}
	}
	w.Write(src[start:])
}

// sliceSink appends to a byte slice.
type sliceSink struct{ b []byte }

func (s *sliceSink) Write(p []byte) (int, error)       { s.b = append(s.b, p...); return len(p), nil }
func (s *sliceSink) WriteString(p string) (int, error) { s.b = append(s.b, p...); return len(p), nil }

// appendEscaped appends the escaped form of src to dst.
func appendEscaped(dst, src []byte, attr bool) []byte {
	s := sliceSink{dst}
	writeEscaped(&s, src, attr)
	return s.b
}
