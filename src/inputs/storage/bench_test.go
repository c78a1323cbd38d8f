package storage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

// benchMB is the amount of PT1H.json data BenchmarkReadPT1H reads:
// STORAGE_BENCH_MB (default 16; the recorded run uses 1024).
func benchMB(b *testing.B) int {
	if v := os.Getenv("STORAGE_BENCH_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("STORAGE_BENCH_MB=%q: want a positive number of MB", v)
		}
		return n
	}
	return 16
}

// benchRecord is a DeviceProcessEvents row of a realistic size (about 1.3 KB).
func benchRecord(ts time.Time, i int) string {
	t := ts.Format("2006-01-02T15:04:05.0000000Z")
	return `{"time":"` + t + `","tenantId":"8d3c5f1e-0000-4000-8000-000000000001","operationName":"Publish","category":"AdvancedHunting-DeviceProcessEvents","_TimeReceivedBySvc":"` + t + `","properties":{"AccountDomain":"contoso","AccountName":"svc-backup","AccountObjectId":"2b1f9d7e-1c2a-4d5e-9f00-112233445566","AccountSid":"S-1-5-21-1004336348-1177238915-682003330-1105","AccountUpn":"svc-backup@contoso.com","ActionType":"ProcessCreated","AdditionalFields":"{\"ProcessStartKey\":` + strconv.Itoa(1000000+i) + `}","DeviceId":"c2d1f3a4b5e6978877665544332211aabbccddee","DeviceName":"ws-` + strconv.Itoa(i%500) + `.contoso.com","FileName":"powershell.exe","FolderPath":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","InitiatingProcessAccountName":"system","InitiatingProcessCommandLine":"\"svchost.exe\" -k netsvcs -p -s Schedule","InitiatingProcessFileName":"svchost.exe","InitiatingProcessId":1244,"InitiatingProcessSHA256":"a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff00","MD5":"7353f60b1739074eb17c5f4dddefe239","ProcessCommandLine":"powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\ProgramData\\backup\\run.ps1","ProcessId":` + strconv.Itoa(4000+i%60000) + `,"ProcessIntegrityLevel":"System","ReportId":` + strconv.Itoa(i) + `,"SHA1":"6cbce4a295c163791b60fc23d285e6d84f28ee4c","SHA256":"de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c","Timestamp":"` + t + `","MachineGroup":null}}`
}

// seedBench writes about mb MB of records into hourly append blobs of at
// most 128 MB, spread over two containers, without holding it all in memory.
func seedBench(b *testing.B, az *testpeer.Azurite, prefix string, mb int) (records int, size int64) {
	ctx := context.Background()
	c, err := azblob.NewClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		b.Fatal(err)
	}
	const perBlob = 128 << 20
	total := int64(mb) << 20
	hour := testNow.Truncate(time.Hour).Add(-20 * time.Hour)
	var buf bytes.Buffer
	for blob := 0; size < total; blob++ {
		container := prefix + []string{"deviceprocessevents", "devicenetworkevents"}[blob%2]
		if _, err := c.CreateContainer(ctx, container, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
			b.Fatal(err)
		}
		h := hour.Add(time.Duration(blob/2) * time.Hour)
		ab := c.ServiceClient().NewContainerClient(container).NewAppendBlobClient(blobName(h))
		if _, err := ab.Create(ctx, nil); err != nil {
			b.Fatal(err)
		}
		var inBlob int64
		for inBlob < perBlob && size < total {
			buf.Reset()
			for buf.Len() < 4<<20-4096 && size+int64(buf.Len()) < total {
				buf.WriteString(benchRecord(h.Add(time.Duration(records%3600)*time.Second), records))
				buf.WriteString("\r\n")
				records++
			}
			if err := appendAll(ctx, ab, buf.Bytes()); err != nil {
				b.Fatal(err)
			}
			inBlob += int64(buf.Len())
			size += int64(buf.Len())
		}
	}
	return records, size
}

// benchInput builds an input that writes to io.Discard with a fresh checkpoint
// directory (when cpDir is "").
func benchInput(b *testing.B, az *testpeer.Azurite, prefix, cpDir string, counter *countingTransport) (*Input, *modinput.EventWriter) {
	if cpDir == "" {
		cpDir = b.TempDir()
	}
	store, err := checkpoint.NewFileStore(cpDir, "m365_defender_storage://bench")
	if err != nil {
		b.Fatal(err)
	}
	w := modinput.NewEventWriter(io.Discard)
	var tr http.RoundTripper = http.DefaultTransport
	if counter != nil {
		tr = counter
	}
	rt := &inputs.Runtime{Events: w, Checkpoints: store, Secrets: &modinput.Secrets{},
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return testNow }, HTTPClient: &http.Client{Transport: tr}}
	cfg, err := NewConfig(modinput.Stanza{Name: "m365_defender_storage://bench", Params: map[string]string{
		"connection_string": az.ConnectionString(), "container_prefix": prefix, "start_date": "2026-12-01T00:00:00Z"}})
	if err != nil {
		b.Fatal(err)
	}
	return New(cfg, rt), w
}

