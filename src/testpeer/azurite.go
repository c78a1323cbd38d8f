package testpeer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Well-known credentials of Azurite's default storage account. They are
// published in Azurite's documentation and only valid against the emulator.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// azuriteStartTimeout bounds how long StartAzurite waits for the "listens on"
// line. Node needs a second or two to load Azurite on a busy machine.
const azuriteStartTimeout = 60 * time.Second

// azuriteListenRE matches the line Azurite prints once its blob service
// accepts connections, e.g.
// "Azurite Blob service successfully listens on http://127.0.0.1:33747".
var azuriteListenRE = regexp.MustCompile(`Blob service successfully listens on (https?://[^\s]+)`)

// azuritePreload is loaded into node before Azurite (node -r). It ties the
// emulator's lifetime to its stdin pipe: when the test process exits, for any
// reason (including SIGKILL), the pipe's write end closes, stdin reaches EOF
// and node exits. Azurite itself never reads stdin.
const azuritePreload = `'use strict';
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
`

// AzuriteOptions adjust how StartAzurite runs the emulator. The zero value
// means in-memory persistence with Azurite's default memory limit.
type AzuriteOptions struct {
	// Location, when set, makes Azurite persist to this directory instead of
	// memory (use tb.TempDir()); useful for large benchmarks.
	Location string
	// ExtentMemoryLimitMB caps in-memory extent storage; 0 means Azurite's default.
	ExtentMemoryLimitMB int
	// CertFile and KeyFile (PEM) make Azurite serve HTTPS; BlobURL and
	// ConnectionString then use https.
	CertFile, KeyFile string
	// OAuth enables Azurite's "basic" OAuth mode (needs HTTPS): bearer
	// tokens are accepted when their audience, issuer and expiry are right;
	// signatures are not checked.
	OAuth bool
}

// Azurite is a running Azurite blob service on 127.0.0.1, started by
// StartAzurite and stopped by the test's cleanup.
type Azurite struct {
	tb      testing.TB
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	blobURL string // http://127.0.0.1:<port>/devstoreaccount1
	out     *azuriteLog
	done    chan struct{}
	waitErr error
	stop    sync.Once
}

// StartAzurite starts the Azurite blob service from the repository's
// node_modules on a free loopback port and registers a cleanup that stops
// it. It fails the test (never skips) when node or Azurite is missing: CI runs
// `npm ci` first.
func StartAzurite(tb testing.TB) *Azurite {
	tb.Helper()
	return StartAzuriteWith(tb, AzuriteOptions{})
}

// StartAzuriteWith is StartAzurite with options.
func StartAzuriteWith(tb testing.TB, opts AzuriteOptions) *Azurite {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Fatalf("testpeer: Azurite needs node (Node.js 20+) on PATH: %v", err)
	}
	main, err := azuriteMain()
	if err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	dir := tb.TempDir()
	preload := filepath.Join(dir, "azurite-lifetime.js")
	if err := os.WriteFile(preload, []byte(azuritePreload), 0o600); err != nil {
		tb.Fatalf("testpeer: writing Azurite preload script: %v", err)
	}
	args := []string{"-r", preload, main,
		"--blobHost", "127.0.0.1", "--blobPort", "0",
		"--skipApiVersionCheck", "--disableTelemetry", "--silent"}
	if opts.CertFile != "" {
		args = append(args, "--cert", opts.CertFile, "--key", opts.KeyFile)
	}
	if opts.OAuth {
		args = append(args, "--oauth", "basic")
	}
	if opts.Location != "" {
		args = append(args, "--location", opts.Location)
	} else {
		args = append(args, "--inMemoryPersistence")
		if opts.ExtentMemoryLimitMB > 0 {
			args = append(args, "--extentMemoryLimit", fmt.Sprint(opts.ExtentMemoryLimitMB))
		}
	}
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	// Keep Azurite off the network and out of the developer's settings.
	cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS=", "NODE_OPTIONS=")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatalf("testpeer: Azurite stdin pipe: %v", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		tb.Fatalf("testpeer: Azurite output pipe: %v", err)
	}
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		tb.Fatalf("testpeer: starting Azurite (%s %s): %v", node, main, err)
	}
	pw.Close() // the child holds its own copy

	a := &Azurite{tb: tb, cmd: cmd, stdin: stdin, out: &azuriteLog{}, done: make(chan struct{})}
	urlc := make(chan string, 1)
	go a.readOutput(pr, urlc)
	go func() {
		a.waitErr = cmd.Wait()
		close(a.done)
	}()
	tb.Cleanup(a.Stop)

	select {
	case u := <-urlc:
		a.blobURL = strings.TrimRight(u, "/") + "/" + AzuriteAccount
	case <-a.done:
		tb.Fatalf("testpeer: Azurite exited before listening (%v); output:\n%s", a.waitErr, a.out.String())
	case <-time.After(azuriteStartTimeout):
		a.Stop()
		tb.Fatalf("testpeer: Azurite did not report its port within %v; output:\n%s", azuriteStartTimeout, a.out.String())
	}
	return a
}

// readOutput copies Azurite's output into a bounded log and reports the
// listening URL once.
func (a *Azurite) readOutput(r io.ReadCloser, urlc chan<- string) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		a.out.add(line)
		if !sent {
			if m := azuriteListenRE.FindStringSubmatch(line); m != nil {
				urlc <- m[1]
				sent = true
			}
		}
	}
}

// Stop ends Azurite (closing its stdin, then killing it) and waits for it.
// It is idempotent and registered as a cleanup by StartAzurite.
func (a *Azurite) Stop() {
	a.stop.Do(func() {
		a.stdin.Close()
		select {
		case <-a.done:
		case <-time.After(2 * time.Second):
			_ = a.cmd.Process.Kill()
			<-a.done
		}
		if a.tb.Failed() {
			a.tb.Logf("testpeer: Azurite output (last lines):\n%s", a.out.String())
		}
	})
}

// BlobURL is the blob endpoint of the dev account,
// http://127.0.0.1:<port>/devstoreaccount1 (https with a certificate), without
// a trailing slash.
func (a *Azurite) BlobURL() string { return a.blobURL }

// ConnectionString is a storage connection string for the dev account with an
// explicit BlobEndpoint (azblob has no UseDevelopmentStorage shortcut).
func (a *Azurite) ConnectionString() string {
	proto, _, _ := strings.Cut(a.blobURL, "://")
	return "DefaultEndpointsProtocol=" + proto + ";AccountName=" + AzuriteAccount +
		";AccountKey=" + AzuriteKey + ";BlobEndpoint=" + a.blobURL + ";"
}

// PID is the process id of the node process running Azurite.
func (a *Azurite) PID() int { return a.cmd.Process.Pid }

// azuriteMain locates Azurite's blob entry point in the repository's
// node_modules, walking up from the working directory to the module root.
func azuriteMain() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "node_modules", "azurite", "dist", "src", "blob", "main.js")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("azurite is not installed at %s: run `npm ci` in %s (%v)", p, dir, err)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the module root (go.mod) above " + wd + " to locate node_modules/azurite")
		}
		dir = parent
	}
}

// azuriteLog keeps the last lines Azurite printed, for failure messages.
type azuriteLog struct {
	mu    sync.Mutex
	lines []string
}

const azuriteLogLines = 200

func (l *azuriteLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == azuriteLogLines {
		copy(l.lines, l.lines[1:])
		l.lines = l.lines[:azuriteLogLines-1]
	}
	l.lines = append(l.lines, s)
}

func (l *azuriteLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b bytes.Buffer
	for _, s := range l.lines {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}
