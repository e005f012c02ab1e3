package s3_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/miniotest"
	"github.com/imagebot/imagebot/runner/store/s3"
	"github.com/imagebot/imagebot/runner/store/storetest"
)

// BenchmarkS3Publish publishes a 256 MiB file to the real MinIO and reports
// throughput and the peak Go heap while uploading: memory stays about one
// part (16 MiB) whatever the file size.
//
//	go test -run '^$' -bench S3Publish -benchtime 2x ./runner/store/s3
func BenchmarkS3Publish(b *testing.B) {
	const size = 256 << 20
	srv := miniotest.Start(b)
	b.Setenv("BENCH_S3_AK", srv.AccessKey)
	b.Setenv("BENCH_S3_SK", srv.SecretKey)
	p, sha := storetest.RandomFile(b, b.TempDir(), "bench.qcow2", size)
	st, err := s3.New(context.Background(), store.S3Config{
		Endpoint: srv.Endpoint, Bucket: srv.Bucket, Insecure: true,
		AccessKeyEnv: "BENCH_S3_AK", SecretKeyEnv: "BENCH_S3_SK",
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var peak atomic.Uint64
	stop := make(chan struct{})
	go samplePeak(&peak, stop)
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

func samplePeak(peak *atomic.Uint64, stop chan struct{}) {
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
}
