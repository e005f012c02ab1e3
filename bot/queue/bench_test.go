package queue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkAccept measures storing deliveries (record + enqueue, group
// commit) from 64 concurrent callers on the embedded SQLite queue.
func BenchmarkAccept(b *testing.B) {
	w := newBenchQueue(b)
	ctx := context.Background()
	var n atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/64 + 1
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				id := fmt.Sprintf("%d-%d", g, i)
				if _, err := w.Accept(ctx, Delivery{Forge: "gitlab", ID: id, Event: "mr_comment"}, noteArgs{Delivery: id}, nil); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		}(g)
	}
	wg.Wait()
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "deliveries/s")
}

func newBenchQueue(b *testing.B) *Queue {
	b.Helper()
	return openTestTB(b)
}
