// Command demo is the add-on's main job end to end, with no Microsoft
// tenant and no Splunk: it starts the Defender API simulator in-process
// (http on 127.0.0.1), writes the <input> configuration splunkd would send
// for one m365_defender_incidents and one m365_defender_alerts stanza
// pointing at it, runs the built binary once per stanza as splunkd does
// (configuration on stdin, the XML event stream on stdout, log lines on
// stderr), and summarises what Splunk would index.
//
//	make demo                # make build && go run ./src/cmd/demo
//	go run ./src/cmd/demo -binary bin/linux_x86_64/m365defender -incidents 2000
//	go run ./src/cmd/demo -tls                          # https, the certificate passed as ca_file
//	go run ./src/cmd/demo -cert                         # client certificate (assertion) instead of the secret
//	go run ./src/cmd/demo -serve -addr 127.0.0.1:8990   # only the simulator, for a local Splunk
//
// Outputs land in demo-output/: <stanza>.xml (the stream), <stanza>.log
// (stderr), <stanza>.input.xml (the configuration splunkd would send,
// secret included: it is the simulator's), and the same with .poll2 for
// the second poll, which runs
// after the simulator changed a few incidents and alerts and must bring
// exactly those. The exit status is non-zero when anything failed: a
// process exit status, no events, bad XML or JSON, an ERROR or FATAL log
// line, a missing, repeated or unexpected object.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// platformDirs maps GOOS/GOARCH to the app's bin/<platform> directory names
// (the Makefile's table).
var platformDirs = map[string]string{
	"linux/amd64": "linux_x86_64", "linux/arm64": "linux_aarch64", "darwin/amd64": "darwin_x86_64",
	"darwin/arm64": "darwin_arm64", "windows/amd64": "windows_x86_64",
}

// defaultBinary is bin/<platform>/m365defender for this machine.
func defaultBinary() string {
	dir, ok := platformDirs[runtime.GOOS+"/"+runtime.GOARCH]
	if !ok {
		dir = runtime.GOOS + "_" + runtime.GOARCH
	}
	exe := "m365defender"
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	return filepath.Join("bin", dir, exe)
}

// options are the command's flags.
type options struct {
	binary    string
	out       string
	incidents int
	alertsPer int
	seed      uint64
	batch     int
	polls     int
	faults    bool
	timeout   time.Duration
	api       string
	tls       bool
	cert      bool
	// -serve mode
	serve       bool
	addr        string
	updateEvery time.Duration
}

// parseFlags reads the command line.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.binary, "binary", defaultBinary(), "the m365defender binary to run")
	fs.StringVar(&o.out, "out", "demo-output", "directory for the streams, logs and configuration")
	fs.IntVar(&o.incidents, "incidents", 500, "incidents in the simulated tenant")
	fs.IntVar(&o.alertsPer, "alerts-per-incident", 2, "alerts of each incident")
	fs.Uint64Var(&o.seed, "seed", 1, "data seed (same seed, same data)")
	fs.IntVar(&o.batch, "same-time-batch", 3, "consecutive incidents sharing one lastUpdateDateTime")
	fs.IntVar(&o.polls, "polls", 2, "1: the backlog only; 2: then change some objects and poll again")
	fs.BoolVar(&o.faults, "faults", true, "inject one 429 (Retry-After 1 s) and one 503 into the first poll")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "give up on a process after this long")
	fs.StringVar(&o.api, "api", "graph", "graph or legacy")
	fs.BoolVar(&o.tls, "tls", false, "serve https with a self-signed certificate, passed to the inputs as ca_file")
	fs.BoolVar(&o.cert, "cert", false, "authenticate with a client certificate (client_certificate) instead of the secret")
	fs.BoolVar(&o.serve, "serve", false, "only run the simulator (for a local Splunk or curl) until Ctrl-C")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "loopback address for -serve")
	fs.DurationVar(&o.updateEvery, "update-every", 30*time.Second, "with -serve: update one incident and add one this often")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.incidents < 1 || o.polls < 1 || o.polls > 2 || (o.api != "graph" && o.api != "legacy") || o.updateEvery <= 0 {
		return o, errors.New("need -incidents ≥ 1, -polls 1 or 2, -api graph or legacy, -update-every > 0")
	}
	return o, nil
}

