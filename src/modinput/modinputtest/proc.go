// Package modinputtest runs a modular-input binary the way splunkd does, for
// tests: configuration XML on stdin, the event stream on stdout read by an
// XML parser as it arrives, and stderr read as log lines.
package modinputtest

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Event is one event read back from the stream.
type Event struct {
	Stanza     string    `xml:"stanza,attr"`
	Unbroken   string    `xml:"unbroken,attr"`
	Time       string    `xml:"time"`
	Source     string    `xml:"source"`
	Sourcetype string    `xml:"sourcetype"`
	Index      string    `xml:"index"`
	Host       string    `xml:"host"`
	Data       string    `xml:"data"`
	Done       *struct{} `xml:"done"`
}

// Proc is a running binary.
type Proc struct {
	tb     testing.TB
	cmd    *exec.Cmd
	Events chan Event // closed when stdout ends

	mu       sync.Mutex
	stdout   strings.Builder
	logLines []string
	xmlErr   error
	done     chan struct{}
	waitErr  error
}

// ModuleRoot finds the directory holding go.mod above the working directory.
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			tb.Fatal("go.mod not found")
		}
		dir = up
	}
}

// Start runs bin with args and writes stdin to it, leaving stdin open as
// splunkd may. The process is killed at the end of the test if still running.
func Start(tb testing.TB, bin string, stdin string, args ...string) *Proc {
	tb.Helper()
	p := &Proc{tb: tb, Events: make(chan Event, 1<<16), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	in, err := p.cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	errp, err := p.cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { _, _ = io.WriteString(in, stdin) }()
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); p.readStdout(out) }()
	go func() { defer readers.Done(); p.readStderr(errp) }()
	go func() {
		readers.Wait()
		err := p.cmd.Wait()
		in.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	tb.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *Proc) readStdout(r io.Reader) {
	defer close(p.Events)
	dec := xml.NewDecoder(io.TeeReader(r, writerFunc(func(b []byte) {
		p.mu.Lock()
		p.stdout.Write(b)
		p.mu.Unlock()
	})))
	for {
		tok, err := dec.Token()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.mu.Lock()
				p.xmlErr = err
				p.mu.Unlock()
			}
			_, _ = io.Copy(io.Discard, r)
			return
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "event" {
			var ev Event
			if err := dec.DecodeElement(&ev, &se); err != nil {
				p.mu.Lock()
				p.xmlErr = err
				p.mu.Unlock()
				_, _ = io.Copy(io.Discard, r)
				return
			}
			p.Events <- ev
		}
	}
}

func (p *Proc) readStderr(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.logLines = append(p.logLines, sc.Text())
		p.mu.Unlock()
		if testing.Verbose() {
			p.tb.Logf("stderr: %s", sc.Text())
		}
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }

// Collect reads events until n have arrived or timeout passes.
func (p *Proc) Collect(n int, timeout time.Duration) []Event {
	p.tb.Helper()
	var got []Event
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case ev, ok := <-p.Events:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-deadline:
			return got
		}
	}
	return got
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) {
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.tb.Fatalf("signal: %v", err)
	}
}

// Kill9 kills the process without warning, as a crash would.
func (p *Proc) Kill9() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Wait waits for the process to exit and returns its exit code (-1 for a
// signal), failing the test after timeout.
func (p *Proc) Wait(timeout time.Duration) int {
	p.tb.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.tb.Fatalf("process still running after %v; stderr:\n%s", timeout, p.Stderr())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		return ee.ExitCode()
	}
	if p.waitErr != nil {
		return -1
	}
	return 0
}

// Stdout returns everything written to stdout so far.
func (p *Proc) Stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

// Stderr returns the log lines so far, joined.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.logLines, "\n")
}

// LogLines returns the log lines so far.
func (p *Proc) LogLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.logLines...)
}

// CheckOutput fails the test when stdout was not well-formed XML or a stderr
// line does not start with a Splunk log level.
func (p *Proc) CheckOutput() {
	p.tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.xmlErr != nil {
		p.tb.Errorf("stdout is not a well-formed event stream: %v", p.xmlErr)
	}
	for _, l := range p.logLines {
		lvl, _, _ := strings.Cut(l, " ")
		switch lvl {
		case "DEBUG", "INFO", "WARN", "ERROR", "FATAL":
		default:
			p.tb.Errorf("stderr line without a level: %q", l)
		}
	}
}

// WaitLog waits until a log line contains substr.
func (p *Proc) WaitLog(ctx context.Context, substr string) error {
	for {
		for _, l := range p.LogLines() {
			if strings.Contains(l, substr) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no log line with %q; stderr:\n%s", substr, p.Stderr())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// InputXML builds the <input> document splunkd writes, with one stanza per
// entry of stanzas (name → params).
func InputXML(checkpointDir string, serverURI, sessionKey string, stanzas map[string]map[string]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><input><server_host>test-host</server_host>`)
	fmt.Fprintf(&b, "<server_uri>%s</server_uri><session_key>%s</session_key><checkpoint_dir>%s</checkpoint_dir><configuration>", esc(serverURI), esc(sessionKey), esc(checkpointDir))
	for name, params := range stanzas {
		fmt.Fprintf(&b, `<stanza name="%s" app="TA-m365-defender">`, esc(name))
		for k, v := range params {
			fmt.Fprintf(&b, `<param name="%s">%s</param>`, esc(k), esc(v))
		}
		b.WriteString("</stanza>")
	}
	b.WriteString("</configuration></input>")
	return b.String()
}

// ItemsXML builds the <items> document for --validate-arguments.
func ItemsXML(name string, params map[string]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><items><server_host>test-host</server_host><checkpoint_dir>/tmp</checkpoint_dir>`)
	fmt.Fprintf(&b, `<item name="%s">`, esc(name))
	for k, v := range params {
		fmt.Fprintf(&b, `<param name="%s">%s</param>`, esc(k), esc(v))
	}
	b.WriteString("</item></items>")
	return b.String()
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
