package modinput

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// benchEvent builds a JSON event of about size bytes, shaped like a Defender
// Advanced Hunting record.
func benchEvent(size int) []byte {
	rec := `{"time":"2024-05-01T10:00:00.1234567Z","tenantId":"0c6e3c8a-1b2f-4f6c-9a1e-4a0f7c1d2e3f","operationName":"Publish","category":"AdvancedHunting-DeviceProcessEvents","properties":{"Timestamp":"2024-05-01T09:59:58.7654321Z","DeviceName":"ws-0042.contoso.com","ActionType":"ProcessCreated","FileName":"powershell.exe","FolderPath":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","ProcessCommandLine":"powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\Temp\\a.ps1","AccountName":"alice","pad":"`
	var b bytes.Buffer
	b.WriteString(rec)
	for b.Len() < size-3 {
		b.WriteByte('x')
	}
	b.WriteString(`"}}`)
	return b.Bytes()
}

// BenchmarkEventWriter measures the XML event path against a plain
// bufio.Writer.Write of the same bytes, the baseline; the ratio of their MB/s
// is the figure BENCHMARKS.md records.
func BenchmarkEventWriter(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		data := benchEvent(size)
		b.Run(fmt.Sprintf("baseline_bufio_%dKB", size>>10), func(b *testing.B) {
			w := bufio.NewWriterSize(io.Discard, BufferSize)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				w.Write(data)
			}
			w.Flush()
		})
		b.Run(fmt.Sprintf("event_writer_%dKB", size>>10), func(b *testing.B) {
			w := NewEventWriter(io.Discard)
			e := &Event{Stanza: "m365_defender_eventhub://prod", Time: time.UnixMilli(1714557598765), Source: "m365_defender_eventhub:defender-hub",
				Sourcetype: "ms:defender:eventhub", Index: "main", Host: "fwd-01", Data: data, Unbroken: true, Done: true}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Write(e); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkSchemeCommand measures the wall time of `m365defender <scheme>
// --scheme` as splunkd runs it (process start included), when the binary has
// been built; the Makefile's bench target builds it first.
func BenchmarkSchemeCommand(b *testing.B) {
	bin := os.Getenv("M365DEFENDER_BIN")
	if bin == "" {
		b.Skip("set M365DEFENDER_BIN to the built binary (make bench does)")
	}
	bin, _ = filepath.Abs(bin)
	for b.Loop() {
		if out, err := exec.Command(bin, "m365_defender_incidents", "--scheme").Output(); err != nil || len(out) == 0 {
			b.Fatalf("--scheme: %v", err)
		}
	}
}
