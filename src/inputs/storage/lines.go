package storage

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxLineBytes is how much of one line the line reader keeps. A longer line
// is still delivered whole, as one event sent in pieces (see deliverLong):
// its beginning comes from the reader, the rest from a second ranged
// download, so memory stays bounded whatever the line's length.
const maxLineBytes = 8 << 20

// lineReader splits a stream into lines terminated by LF or CRLF. Memory is
// bounded by the bufio buffer plus its limit, whatever the stream's size;
// Data never holds more than the limit.
type lineReader struct {
	r   *bufio.Reader
	buf []byte // assembles lines longer than the bufio buffer
	max int
}

func newLineReader(r io.Reader, bufSize, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, bufSize), max: max}
}

// line is one result of lineReader.next.
type line struct {
	// Data is the line without its terminator (LF, or CRLF), or only its
	// first bytes when Truncated. It is valid until the next call.
	Data []byte
	// Size is the number of bytes consumed, terminator included.
	Size int64
	// Len is the length of the line without its terminator (Size for a
	// partial line), however much of it Data holds.
	Len int64
	// Complete is false for a trailing partial line (no terminator before EOF).
	Complete bool
	// Truncated is true when the line was longer than the reader's limit:
	// Data holds its first bytes, and the rest (up to Len) must be read again.
	Truncated bool
}

// next returns the next line. At the end of the stream it returns io.EOF,
// together with a partial line when the stream did not end with a newline
// (Size > 0, Complete false). Other read errors are returned as is, with
// whatever partial line was read (not Complete).
func (lr *lineReader) next() (line, error) {
	lr.buf = lr.buf[:0]
	var size int64
	truncated := false
	prevCR := false // the previous chunk ended with CR
	for {
		chunk, err := lr.r.ReadSlice('\n')
		size += int64(len(chunk))
		if err == nil && len(lr.buf) == 0 && !truncated && len(chunk) <= lr.max {
			// Fast path: the whole line is in the bufio buffer.
			d := trimEOL(chunk)
			return line{Data: d, Size: size, Len: int64(len(d)), Complete: true}, nil
		}
		if room := lr.max - len(lr.buf); room > 0 {
			if len(chunk) > room {
				lr.buf = append(lr.buf, chunk[:room]...)
				truncated = true
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
		} else if len(chunk) > 0 {
			truncated = true
		}
		switch {
		case err == nil:
			term := int64(1)
			if n := len(chunk); n >= 2 && chunk[n-2] == '\r' || n == 1 && prevCR {
				term = 2
			}
			n := size - term
			data := lr.buf
			if int64(len(data)) > n {
				data = data[:n] // the limit fell inside the terminator
			}
			return line{Data: data, Size: size, Len: n, Complete: true, Truncated: int64(len(data)) < n}, nil
		case errors.Is(err, bufio.ErrBufferFull):
			prevCR = len(chunk) > 0 && chunk[len(chunk)-1] == '\r'
			continue
		default:
			return line{Data: lr.buf, Size: size, Len: size, Truncated: int64(len(lr.buf)) < size}, err
		}
	}
}

// runeCut returns the longest prefix of b that does not end inside a UTF-8
// sequence, so a line cut into pieces is not cut through a character (the
// event writer would replace each half with U+FFFD).
func runeCut(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if !utf8.RuneStart(b[i]) {
			continue
		}
		if !utf8.FullRune(b[i:]) {
			return b[:i]
		}
		return b
	}
	return b
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// timeLayouts are the forms seen in exported records: RFC 3339 with up to 7
// fractional digits, and the same without a zone (UTC).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"}

// parseTime parses a quoted JSON string holding a time.
func parseTime(raw json.RawMessage) (time.Time, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return time.Time{}, false
	}
	var s string
	if bytes.IndexByte(raw, '\\') < 0 {
		s = string(raw[1 : len(raw)-1])
	} else if json.Unmarshal(raw, &s) != nil {
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseBlobHour reads the hour from an exported blob's name,
// ".../y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json".
func parseBlobHour(name string) (time.Time, bool) {
	segs := strings.Split(name, "/")
	for i := 0; i+3 < len(segs); i++ {
		if !strings.HasPrefix(segs[i], "y=") {
			continue
		}
		y, e1 := strconv.Atoi(strings.TrimPrefix(segs[i], "y="))
		mo, e2 := segInt(segs[i+1], "m=")
		d, e3 := segInt(segs[i+2], "d=")
		h, e4 := segInt(segs[i+3], "h=")
		if e1 != nil || e2 != nil || e3 != nil || e4 != nil || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 {
			return time.Time{}, false
		}
		return time.Date(y, time.Month(mo), d, h, 0, 0, 0, time.UTC), true
	}
	return time.Time{}, false
}

func segInt(seg, prefix string) (int, error) {
	if !strings.HasPrefix(seg, prefix) {
		return 0, errors.New("missing " + prefix)
	}
	return strconv.Atoi(seg[len(prefix):])
}

// dayPrefixes lists the blob-name prefixes, below one tenant folder, of the
// days from "from" through "to" (inclusive, UTC), e.g.
// "tenantId=x/y=2026/m=12/d=04/". Listing per day keeps each listing to about
// 24 blobs per tenant, however long the container has been written to.
func dayPrefixes(tenantPrefix string, from, to time.Time) []string {
	var out []string
	from, to = from.UTC(), to.UTC()
	d := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	end := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
	for !d.After(end) {
		out = append(out, tenantPrefix+"y="+strconv.Itoa(d.Year())+"/m="+twoDigits(int(d.Month()))+"/d="+twoDigits(d.Day())+"/")
		d = d.AddDate(0, 0, 1)
	}
	return out
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
