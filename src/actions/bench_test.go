package actions

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"testing"
)

// BenchmarkReadResults reads a 10,000-row results.csv.gz (splunkd's default maxresults) of
// alert rows with a multivalue column.
func BenchmarkReadResults(b *testing.B) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	cw := csv.NewWriter(zw)
	cw.Write([]string{"_time", "id", "incidentId", "title", "severity", "mitreTechniques{}", "__mv_mitreTechniques{}"})
	for i := 0; i < 10000; i++ {
		cw.Write([]string{"1733320000", fmt.Sprintf("da6375512276775%05d_-961444813", i), fmt.Sprint(2972000 + i%500),
			"Suspicious PowerShell command line", "medium", "T1059.001\nT1086", "$T1059.001$;$T1086$"})
	}
	cw.Flush()
	zw.Close()
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n, err := ReadResultsFrom(bytes.NewReader(data), func(int, Row) error { return nil })
		if err != nil || n != 10000 {
			b.Fatal(n, err)
		}
	}
}
