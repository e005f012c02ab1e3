package ova

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// peakHeap runs f while sampling the heap, and returns the highest
// HeapInuse seen above the heap in use before f started.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			mu.Lock()
			peak = max(peak, m.HeapInuse)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	if peak < base {
		return 0
	}
	return peak - base
}

// sparseDisk makes a qcow2 of size with the same few MiB of data spread over
// its start, middle and end.
func sparseDisk(t testing.TB, dir, size string, bytes int64) string {
	t.Helper()
	p := filepath.Join(dir, "sparse-"+size+".qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", p, size)
	run(t, "qemu-io",
		"-c", "write -P 0x61 0 4M",
		"-c", fmt.Sprintf("write -P 0x62 %d 4M", bytes/2),
		"-c", fmt.Sprintf("write -P 0x63 %d 4M", bytes-4<<20),
		p)
	return p
}

// TestSparse10GiBExportsWithFlatMemory: exporting a 10 GiB sparse disk with
// a little data needs no more heap than exporting a 1 GiB one: memory does
// not grow with the disk's size. (A measurement of heap, not of time.)
func TestSparse10GiBExportsWithFlatMemory(t *testing.T) {
	dir := t.TempDir()
	peaks := map[string]uint64{}
	for _, c := range []struct {
		size  string
		bytes int64
	}{{"1G", 1 << 30}, {"10G", 10 << 30}} {
		disk := sparseDisk(t, dir, c.size, c.bytes)
		var res *Result
		var err error
		peaks[c.size] = peakHeap(func() {
			res, err = Export(context.Background(), ExportOptions{Disk: disk, Out: filepath.Join(dir, c.size+".ova"), Workers: 2})
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.DiskCapacity != c.bytes || res.DiskPopulated != 12<<20 {
			t.Fatalf("%s: capacity %d populated %d", c.size, res.DiskCapacity, res.DiskPopulated)
		}
		if res.Size > 1<<20 {
			t.Fatalf("%s: OVA of 12 MiB of patterns is %d bytes", c.size, res.Size)
		}
		t.Logf("%s sparse disk: OVA %d bytes, peak heap above baseline %.1f MiB", c.size, res.Size, float64(peaks[c.size])/(1<<20))
	}
	const limit = 32 << 20
	if peaks["10G"] > limit {
		t.Errorf("10 GiB export peaked at %d MiB of heap, limit %d MiB", peaks["10G"]>>20, limit>>20)
	}
	if peaks["10G"] > peaks["1G"]+8<<20 {
		t.Errorf("heap grows with disk size: 1 GiB %d MiB, 10 GiB %d MiB", peaks["1G"]>>20, peaks["10G"]>>20)
	}
}

// BenchmarkExport exports a 64 MiB disk of mixed data (text-like,
// pseudo-random, zero) and reports throughput and allocated bytes.
func BenchmarkExport(b *testing.B) {
	dir := b.TempDir()
	disk := makeDisk(b, dir, "bench.qcow2", "64M")
	run(b, "qemu-io", "-c", "write -P 0x33 20M 30M", disk)
	b.SetBytes(64 << 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Export(context.Background(), ExportOptions{Disk: disk, Out: filepath.Join(dir, "b.ova")}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExportDisk exports the disk named by IMAGEBOT_BENCH_DISK (for
// profiling on a real image, e.g. bench.sh's input).
func BenchmarkExportDisk(b *testing.B) {
	disk := os.Getenv("IMAGEBOT_BENCH_DISK")
	if disk == "" {
		b.Skip("set IMAGEBOT_BENCH_DISK")
	}
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Export(context.Background(), ExportOptions{Disk: disk, Out: filepath.Join(dir, "b.ova")}); err != nil {
			b.Fatal(err)
		}
	}
}
