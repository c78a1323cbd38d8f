package modinput

import (
	"unicode/utf8"
)

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
