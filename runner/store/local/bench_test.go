package local_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
	"github.com/imagebot/imagebot/runner/store/storetest"
)

// BenchmarkLocalPublish publishes a 256 MiB file into a local store and
// reports throughput and the peak Go heap while doing it.
//
//	go test -run '^$' -bench LocalPublish -benchtime 2x ./runner/store/local
func BenchmarkLocalPublish(b *testing.B) {
	const size = 256 << 20
	p, sha := storetest.RandomFile(b, b.TempDir(), "bench.qcow2", size)
	st, err := local.New(store.LocalConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ref := store.MRBuild("bench", i+1, "abcdef12")
		files := []store.LocalFile{{Name: "bench.qcow2", Path: p, SHA256: sha}}
		if _, err := store.Publish(context.Background(), st, ref.Prefix(), files, []byte(`{}`), store.PublishOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
