package modinput

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/beevik/etree"
)

// ReadTimeout bounds how long reading a configuration document from stdin may
// take when the caller's context has no deadline of its own. splunkd writes the
// whole document at once; the JavaScript SDK gives up after 30.5 s.
const ReadTimeout = 30 * time.Second

// MaxDocumentSize bounds the configuration document, so a runaway writer cannot
// exhaust memory.
const MaxDocumentSize = 16 << 20

// ParseError reports a configuration document that is not what splunkd sends.
type ParseError struct {
	Doc    string // "input" or "items"
	Offset int64  // byte offset in the (UTF-8) document, -1 if unknown
	Msg    string
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("modinput: <")
	b.WriteString(e.Doc)
	b.WriteString("> document")
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " at byte %d", e.Offset)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// readDocument reads one XML document from r and returns it as UTF-8 bytes. It
// stops at the end tag of the root element instead of waiting for EOF, because
// splunkd need not close stdin, and it gives up when ctx ends or after
// ReadTimeout.
func readDocument(ctx context.Context, r io.Reader, doc string) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ReadTimeout)
		defer cancel()
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := scanDocument(r, doc)
		done <- result{b, err}
	}()
	select {
	case res := <-done:
		return res.b, res.err
	case <-ctx.Done():
		return nil, &ParseError{Doc: doc, Offset: -1, Msg: "no complete document on stdin", Err: ctx.Err()}
	}
}

// scanDocument transcodes r to UTF-8 and tokenizes it until the root element
// closes, returning the bytes that make up the document.
func scanDocument(r io.Reader, doc string) ([]byte, error) {
	br := bufio.NewReader(io.LimitReader(r, MaxDocumentSize))
	src, err := utf8Reader(br)
	if err != nil {
		return nil, &ParseError{Doc: doc, Offset: -1, Msg: "cannot read", Err: err}
	}
	var raw bytes.Buffer
	dec := xml.NewDecoder(io.TeeReader(src, &raw))
	dec.CharsetReader = passThroughCharset
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			var se *xml.SyntaxError
			if errors.Is(err, io.EOF) || (errors.As(err, &se) && strings.Contains(se.Msg, "unexpected EOF")) {
				return nil, &ParseError{Doc: doc, Offset: dec.InputOffset(), Msg: "document ends before its root element closes"}
			}
			return nil, &ParseError{Doc: doc, Offset: dec.InputOffset(), Msg: "malformed XML", Err: err}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && t.Name.Local != doc {
				return nil, &ParseError{Doc: doc, Offset: dec.InputOffset(), Msg: fmt.Sprintf("root element is <%s>, expected <%s>", t.Name.Local, doc)}
			}
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				return raw.Bytes()[:dec.InputOffset()], nil
			}
		case xml.ProcInst:
			if t.Target == "xml" {
				// The bytes are UTF-8 by now whatever the declaration says.
				continue
			}
		}
	}
}

// passThroughCharset accepts the labels splunkd and the SDK fixtures use. The
// bytes were already transcoded to UTF-8 by utf8Reader, so a "utf-16" label on
// them (as the SDK's ASCII fixtures carry) is a mislabel to be tolerated.
func passThroughCharset(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-8", "utf8", "utf-16", "utf16", "utf-16be", "utf-16le", "us-ascii", "ascii":
		return input, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}

// utf8Reader detects a byte-order mark (or, without one, UTF-16 by the zero
// bytes around '<') and returns a reader of UTF-8.
func utf8Reader(br *bufio.Reader) (io.Reader, error) {
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	switch {
	case len(head) >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF:
		_, _ = br.Discard(3)
		return br, nil
	case len(head) >= 2 && head[0] == 0xFE && head[1] == 0xFF:
		_, _ = br.Discard(2)
		return &utf16Reader{r: br, bigEndian: true}, nil
	case len(head) >= 2 && head[0] == 0xFF && head[1] == 0xFE:
		_, _ = br.Discard(2)
		return &utf16Reader{r: br}, nil
	case len(head) >= 2 && head[0] == 0 && head[1] == '<':
		return &utf16Reader{r: br, bigEndian: true}, nil
	case len(head) >= 2 && head[0] == '<' && head[1] == 0:
		return &utf16Reader{r: br}, nil
	}
	return br, nil
}

// utf16Reader transcodes UTF-16 to UTF-8 as it reads, replacing unpaired
// surrogates with U+FFFD.
type utf16Reader struct {
	r         *bufio.Reader
	bigEndian bool
	pending   []byte
	err       error
}

func (u *utf16Reader) unit() (uint16, error) {
	a, err := u.r.ReadByte()
	if err != nil {
		return 0, err
	}
	b, err := u.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, io.ErrUnexpectedEOF
		}
		return 0, err
	}
	if u.bigEndian {
		return uint16(a)<<8 | uint16(b), nil
	}
	return uint16(b)<<8 | uint16(a), nil
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.pending) < len(p) && u.err == nil {
		c, err := u.unit()
		if err != nil {
			u.err = err
			break
		}
		r := rune(c)
		if utf16.IsSurrogate(r) {
			if c >= 0xDC00 { // a low surrogate cannot come first
				r = '\uFFFD'
			} else if next, err := u.r.Peek(2); err == nil {
				var c2 uint16
				if u.bigEndian {
					c2 = uint16(next[0])<<8 | uint16(next[1])
				} else {
					c2 = uint16(next[1])<<8 | uint16(next[0])
				}
				if c2 >= 0xDC00 && c2 <= 0xDFFF {
					_, _ = u.r.Discard(2)
					r = utf16.DecodeRune(r, rune(c2))
				} else {
					r = '\uFFFD'
				}
			} else {
				r = '\uFFFD'
			}
		}
		u.pending = append(u.pending, string(r)...)
		if u.r.Buffered() == 0 && len(u.pending) > 0 {
			break // do not block for more input while we have something to return
		}
	}
	n := copy(p, u.pending)
	u.pending = u.pending[n:]
	if n == 0 && u.err != nil {
		return 0, u.err
	}
	return n, nil
}

// parseTree parses a document read by readDocument into an etree document.
func parseTree(b []byte, doc string) (*etree.Element, error) {
	d := etree.NewDocument()
	d.ReadSettings.CharsetReader = passThroughCharset
	if err := d.ReadFromBytes(b); err != nil {
		return nil, &ParseError{Doc: doc, Offset: -1, Msg: "malformed XML", Err: err}
	}
	root := d.Root()
	if root == nil || root.Tag != doc {
		return nil, &ParseError{Doc: doc, Offset: -1, Msg: fmt.Sprintf("expected root element <%s>", doc)}
	}
	return root, nil
}
