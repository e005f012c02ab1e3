package diskfs

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
)

// testdata/lvm-pv-head.gz is the first MiB (label and metadata area) of a
// real LVM2 physical volume made by lvm 2.03.16 on a loop device:
// `pvcreate`, `vgcreate imagebotfx`, `lvcreate -L 8M -n swap`, `lvcreate -L
// 40M -n root` (extents of 4 MiB: root is extents 2-11, 8 MiB after
// pe_start at 1 MiB), then `vgexport`. Nothing else of the disk is kept.
func lvmHead(t *testing.T) []byte {
	t.Helper()
	f, err := os.Open("testdata/lvm-pv-head.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLVMLinearVolumes(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "pv.raw")
	if err := os.WriteFile(raw, lvmHead(t), 0o644); err != nil {
		t.Fatal(err)
	}
	vols, skipped, ok, err := lvmVolumes(raw, partition{})
	if err != nil || !ok || len(skipped) != 0 {
		t.Fatalf("ok %v, skipped %v, err %v", ok, skipped, err)
	}
	want := map[partition]bool{{start: 1 << 20, size: 8 << 20}: true, {start: 9 << 20, size: 40 << 20}: true}
	if len(vols) != 2 || !want[vols[0]] || !want[vols[1]] {
		t.Errorf("volumes %+v", vols)
	}
	// Not a PV: no label.
	os.WriteFile(raw, make([]byte, 4096), 0o644)
	if _, _, ok, err := lvmVolumes(raw, partition{}); ok || err != nil {
		t.Errorf("zeros: ok %v, err %v", ok, err)
	}
}

// TestOpenReadsExtOnLVM: a partitioned disk whose partition is the LVM
// physical volume above, with an ext4 root in its "root" volume, as a
// Debian or RHEL install with LVM lays it out.
func TestOpenReadsExtOnLVM(t *testing.T) {
	qemuImg, sfdisk, mkfs := testenv.Tool(t, "qemu-img"), testenv.Tool(t, "sfdisk"), testenv.Tool(t, "mkfs.ext4")
	tools := Tools{QemuImg: qemuImg, Sfdisk: sfdisk, Debugfs: testenv.Tool(t, "debugfs"), E2fsck: testenv.Tool(t, "e2fsck")}
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	os.MkdirAll(filepath.Join(tree, "etc"), 0o755)
	os.WriteFile(filepath.Join(tree, "etc/os-release"), []byte("ID=debian\n"), 0o644)
	raw := filepath.Join(dir, "disk.raw")
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(66 << 20)
	f.WriteAt(lvmHead(t), 1<<20) // the PV is partition 1, at 1 MiB
	f.Close()
	run := func(stdin, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("label: dos\nstart=2048, size=131072, type=8e\n", sfdisk, "-q", "--no-tell-kernel", "--wipe", "never", raw)
	run("", mkfs, "-q", "-F", "-E", "offset="+strconv.Itoa((1+1+8)<<20), "-d", tree, raw, "40M")
	disk := filepath.Join(dir, "disk.qcow2")
	run("", qemuImg, "convert", "-O", "qcow2", raw, disk)
	ctx := context.Background()
	fs, err := Open(ctx, disk, dir, tools)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if b, err := fs.ReadFile(ctx, "/etc/os-release"); err != nil || string(b) != "ID=debian\n" {
		t.Errorf("os-release = %q, %v", b, err)
	}
	if _, _, err := fs.Discard(ctx); err != nil {
		t.Errorf("discard in a logical volume: %v", err)
	}
}

func TestLVMTextSkipsWhatIsNotOneRange(t *testing.T) {
	text := `# comment
contents = "Text Format Volume Group"
vg0 {
	extent_size = 8192
	physical_volumes { pv0 { pe_start = 2048 } }
	logical_volumes {
		root { segment_count = 1
			segment1 { start_extent = 0 extent_count = 10 type = "striped" stripe_count = 1 stripes = ["pv0", 5] } }
		grown { segment_count = 2
			segment1 { start_extent = 0 extent_count = 1 type = "striped" stripe_count = 1 stripes = ["pv0", 0] }
			segment2 { start_extent = 1 extent_count = 1 type = "striped" stripe_count = 1 stripes = ["pv0", 20] } }
		pool { segment_count = 1 segment1 { type = "thin-pool" } }
	}
}`
	vols, skipped, err := lvmLinearVolumes([]byte(text), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 1 || vols[0] != (partition{start: 1<<20 + (2048+5*8192)*512, size: 10 * 8192 * 512}) {
		t.Errorf("volumes %+v", vols)
	}
	if len(skipped) != 2 {
		t.Errorf("skipped %v", skipped)
	}
	for _, bad := range []string{"vg {", "vg { a = }", "vg { a = [1, }", `vg { a = "x }`, "}", "a = zz", strings.Repeat("a {", 40)} {
		if _, err := parseLVMText(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
