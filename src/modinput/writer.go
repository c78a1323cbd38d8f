package modinput

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Event is one event for splunkd's XML streaming mode. Empty strings and a zero
// Time leave their elements out, so splunkd applies the stanza's defaults.
type Event struct {
	Stanza     string
	Time       time.Time
	Source     string
	Sourcetype string
	Index      string
	Host       string
	Data       []byte
	Unbroken   bool
	Done       bool
}

// ErrOutputClosed is wrapped by EventWriter errors when splunkd is no longer
// reading stdout (EPIPE). An input that sees it stops without moving any
// checkpoint.
var ErrOutputClosed = errors.New("modinput: event stream closed by the reader")

// BufferSize is the EventWriter's buffer: large enough that a flush moves many
// events in one write(2).
const BufferSize = 256 << 10

// EventWriter writes the XML event stream. It is safe for concurrent use; each
// event is written whole. Events are buffered until Flush: only after Flush
// returns nil have they reached the output, and only then may a checkpoint that
// covers them move. The first error is sticky.
type EventWriter struct {
	mu      sync.Mutex
	bw      *bufio.Writer
	started bool
	closed  bool
	err     error
	scratch []byte
	events  int64
	bytes   int64
}

// NewEventWriter returns a writer of the event stream to w.
func NewEventWriter(w io.Writer) *EventWriter {
	return &EventWriter{bw: bufio.NewWriterSize(w, BufferSize), scratch: make([]byte, 0, 32)}
}

// Write buffers one event. It does not retain e or e.Data.
func (w *EventWriter) Write(e *Event) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("modinput: write after Close")
	}
	bw := w.bw
	if !w.started {
		bw.WriteString("<stream>")
		w.started = true
	}
	bw.WriteString("<event")
	if e.Stanza != "" {
		bw.WriteString(` stanza="`)
		w.escapeString(e.Stanza, true)
		bw.WriteByte('"')
	}
	if e.Unbroken {
		bw.WriteString(` unbroken="1"`)
	}
	bw.WriteByte('>')
	if !e.Time.IsZero() {
		bw.WriteString("<time>")
		bw.Write(appendEpoch(w.scratch[:0], e.Time))
		bw.WriteString("</time>")
	}
	w.element("source", e.Source)
	w.element("sourcetype", e.Sourcetype)
	w.element("index", e.Index)
	w.element("host", e.Host)
	bw.WriteString("<data>")
	writeEscaped(bw, e.Data, false)
	bw.WriteString("</data>")
	if e.Done {
		bw.WriteString("<done/>")
	}
	if _, err := bw.WriteString("</event>\n"); err != nil {
		return w.fail(err)
	}
	w.events++
	w.bytes += int64(len(e.Data))
	return nil
}

func (w *EventWriter) element(name, value string) {
	if value == "" {
		return
	}
	w.bw.WriteByte('<')
	w.bw.WriteString(name)
	w.bw.WriteByte('>')
	w.escapeString(value, false)
	w.bw.WriteString("</")
	w.bw.WriteString(name)
	w.bw.WriteByte('>')
}

// escapeString escapes s through the scratch buffer, so no allocation is made.
func (w *EventWriter) escapeString(s string, attr bool) {
	w.scratch = append(w.scratch[:0], s...)
	writeEscaped(w.bw, w.scratch, attr)
}

// Flush writes everything buffered to the output.
func (w *EventWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		return w.fail(err)
	}
	return nil
}

// Close ends the stream with </stream> (if it was started) and flushes.
func (w *EventWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return nil
	}
	w.closed = true
	if w.started {
		w.bw.WriteString("</stream>")
	}
	if err := w.bw.Flush(); err != nil {
		return w.fail(err)
	}
	return nil
}

// Stats returns the number of events and data bytes written so far.
func (w *EventWriter) Stats() (events, bytes int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.events, w.bytes
}

func (w *EventWriter) fail(err error) error {
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		w.err = fmt.Errorf("%w: %v", ErrOutputClosed, err)
	} else {
		w.err = fmt.Errorf("modinput: writing events: %w", err)
	}
	return w.err
}

// appendEpoch appends t as seconds since the epoch with three decimals, the
// form splunkd's <time> element takes.
func appendEpoch(dst []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	sec, frac := ms/1000, ms%1000
	if frac < 0 {
		sec, frac = sec-1, frac+1000
	}
	dst = strconv.AppendInt(dst, sec, 10)
	dst = append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	return dst
}
