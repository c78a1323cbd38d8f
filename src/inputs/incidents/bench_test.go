package incidents

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

// countingWriter counts what the input writes to stdout.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }

// BenchmarkBacklog polls a whole backlog in-process: incidents with two
// alerts each, $expand=alerts, 50 per page. It reports the HTTP calls made
// (list pages plus token requests) and the events written per backlog.
func BenchmarkBacklog(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		b.Run(fmt.Sprintf("incidents=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var calls, tokens, events int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				h := newHarness(b, simulator.Options{Incidents: n, AlertsPerIncident: 2, Seed: 50})
				var out countingWriter
				rt := h.Runtime(&out)
				cfg, err := NewConfig(h.Stanza())
				if err != nil {
					b.Fatal(err)
				}
				in := New(cfg, rt)
				b.StartTimer()
				if err := in.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				rt.Events.Close()
				b.StopTimer()
				st := h.Sim.Stats()
				calls, tokens, events = st.APICalls(), st.TokenRequests, in.events
				b.SetBytes(out.n.Load())
				b.StartTimer()
			}
			b.ReportMetric(float64(calls), "pages/op")
			b.ReportMetric(float64(tokens), "tokens/op")
			b.ReportMetric(float64(events), "events/op")
		})
	}
}

// BenchmarkFetchBaseline is the floor the input is compared with: the same
// backlog fetched page by page over the same loopback HTTP with one token,
// bodies discarded, nothing decoded or written.
func BenchmarkFetchBaseline(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		b.Run(fmt.Sprintf("incidents=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var bytes int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				sim := simulator.New(simulator.Options{Incidents: n, AlertsPerIncident: 2, Seed: 50})
				ts, err := defender.NewTokenSource(defender.Credentials{TenantID: sim.TenantID, ClientID: sim.ClientID,
					ClientSecret: sim.ClientSecret, LoginURL: sim.URL, Scope: sim.Scope()}, defender.TokenSourceOptions{HTTPClient: sim.Client()})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				tok, err := ts.Token(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				bytes = 0
				next := sim.URL + "/v1.0/security/incidents?$expand=alerts&$top=50&$orderby=lastUpdateDateTime%20asc"
				for next != "" {
					req, _ := http.NewRequest("GET", next, nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := sim.Client().Do(req)
					if err != nil {
						b.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					bytes += int64(len(body))
					// Only the link is needed; find it without decoding the page.
					next = ""
					if i := strings.LastIndex(string(body), `"@odata.nextLink":"`); i >= 0 {
						rest := body[i+len(`"@odata.nextLink":`):]
						if j := strings.IndexByte(string(rest[1:]), '"'); j >= 0 {
							json.Unmarshal(rest[:j+2], &next)
						}
					}
				}
				b.StopTimer()
				sim.Close()
				b.StartTimer()
			}
			b.SetBytes(bytes)
		})
	}
}

// BenchmarkBacklogBinary runs the built m365defender binary against the
// simulator, as splunkd would, and reports its peak RSS (VmHWM from
// /proc/<pid>/status, sampled until it exits; getrusage's ru_maxrss would
// count the test process the child was forked from), so that 2,000 and
// 20,000 incidents can be compared: memory must stay flat as the backlog
// grows.
func BenchmarkBacklogBinary(b *testing.B) {
	bin := buildBinary(b)
	for _, n := range []int{2000, 20000} {
		b.Run(fmt.Sprintf("incidents=%d", n), func(b *testing.B) {
			var maxRSS int64
			var cpu time.Duration // the child's user+system CPU: robust on a busy machine
			var calls, tokens int
			var bytesOut int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				sim := simulator.New(simulator.Options{Incidents: n, AlertsPerIncident: 2, Seed: 51})
				conf := inputXML(b.TempDir(), map[string]string{
					"tenant_id": sim.TenantID, "client_id": sim.ClientID, "client_secret": sim.ClientSecret,
					"login_url": sim.URL, "api_url": sim.URL, "log_level": "WARN",
				})
				var out countingWriter
				var stderr strings.Builder
				cmd := exec.Command(bin)
				cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(conf), &out, &stderr
				b.StartTimer()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				hwm := watchHWM(cmd.Process.Pid)
				err := cmd.Wait()
				b.StopTimer()
				if err != nil {
					b.Fatalf("%v\n%s", err, stderr.String())
				}
				if kb := hwm(); kb > maxRSS {
					maxRSS = kb
				}
				cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				st := sim.Stats()
				calls, tokens, bytesOut = st.APICalls(), st.TokenRequests, out.n.Load()
				sim.Close()
				b.StartTimer()
			}
			b.SetBytes(bytesOut)
			b.ReportMetric(float64(maxRSS)/1024, "peak_rss_MB")
			b.ReportMetric(float64(cpu.Milliseconds()), "cpu_ms/op")
			b.ReportMetric(float64(calls), "pages/op")
			b.ReportMetric(float64(tokens), "tokens/op")
		})
	}
}

// watchHWM samples the VmHWM (peak RSS, kB) of process pid every few
// milliseconds; the returned function stops sampling and gives the last
// value read. VmHWM only grows, so the last sample before exit is the peak.
func watchHWM(pid int) func() int64 {
	var last atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := fmt.Sprintf("/proc/%d/status", pid)
		for {
			if b, err := os.ReadFile(path); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						var kb int64
						fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
						if kb > last.Load() {
							last.Store(kb)
						}
					}
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return last.Load()
	}
}
