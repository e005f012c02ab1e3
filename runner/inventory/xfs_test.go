package inventory

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"testing"

	"github.com/imagebot/imagebot/runner/diskfs"
	"github.com/imagebot/imagebot/runner/diskfs/diskfstest"
)

// TestReadRockyLikeXFSDisk: a real partitioned disk with an XFS root and an
// rpm SQLite database, as a RHEL 9 family image without LVM has, read
// offline end to end.
func TestReadRockyLikeXFSDisk(t *testing.T) {
	f, err := os.Open("testdata/rpmdb.sqlite.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	db, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	disk := diskfstest.MakeXFSDisk(t, dir, map[string][]byte{
		"etc/os-release": []byte("NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"\n"),
		"boot/vmlinuz-5.14.0-427.13.1.el9_4.x86_64": []byte("kernel"),
		"var/lib/rpm/rpmdb.sqlite":                  db,
	})
	ctx := context.Background()
	fs, err := diskfs.Open(ctx, disk, dir, diskfs.Tools{})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	inv, err := Read(ctx, fs)
	if err != nil {
		t.Fatal(err)
	}
	if inv.OS.ID != "rocky" || inv.OS.Version != "9.4" || inv.Kernel != "5.14.0-427.13.1.el9_4.x86_64" || inv.PackageManager != "rpm" {
		t.Errorf("inventory %+v", inv)
	}
	if len(inv.Packages) != 2 || inv.Packages[0].Name != "imagebot-data" || inv.Packages[1].Version != "2:1.2.3-4.el9" {
		t.Errorf("packages %+v", inv.Packages)
	}
}
