package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// eventHubState is the size of state an Event Hub input keeps per partition.
type eventHubState struct {
	Offset         string    `json:"offset"`
	SequenceNumber int64     `json:"sequence_number"`
	EnqueuedTime   time.Time `json:"enqueued_time"`
}

// blobState is a larger record: a storage input's list of blobs and their read positions.
type blobState struct {
	Blobs map[string]int64 `json:"blobs"`
}

func benchValues() []struct {
	name string
	v    any
} {
	blobs := blobState{Blobs: map[string]int64{}}
	for i := range 64 {
		blobs.Blobs["insights-logs-advancedhunting-deviceevents/y=2026/m=12/d=04/h=15/m=00/PT1H-"+strings.Repeat("0", 2)+string(rune('a'+i%26))+string(rune('a'+i/26))+".json"] = int64(i) * 4096
	}
	return []struct {
		name string
		v    any
	}{
		{"cursor", eventHubState{Offset: "12884901888", SequenceNumber: 4242, EnqueuedTime: fixedNow}},
		{"6KiB", blobs},
	}
}

// BenchmarkSave measures one durable checkpoint commit (encode, write, fsync, rename, fsync dir). The
// baseline sub-benchmarks overwrite one file in place with os.WriteFile + fsync (not crash-safe) for the same
// bytes, so the ratio is the cost of atomicity.
func BenchmarkSave(b *testing.B) {
	for _, bv := range benchValues() {
		b.Run("baseline-writefsync-"+bv.name, func(b *testing.B) {
			data, err := json.Marshal(bv.v)
			if err != nil {
				b.Fatal(err)
			}
			rec := encodeRecord(nil, "m365_defender_eventhub://bench", "partition-0", fixedNow, data)
			path := filepath.Join(b.TempDir(), "plain.json")
			b.ReportAllocs()
			for b.Loop() {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.Write(rec); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
	for _, bv := range benchValues() {
		b.Run(bv.name, func(b *testing.B) {
			s, err := NewFileStore(b.TempDir(), "m365_defender_eventhub://bench")
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Save("partition-0", bv.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoad measures reading a checkpoint back at start-up.
func BenchmarkLoad(b *testing.B) {
	for _, bv := range benchValues() {
		b.Run(bv.name, func(b *testing.B) {
			s, err := NewFileStore(b.TempDir(), "m365_defender_eventhub://bench")
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Save("partition-0", bv.v); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				var v blobState
				if _, err := s.Load("partition-0", &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
