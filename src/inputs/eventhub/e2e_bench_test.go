package eventhub_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput/modinputtest"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

// BenchmarkEndToEnd seeds the rhea peer with records on 4 partitions (200,000
// by default, EH_BENCH_RECORDS to change) and measures how fast the built
// binary delivers them as XML events, and its peak RSS. One iteration is the
// whole backlog.
func BenchmarkEndToEnd(b *testing.B) {
	total := 200000
	if v, err := strconv.Atoi(os.Getenv("EH_BENCH_RECORDS")); err == nil && v > 0 {
		total = v
	}
	const perMsg = 100
	body := []byte(nil)
	var recs []string
	for r := 0; r < perMsg; r++ {
		recs = append(recs, record(fmt.Sprintf("bench-%d", r), r))
	}
	body = envelope(recs...)
	bin := binary(b)
	for b.Loop() {
		b.StopTimer()
		peer := testpeer.StartEventHubs(b, testpeer.EventHubsOptions{})
		for _, pid := range peer.PartitionIDs() {
			peer.SendRepeated(pid, total/perMsg/4, body)
		}
		cfg := modinputtest.InputXML(b.TempDir(), "", "", map[string]map[string]string{
			"m365_defender_eventhub://bench": {"connection_string": peer.ConnectionString(), "max_wait_seconds": "1"}})
		cmd := exec.Command(bin)
		cmd.Stdin = strings.NewReader(cfg)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = io.Discard
		cmd.Env = append(os.Environ(), os.Getenv("EH_BENCH_ENV"))
		b.StartTimer()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		n, bytesRead := countEvents(out, total)
		elapsed := time.Since(start)
		b.StopTimer()
		rss := peakRSS(cmd.Process.Pid)
		cpu := cpuSeconds(cmd.Process.Pid)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		go io.Copy(io.Discard, out)
		_ = cmd.Wait()
		peer.Close()
		if n < total {
			b.Fatalf("only %d of %d events", n, total)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(bytesRead)/elapsed.Seconds()/1e6, "MB/s_out")
		b.ReportMetric(float64(rss)/1024, "peak_RSS_MB")
		if cpu > 0 {
			// Load-independent: what one core of the input's own CPU time delivers.
			b.ReportMetric(float64(bytesRead)/cpu/1e6, "MB_out/cpu_s")
			b.ReportMetric(float64(n)/cpu, "records/cpu_s")
		}
		b.StartTimer()
	}
}

// countEvents reads the stream until want events have arrived.
func countEvents(r io.Reader, want int) (n int, total int64) {
	buf := make([]byte, 1<<20)
	tag := []byte("</event>")
	var carry []byte
	for n < want {
		k, err := r.Read(buf)
		total += int64(k)
		chunk := append(carry, buf[:k]...)
		n += bytes.Count(chunk, tag)
		if len(chunk) >= len(tag) {
			carry = append(carry[:0], chunk[len(chunk)-len(tag)+1:]...)
		}
		if err != nil {
			break
		}
	}
	return n, total
}

// cpuSeconds returns the user+system CPU time pid has used (Linux), 0 elsewhere.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// peakRSS returns VmHWM of pid in KiB (Linux), 0 elsewhere.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			v, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return v
		}
	}
	return 0
}
