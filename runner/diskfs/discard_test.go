package diskfs

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
)

// TestDiscardDropsDeletedData makes a real partitioned disk whose filesystem
// held 8 MiB of random data that was then deleted (as a provisioner deletes
// a package cache): the blocks still hold the bytes, so a plain conversion
// copies them. Discard must punch them out of the raw copy and keep the
// live files readable.
func TestDiscardDropsDeletedData(t *testing.T) {
	qemuImg, sfdisk, mkfs := testenv.Tool(t, "qemu-img"), testenv.Tool(t, "sfdisk"), testenv.Tool(t, "mkfs.ext4")
	debugfs := testenv.Tool(t, "debugfs")
	tools := Tools{QemuImg: qemuImg, Sfdisk: sfdisk, Debugfs: debugfs, E2fsck: testenv.Tool(t, "e2fsck")}
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	os.MkdirAll(filepath.Join(tree, "etc"), 0o755)
	os.WriteFile(filepath.Join(tree, "etc/os-release"), []byte("ID=debian\n"), 0o644)
	junk := make([]byte, 8<<20)
	rand.Read(junk)
	os.WriteFile(filepath.Join(tree, "junk"), junk, 0o644)
	raw := filepath.Join(dir, "disk.raw")
	run := func(stdin string, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	os.WriteFile(raw, nil, 0o644)
	os.Truncate(raw, 64<<20)
	run("label: dos\nstart=2048, type=83\n", sfdisk, "-q", raw)
	run("", mkfs, "-q", "-F", "-E", "offset=1048576", "-d", tree, raw, "60M")
	run("", debugfs, "-w", "-R", "rm /junk", raw+"?offset=1048576")
	disk := filepath.Join(dir, "disk.qcow2")
	run("", qemuImg, "convert", "-O", "qcow2", raw, disk)

	ctx := context.Background()
	fs, err := Open(ctx, disk, dir, tools)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	before, after, err := fs.Discard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before-after < 7<<20 {
		t.Errorf("discard freed %d bytes (before %d, after %d), want the deleted 8 MiB", before-after, before, after)
	}
	if b, err := fs.ReadFile(ctx, "/etc/os-release"); err != nil || string(b) != "ID=debian\n" {
		t.Errorf("after discard os-release = %q, %v", b, err)
	}
	if _, err := fs.ReadFile(ctx, "/junk"); err == nil {
		t.Error("the deleted file came back")
	}
	t.Logf("allocated before %d KiB, after %d KiB", before>>10, after>>10)
}
