package testpeer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

// BenchmarkEventHubsDelivery measures how fast the peer delivers stored events to a Go
// consumer (one ConsumerClient, one PartitionClient per partition, all 4 partitions read at
// once, as the Event Hub input does), so that the input's end-to-end benchmark can tell
// whether the peer is its bottleneck. One op is one event; MB/s counts event bodies.
//
//	go test ./src/testpeer -run '^$' -bench EventHubsDelivery -benchtime 20000x
func BenchmarkEventHubsDelivery(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10, 256 << 10} {
		for _, prefetch := range []int32{0, 2000} {
			if size >= 256<<10 && prefetch > 300 {
				continue // 2000 x 256 KiB of credit would buffer 500 MB
			}
			b.Run(fmt.Sprintf("body=%dKiB/prefetch=%d", size>>10, prefetch), func(b *testing.B) {
				benchmarkDelivery(b, size, prefetch)
			})
		}
	}
}

func benchmarkDelivery(b *testing.B, size int, prefetch int32) {
	eh := StartEventHubs(b, EventHubsOptions{})
	record := []byte(`{"records":[{"time":"2026-12-04T10:00:00Z","category":"AdvancedHunting-DeviceEvents"}]}`)
	body := bytes.Repeat(record, size/len(record)+1)[:size]
	parts := eh.PartitionIDs()
	per := (b.N + len(parts) - 1) / len(parts)
	starts := map[string]int64{}
	for _, id := range parts {
		res := eh.SendRepeated(id, per, body)
		starts[id] = res.Partitions[id].First
	}
	c, err := azeventhubs.NewConsumerClientFromConnectionString(eh.ConnectionString(), "", azeventhubs.DefaultConsumerGroup, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0 := eh.Stats()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(parts))
	for _, id := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc, err := c.NewPartitionClient(id, &azeventhubs.PartitionClientOptions{
				StartPosition: azeventhubs.StartPosition{SequenceNumber: to.Ptr(starts[id]), Inclusive: true},
				Prefetch:      prefetch,
			})
			if err != nil {
				errs <- err
				return
			}
			defer pc.Close(context.Background())
			for got := 0; got < per; {
				evs, err := pc.ReceiveEvents(ctx, min(500, per-got), nil)
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					errs <- fmt.Errorf("partition %s after %d events: %w", id, got, err)
					return
				}
				for _, ev := range evs {
					if len(ev.Body) != size {
						errs <- fmt.Errorf("partition %s: body of %d bytes, want %d", id, len(ev.Body), size)
						return
					}
				}
				got += len(evs)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	cpu1 := eh.Stats()
	total := per * len(parts)
	peerCPU := time.Duration(cpu1.CPUUserMillis+cpu1.CPUSystemMillis-cpu0.CPUUserMillis-cpu0.CPUSystemMillis) * time.Millisecond
	b.ReportMetric(100*peerCPU.Seconds()/elapsed.Seconds(), "peer-cpu-%")
	// What the peer could deliver with a whole core to itself: a machine-load-independent view
	// of its capacity, since on a shared machine the wall-clock rate is the consumer's.
	if peerCPU > 0 {
		b.ReportMetric(float64(total)/peerCPU.Seconds(), "peer-events/cpu-s")
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(total*size)/elapsed.Seconds()/1e6, "MB/s")
}