// stanza is one input the demo runs.
type stanza struct {
	name, scheme string
	// expect is what the current poll must bring, by sourcetype (set by
	// wantBacklog and changeData).
	expect map[string]*expectation
}

// file names an output of st for a poll, e.g. m365_defender_incidents_demo.poll2.xml.
func (st stanza) file(poll int, ext string) string {
	base := strings.ReplaceAll(st.name, "://", "_")
	if poll > 1 {
		base += fmt.Sprintf(".poll%d", poll)
	}
	return base + ext
}

// run is the whole command; it returns the exit status (0 ok, 1 a check
// failed, 2 the demo could not run).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "demo:", err)
		return 2
	}
	if o.serve {
		return serve(ctx, o, o.addr, stdout)
	}
	if _, err := os.Stat(o.binary); err != nil {
		fmt.Fprintf(stderr, "demo: binary %s: %v\n  build it first (make build) or pass -binary\n", o.binary, err)
		return 2
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 2
	}
	cpDir, err := os.MkdirTemp("", "m365defender-demo-checkpoints-")
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 2
	}
	defer os.RemoveAll(cpDir)

	start := time.Now()
	simOpts := simulator.Options{Incidents: o.incidents, AlertsPerIncident: o.alertsPer, Seed: o.seed,
		SameTimeBatch: o.batch, Span: 7 * 24 * time.Hour}
	var sim *simulator.Server
	caFile := ""
	if o.tls {
		sim = simulator.NewTLS(simOpts)
		caFile, _ = filepath.Abs(filepath.Join(o.out, "simulator-ca.pem"))
		if err := os.WriteFile(caFile, sim.CertificatePEM(), 0o644); err != nil {
			fmt.Fprintln(stderr, "demo:", err)
			sim.Close()
			return 2
		}
	} else {
		sim = simulator.New(simOpts)
	}
	defer sim.Close()
	certFile, keyLine := "", ""
	if o.cert {
		pemBytes, err := sim.NewClientCertificate()
		if _, key, ok := strings.Cut(string(pemBytes), "-----BEGIN PRIVATE KEY-----\n"); ok {
			keyLine, _, _ = strings.Cut(key, "\n") // must never appear in an output
		}
		if err == nil {
			certFile, _ = filepath.Abs(filepath.Join(o.out, "client-certificate.pem"))
			err = os.WriteFile(certFile, pemBytes, 0o600)
		}
		if err != nil {
			fmt.Fprintln(stderr, "demo:", err)
			return 2
		}
	}
	tot := sim.Totals()
	p := &printer{w: stdout}
	p.f("Defender API simulator at %s: %d incidents, %d alerts (%d from Defender for Endpoint), seed %d\n",
		sim.URL, tot.Incidents, tot.Alerts, tot.EndpointAlerts, o.seed)
	p.f("binary %s, checkpoints in %s, outputs in %s/\n", o.binary, cpDir, o.out)

	stanzas := []*stanza{
		{name: "m365_defender_incidents://demo", scheme: "m365_defender_incidents"},
		{name: "m365_defender_alerts://demo", scheme: "m365_defender_alerts"},
	}
	params := func() map[string]string {
		p := map[string]string{
			"tenant_id": sim.TenantID, "client_id": sim.ClientID, "client_secret": sim.ClientSecret,
			"login_url": sim.URL, "api_url": sim.URL, "api": o.api, "index": "main", "host": "demo-host",
			"interval": "300", "log_level": "INFO", "disabled": "0",
		}
		if caFile != "" {
			p["ca_file"] = caFile
		}
		if certFile != "" {
			delete(p, "client_secret")
			p["client_certificate"] = certFile
		}
		return p
	}
	wantBacklog(sim, stanzas, o)

	failed := false
	for poll := 1; poll <= o.polls; poll++ {
		if poll == 1 && o.faults {
			sim.Throttle(1, time.Second)
			sim.FailNext(1, 503)
		}
		if poll == 2 {
			changed := changeData(sim, stanzas, o)
			p.f("\nSimulator changed %s; polling again from the checkpoints\n", changed)
		}
		sim.ResetStats()
		p.f("\n=== poll %d ===\n", poll)
		results := make([]*result, len(stanzas))
		var wg sync.WaitGroup
		for i, st := range stanzas {
			cfg := inputXML("demo-host", "", "", cpDir, "TA-m365-defender", []stanzaConfig{{Name: st.name, Params: params()}})
			_ = os.WriteFile(filepath.Join(o.out, st.file(poll, ".input.xml")), cfg, 0o600)
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = runStanza(ctx, o, st, poll, cfg)
			}()
		}
		wg.Wait()
		for i, st := range stanzas {
			if !report(p, st, poll, results[i]) {
				failed = true
			}
		}
		stats := sim.Stats()
		p.f("\nsimulator: %d API calls, %d token requests, injected %d×429 %d×5xx\n", stats.APICalls(), stats.TokenRequests, stats.Throttled, stats.Failed)
		keys := make([]string, 0, len(stats.Requests))
		for k := range stats.Requests {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p.f("  %6d  %s\n", stats.Requests[k], k)
		}
	}
	p.f("\ncheckpoint files (%s, copied to %s/checkpoints/):\n", cpDir, o.out)
	if !listCheckpoints(p, cpDir, sim.ClientSecret) {
		failed = true
	}
	copyDir(cpDir, filepath.Join(o.out, "checkpoints"))
	var written []string // the streams and logs of this run (not the configurations)
	for poll := 1; poll <= o.polls; poll++ {
		for _, st := range stanzas {
			written = append(written, filepath.Join(o.out, st.file(poll, ".xml")), filepath.Join(o.out, st.file(poll, ".log")))
		}
	}
	if leaks := secretIn(written, sim.ClientSecret); len(leaks) > 0 {
		p.f("  FAIL the client secret appears in %s\n", strings.Join(leaks, ", "))
		failed = true
	}
	if keyLine != "" {
		if leaks := secretIn(written, keyLine); len(leaks) > 0 {
			p.f("  FAIL the client certificate's private key appears in %s\n", strings.Join(leaks, ", "))
			failed = true
		}
	}
	p.f("\n")
	if failed {
		p.f("DEMO FAILED after %s (see the FAIL lines above and the files in %s/)\n", time.Since(start).Round(time.Millisecond), o.out)
		return 1
	}
	p.f("DEMO OK in %s\n", time.Since(start).Round(time.Millisecond))
	return 0
}

