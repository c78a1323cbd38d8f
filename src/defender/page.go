package defender

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// PageInfo describes one decoded OData page.
type PageInfo struct {
	Items    int    // objects in "value"
	NextLink string // "@odata.nextLink", "" on the last page
	Count    int64  // "@odata.count", -1 when absent
}

// PageError is an OData page that does not decode. Offset is the byte
// position in the body where decoding stopped.
type PageError struct {
	Offset int64
	Err    error
}

func (e *PageError) Error() string {
	return fmt.Sprintf("defender: malformed OData page at byte %d: %v", e.Offset, e.Err)
}

func (e *PageError) Unwrap() error { return e.Err }

// malformedError is a page that is not a valid OData collection (as
// opposed to one whose transfer broke off).
type malformedError struct{ err error }

func (e *malformedError) Error() string { return e.err.Error() }
func (e *malformedError) Unwrap() error { return e.err }

// callbackError marks an error returned by the caller's item function, so
// that it is never mistaken for a broken page and retried.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// DecodePage reads an OData collection page from r:
//
//	{"@odata.context":"…","@odata.count":N,"value":[{…},{…}],"@odata.nextLink":"…"}
//
// and calls item for each element of "value" as soon as it has been read,
// with the element's bytes exactly as they appear in the body (field names,
// order, spacing, escapes untouched). The bytes are item's to keep. Members
// may come in any order; unknown members are skipped. Memory is bounded by
// the largest element, not by the page.
//
// The page's structure is checked (objects, arrays, strings, separators);
// the spelling of numbers and literals inside an element is not, so an
// element Microsoft garbled is still delivered as sent. A body without a
// "value" array, with two of them, with trailing data or with an "error"
// member is a *PageError; elements already handed to item stay handed. An
// error from item stops decoding and is returned as is.
func DecodePage(r io.Reader, item func(raw []byte) error) (PageInfo, error) {
	info := PageInfo{Count: -1}
	p := &pageReader{r: r, buf: make([]byte, 0, 64<<10)}
	fail := func(err error) (PageInfo, error) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return info, &PageError{Offset: p.offset(), Err: err}
	}
	malformed := func(format string, args ...any) (PageInfo, error) {
		return fail(&malformedError{fmt.Errorf(format, args...)})
	}
	c, err := p.peek()
	if err != nil {
		return fail(err)
	}
	if c != '{' {
		return malformed("expected a JSON object, found %q", c)
	}
	p.pos++
	sawValue := false
	for n := 0; ; n++ {
		c, err := p.peek()
		if err != nil {
			return fail(err)
		}
		if c == '}' {
			p.pos++
			break
		}
		if n > 0 {
			if c != ',' {
				return malformed("expected ',' or '}', found %q", c)
			}
			p.pos++
			if c, err = p.peek(); err != nil {
				return fail(err)
			}
		}
		if c != '"' {
			return malformed("expected a member name, found %q", c)
		}
		raw, err := p.value()
		if err != nil {
			return fail(err)
		}
		key, ok := stringValue(raw)
		if !ok {
			return malformed("bad member name %s", raw)
		}
		if err := p.expect(':'); err != nil {
			return fail(err)
		}
		switch key {
		case "value":
			if sawValue {
				return malformed(`duplicate "value" member`)
			}
			sawValue = true
			if c, err = p.peek(); err != nil {
				return fail(err)
			}
			if c != '[' {
				return malformed(`"value" is not an array`)
			}
			p.pos++
			for i := 0; ; i++ {
				if c, err = p.peek(); err != nil {
					return fail(err)
				}
				if c == ']' {
					p.pos++
					break
				}
				if i > 0 {
					if c != ',' {
						return malformed("expected ',' or ']' in \"value\", found %q", c)
					}
					p.pos++
				}
				elem, err := p.value()
				if err != nil {
					return fail(err)
				}
				info.Items++
				if err := item(bytes.Clone(elem)); err != nil {
					return info, &callbackError{err}
				}
			}
		case "@odata.nextLink":
			v, err := p.value()
			if err != nil {
				return fail(err)
			}
			if string(v) != "null" {
				s, ok := stringValue(v)
				if !ok {
					return malformed(`"@odata.nextLink" is not a string`)
				}
				info.NextLink = s
			}
		case "@odata.count":
			v, err := p.value()
			if err != nil {
				return fail(err)
			}
			if string(v) != "null" {
				n, err := strconv.ParseInt(string(v), 10, 64)
				if err != nil {
					return malformed(`"@odata.count" is not an integer: %s`, v)
				}
				info.Count = n
			}
		case "error":
			v, err := p.value()
			if err != nil {
				return fail(err)
			}
			var e struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			}
			_ = json.Unmarshal(v, &e)
			return malformed("error object in a success answer: %s %s", e.Code, e.Message)
		default:
			if _, err := p.value(); err != nil {
				return fail(err)
			}
		}
	}
	if !sawValue {
		return malformed(`no "value" array`)
	}
	if _, err := p.peek(); err != io.EOF {
		if err == nil {
			return malformed("data after the page object")
		}
		return info, &PageError{Offset: p.offset(), Err: err}
	}
	return info, nil
}

