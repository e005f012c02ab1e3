package diskfs

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
)

func TestParseEntry(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Entry
	}{
		{"/2/040755/0/0/.//", Entry{Name: ".", Mode: 0o40755}},
		{"/12/120777/0/0/bin/7/", Entry{Name: "bin", Mode: 0o120777, Size: 7}},
		{"/131/100600/0/42/shadow/1024/", Entry{Name: "shadow", Mode: 0o100600, GID: 42, Size: 1024}},
	} {
		got, err := parseEntry(tc.line)
		if err != nil || got != tc.want {
			t.Errorf("parseEntry(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
	if _, err := parseEntry("/2/0x/0/0/a/1/"); err == nil {
		t.Error("a bad mode parsed")
	}
}

// TestOpenReadsPartitionedDisk makes a real partitioned qcow2 the way the
// Debian chain does (sfdisk, then mkfs.ext4 -d at the partition's offset),
// without mounting anything, and reads it back.
func TestOpenReadsPartitionedDisk(t *testing.T) {
	qemuImg, sfdisk, mkfs := testenv.Tool(t, "qemu-img"), testenv.Tool(t, "sfdisk"), testenv.Tool(t, "mkfs.ext4")
	tools := Tools{QemuImg: qemuImg, Sfdisk: sfdisk, Debugfs: testenv.Tool(t, "debugfs")}
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	for p, s := range map[string]string{"etc/os-release": "ID=debian\n", "usr/lib/x": "", "etc/ssh/sshd_config": "Port 22\n"} {
		os.MkdirAll(filepath.Join(tree, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(tree, p), []byte(s), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(tree, "usr/share"), 0o755)
	os.WriteFile(filepath.Join(tree, "usr/share/os-release"), []byte("ID=linked\n"), 0o644)
	if err := os.Symlink("../usr/share/os-release", filepath.Join(tree, "etc/linked")); err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(dir, "disk.raw")
	run := func(stdin string, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	if err := os.WriteFile(raw, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(raw, 64<<20); err != nil {
		t.Fatal(err)
	}
	run("label: dos\nstart=2048, type=83\n", sfdisk, "-q", raw)
	run("", mkfs, "-q", "-F", "-E", "offset=1048576", "-d", tree, raw, "60M")
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
	if b, err := fs.ReadFile(ctx, "/etc/linked"); err != nil || string(b) != "ID=linked\n" {
		t.Errorf("through a relative symlink: %q, %v", b, err)
	}
	if _, err := fs.ReadFile(ctx, "/etc/missing"); !errors.Is(err, ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	es, err := fs.ReadDir(ctx, "/etc")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]Entry{}
	for _, e := range es {
		names[e.Name] = e
	}
	if e := names["os-release"]; !e.IsRegular() || e.Perm() != 0o640 || e.Size != 10 {
		t.Errorf("os-release entry %+v", e)
	}
	if !names["ssh"].IsDir() || !names["linked"].IsSymlink() {
		t.Errorf("entries %+v", names)
	}
	if _, err := Open(ctx, raw+"-missing", dir, tools); err == nil || !strings.Contains(err.Error(), "qemu-img convert") {
		t.Errorf("missing disk: %v", err)
	}
}