// printer writes to the terminal.
type printer struct{ w io.Writer }

func (p *printer) f(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }

// result is what one process produced.
type result struct {
	exitErr  error
	duration time.Duration
	xmlPath  string
	logs     []logLine
	logErr   error
}

// runStanza runs the binary for one stanza, as splunkd does: the scheme
// name first (what the bin/ launchers pass), the configuration on stdin.
func runStanza(ctx context.Context, o options, st *stanza, poll int, cfg []byte) *result {
	r := &result{}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	outPath := filepath.Join(o.out, st.file(poll, ".xml"))
	logPath := filepath.Join(o.out, st.file(poll, ".log"))
	outF, err := os.Create(outPath)
	if err != nil {
		r.exitErr = err
		return r
	}
	logF, err := os.Create(logPath)
	if err != nil {
		outF.Close()
		r.exitErr = err
		return r
	}
	cmd := exec.CommandContext(ctx, o.binary, st.scheme)
	cmd.Stdin = bytes.NewReader(cfg)
	cmd.Stdout, cmd.Stderr = outF, logF
	cmd.WaitDelay = 10 * time.Second
	t0 := time.Now()
	r.exitErr = cmd.Run()
	r.duration = time.Since(t0)
	if ctx.Err() != nil {
		r.exitErr = fmt.Errorf("killed after %s: %w", o.timeout, ctx.Err())
	}
	outF.Close()
	logF.Close()
	r.xmlPath = outPath
	if f, err := os.Open(logPath); err == nil {
		r.logs, r.logErr = parseLog(f)
		f.Close()
	} else {
		r.logErr = err
	}
	return r
}

// copyDir copies the regular files of from (one level) into to, for
// inspection after the temporary checkpoint directory is gone.
func copyDir(from, to string) {
	entries, err := os.ReadDir(from)
	if err != nil || os.MkdirAll(to, 0o755) != nil {
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(from, e.Name())); err == nil {
			_ = os.WriteFile(filepath.Join(to, e.Name()), b, 0o600)
		}
	}
}