// pageReader is a growing window over a response body for the scanner.
type pageReader struct {
	r    io.Reader
	buf  []byte
	pos  int   // next unread byte of buf
	base int64 // stream offset of buf[0]
	err  error // sticky read error; io.EOF at the end
}

func (p *pageReader) offset() int64 { return p.base + int64(p.pos) }

// more drops the consumed bytes before pos, grows the window when it is
// full, and reads until it is full again or the body ends. It returns false
// when nothing more can be read.
func (p *pageReader) more() bool {
	if p.err != nil {
		return false
	}
	if p.pos > 0 {
		n := copy(p.buf, p.buf[p.pos:])
		p.base += int64(p.pos)
		p.pos = 0
		p.buf = p.buf[:n]
	}
	if len(p.buf) == cap(p.buf) {
		nb := make([]byte, len(p.buf), 2*cap(p.buf))
		copy(nb, p.buf)
		p.buf = nb
	}
	// Fill the window, so that a value crossing its end is scanned again
	// only once per window, not once per network read.
	got := 0
	for len(p.buf) < cap(p.buf) {
		n, err := p.r.Read(p.buf[len(p.buf):cap(p.buf)])
		p.buf = p.buf[:len(p.buf)+n]
		got += n
		if err != nil {
			p.err = err
			break
		}
		if n == 0 {
			break
		}
	}
	return got > 0 || p.err == nil
}

// peek skips spaces and returns the next byte; io.EOF at a clean end.
func (p *pageReader) peek() (byte, error) {
	for {
		p.pos = skipWS(p.buf, p.pos)
		if p.pos < len(p.buf) {
			return p.buf[p.pos], nil
		}
		if !p.more() {
			return 0, p.err
		}
	}
}

func (p *pageReader) expect(c byte) error {
	got, err := p.peek()
	if err != nil {
		return err
	}
	if got != c {
		return &malformedError{fmt.Errorf("expected %q, found %q", c, got)}
	}
	p.pos++
	return nil
}

// value returns the whole value at the read position (a slice of the
// window, valid until the next call) and moves past it.
func (p *pageReader) value() ([]byte, error) {
	if _, err := p.peek(); err != nil {
		return nil, err
	}
	for {
		end, err := scanValue(p.buf, p.pos)
		switch {
		case err == nil && (end < len(p.buf) || !isLiteralByte(p.buf[end-1]) || p.err != nil):
			v := p.buf[p.pos:end]
			p.pos = end
			return v, nil
		case err != nil && err != errTruncated:
			return nil, &malformedError{err}
		}
		// The value may go on beyond the window.
		if !p.more() {
			if p.err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, p.err
		}
	}
}