// BenchmarkReadPT1H reads STORAGE_BENCH_MB of exported records from Azurite,
// start to end, per iteration. "input" is the whole input (download, line
// split, decode, XML event stream to io.Discard, checkpoints); "download" is
// the baseline in the same run: the same blobs downloaded to io.Discard. Both
// report MB/s, records/s and the process's peak RSS while reading (VmHWM,
// reset before each).
func BenchmarkReadPT1H(b *testing.B) {
	az := testpeer.StartAzurite(b)
	mb := benchMB(b)
	records, size := seedBench(b, az, "bench-", mb)
	report := func(b *testing.B, elapsed time.Duration) {
		b.ReportMetric(float64(records)*float64(b.N)/elapsed.Seconds(), "records/s")
		if rss := peakRSS(b); rss > 0 {
			b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
		}
	}
	b.Run("download", func(b *testing.B) {
		c, err := azblob.NewClientFromConnectionString(az.ConnectionString(), nil)
		if err != nil {
			b.Fatal(err)
		}
		svc := azService{c: c.ServiceClient()}
		debug.FreeOSMemory()
		resetPeakRSS(b)
		b.SetBytes(size)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			names, err := svc.ListContainers(context.Background(), "bench-")
			if err != nil {
				b.Fatal(err)
			}
			for _, name := range names {
				cc := svc.Container(name)
				var blobs []string
				if err := cc.ListBlobs(context.Background(), "", func(it blobItem) { blobs = append(blobs, it.Name) }); err != nil {
					b.Fatal(err)
				}
				for _, bn := range blobs {
					body, _, err := cc.Download(context.Background(), bn, 0)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, body)
					body.Close()
				}
			}
		}
		report(b, time.Since(start))
	})
	b.Run("input", func(b *testing.B) {
		debug.FreeOSMemory()
		resetPeakRSS(b)
		b.SetBytes(size)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			in, w := benchInput(b, az, "bench-", "", nil)
			if err := in.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			w.Close()
		}
		elapsed := time.Since(start)
		b.StopTimer()
		report(b, elapsed)
	})
}

// BenchmarkUnchangedPoll polls an account where nothing changed since the last
// poll (4 containers, 24 hourly blobs each) and reports the requests one poll makes.
func BenchmarkUnchangedPoll(b *testing.B) {
	az := testpeer.StartAzurite(b)
	ctx := context.Background()
	c, err := azblob.NewClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, table := range []string{"deviceevents", "emailevents", "alertinfo", "identitylogonevents"} {
		name := "idle-" + table
		if _, err := c.CreateContainer(ctx, name, nil); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 24; i++ {
			h := testNow.Truncate(time.Hour).Add(-time.Duration(i) * time.Hour)
			ab := c.ServiceClient().NewContainerClient(name).NewAppendBlobClient(blobName(h))
			if _, err := ab.Create(ctx, nil); err != nil {
				b.Fatal(err)
			}
			if err := appendAll(ctx, ab, []byte(lines(table, h, 0, 5))); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpDir := b.TempDir()
	counter := &countingTransport{base: http.DefaultTransport}
	in, _ := benchInput(b, az, "idle-", cpDir, counter)
	if err := in.Run(ctx); err != nil { // reads everything once
		b.Fatal(err)
	}
	counter.reset()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in, _ := benchInput(b, az, "idle-", cpDir, counter)
		if err := in.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(counter.lists.Load())/n, "list-requests/poll")
	b.ReportMetric(float64(counter.gets.Load())/n, "downloads/poll")
	b.ReportMetric(float64(counter.other.Load())/n, "other-requests/poll")
	if counter.gets.Load() != 0 || counter.other.Load() != 0 {
		b.Fatalf("an unchanged poll made %d downloads and %d other requests", counter.gets.Load(), counter.other.Load())
	}
}

// BenchmarkRecordTime measures the per-line decode (event time) alone.
func BenchmarkRecordTime(b *testing.B) {
	line := []byte(benchRecord(testNow, 42))
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, ok := recordTime(line); !ok {
			b.Fatal("not JSON")
		}
	}
}

// resetPeakRSS resets the kernel's high-water mark of this process's RSS
// (Linux: write 5 to /proc/self/clear_refs).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset peak RSS: %v", err)
	}
}

// peakRSS returns VmHWM in bytes, or 0 where /proc is not available.
func peakRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb << 10
		}
	}
	return 0
}
