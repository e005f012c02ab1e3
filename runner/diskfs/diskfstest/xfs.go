// Package diskfstest makes small real disk images for tests of the offline
// reader and its users, without mounting anything.
package diskfstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
)

// MakeXFSDisk writes a real partitioned qcow2 whose only partition is an
// XFS filesystem populated without mounting anything (mkfs.xfs -p reads a
// prototype file), the layout of a CentOS 7 kickstart (part / --fstype=xfs).
// files maps paths (no leading /, no spaces) to contents; a content
// "->target" makes a symlink. Files get mode 0640, owner 0, group 4.
func MakeXFSDisk(t testing.TB, dir string, files map[string][]byte) string {
	t.Helper()
	mkfs, sfdisk, qemuImg := testenv.Tool(t, "mkfs.xfs"), testenv.Tool(t, "sfdisk"), testenv.Tool(t, "qemu-img")
	testenv.Tool(t, "xfs_db")
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	// proto: one line per entry, directories closed by "$".
	var proto strings.Builder
	proto.WriteString("/dummy\n0 0\nd--755 0 0\n")
	tree := map[string]map[string]bool{"": {}}
	for p := range files {
		parts := strings.Split(p, "/")
		for i := range parts[:len(parts)-1] {
			parent, d := strings.Join(parts[:i], "/"), strings.Join(parts[:i+1], "/")
			if tree[parent] == nil {
				tree[parent] = map[string]bool{}
			}
			tree[parent][d] = true
			if tree[d] == nil {
				tree[d] = map[string]bool{}
			}
		}
		parent := strings.Join(parts[:len(parts)-1], "/")
		if tree[parent] == nil {
			tree[parent] = map[string]bool{}
		}
		tree[parent][p] = false
	}
	var walk func(d string)
	walk = func(d string) {
		for p, isDir := range tree[d] {
			name := filepath.Base(p)
			switch {
			case isDir:
				proto.WriteString(name + " d--755 0 0\n")
				walk(p)
				proto.WriteString("$\n")
			case strings.HasPrefix(string(files[p]), "->"):
				proto.WriteString(name + " l--777 0 0 " + string(files[p][2:]) + "\n")
			default:
				f := filepath.Join(src, strings.ReplaceAll(p, "/", "_"))
				os.WriteFile(f, files[p], 0o644)
				proto.WriteString(name + " ---640 0 4 " + f + "\n")
			}
		}
	}
	walk("")
	proto.WriteString("$\n")
	protoFile := filepath.Join(dir, "proto")
	os.WriteFile(protoFile, []byte(proto.String()), 0o644)
	run := func(stdin, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	part, raw := filepath.Join(dir, "part.xfs"), filepath.Join(dir, "disk.raw")
	os.WriteFile(part, nil, 0o644)
	os.Truncate(part, 320<<20) // mkfs.xfs's minimum is 300 MiB; the file stays sparse
	run("", mkfs, "-q", "-p", protoFile, part)
	os.WriteFile(raw, nil, 0o644)
	os.Truncate(raw, 322<<20)
	run("label: dos\nstart=2048, type=83\n", sfdisk, "-q", raw)
	run("", "dd", "if="+part, "of="+raw, "bs=1M", "seek=1", "conv=sparse,notrunc", "status=none")
	disk := filepath.Join(dir, "disk.qcow2")
	run("", qemuImg, "convert", "-O", "qcow2", raw, disk)
	os.Remove(raw)
	os.Remove(part)
	return disk
}
