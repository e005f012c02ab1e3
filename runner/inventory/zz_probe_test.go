package inventory

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/diskfs"
	"github.com/imagebot/imagebot/runner/hygiene"
)

func TestProbeDisk(t *testing.T) {
	disk := os.Getenv("PROBE_DISK")
	ctx := context.Background()
	t0 := time.Now()
	fs, err := diskfs.Open(ctx, disk, "/tmp/inspect-build/probe", diskfs.Tools{})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	t1 := time.Now()
	inv, err := Read(ctx, fs)
	if err != nil {
		t.Fatal(err)
	}
	t2 := time.Now()
	f, err := hygiene.Check(ctx, fs, hygiene.Options{Secrets: []string{"debian-build-pw"}})
	t.Logf("open %s read %s hygiene %s: %+v kernel %s kernels %v pm %s n=%d err=%v findings=%+v", t1.Sub(t0), t2.Sub(t1), time.Since(t2), inv.OS, inv.Kernel, inv.Kernels, inv.PackageManager, len(inv.Packages), err, f)
	data, _ := Marshal(inv)
	os.WriteFile("/tmp/inspect-build/probe/inv.json", data, 0o644)
}
