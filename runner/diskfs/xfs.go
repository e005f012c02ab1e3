package diskfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// XFS root filesystems (the RHEL family's default) are read with xfsprogs'
// xfs_db in read-only mode: `ls` lists a directory, `inode N` + `print`
// describes an entry, `path P` + `bmap` gives a file's extents, whose blocks
// are then read from the filesystem image directly. xfs_db cannot start at
// an offset, so a partitioned disk's XFS partition is first copied into its
// own sparse file (qemu-img's raw driver with offset and size).

// maxXFSFile bounds a file read from an XFS image (they come from the
// image: an rpm database is tens of MB).
const maxXFSFile = 512 << 20

// xfsMagic reports whether the filesystem at off of raw is XFS.
func xfsMagic(raw string, off int64) bool {
	f, err := os.Open(raw)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 4)
	if _, err := f.ReadAt(b, off); err != nil {
		return false
	}
	return string(b) == "XFSB"
}

// openXFS prepares f to read the XFS filesystem of partition p of raw.
func openXFS(ctx context.Context, f *FS, p partition) error {
	f.xfs = f.raw
	if p.start > 0 || p.size > 0 {
		f.xfs = f.raw + fmt.Sprintf(".part-%d", p.start)
		opts := fmt.Sprintf("driver=raw,offset=%d,size=%d,file.driver=file,file.filename=%s", p.start, p.size, f.raw)
		if strings.ContainsAny(f.raw, ",=") { // qemu option syntax; the runner's work paths have neither
			return fmt.Errorf("work path %q: commas and equal signs are not supported", f.raw)
		}
		if out, err := exec.CommandContext(ctx, f.tools.QemuImg, "convert", "--image-opts", opts, "-O", "raw", f.xfs).CombinedOutput(); err != nil {
			os.Remove(f.xfs)
			return fmt.Errorf("copy the XFS partition at %d: %v: %s", p.start, err, bytes.TrimSpace(out))
		}
	}
	out, err := f.xfsDB(ctx, "sb 0", "print blocksize agblocks")
	if err != nil {
		return err
	}
	v := xfsFields(out)
	f.xfsBlock, _ = strconv.ParseInt(v["blocksize"], 10, 64)
	f.xfsAGBlocks, _ = strconv.ParseInt(v["agblocks"], 10, 64)
	if f.xfsBlock <= 0 || f.xfsAGBlocks <= 0 {
		return fmt.Errorf("XFS superblock: blocksize %q, agblocks %q", v["blocksize"], v["agblocks"])
	}
	return nil
}

// xfsDB runs xfs_db read-only with the given commands.
func (f *FS) xfsDB(ctx context.Context, cmds ...string) ([]byte, error) {
	args := []string{"-r"}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	args = append(args, f.xfs)
	cmd := exec.CommandContext(ctx, f.tools.XFSDB, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	msg := strings.TrimSpace(stdout.String() + " " + stderr.String())
	if strings.Contains(msg, "No such file or directory") {
		return nil, ErrNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("xfs_db %s: %v: %s", strings.Join(cmds, "; "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// xfsPath refuses paths xfs_db's command line would split.
func xfsPath(p string) (string, error) {
	if strings.ContainsAny(p, " \t\n\"'\\;") {
		return "", fmt.Errorf("path %q: whitespace, quotes and ';' are not supported on XFS", p)
	}
	return p, nil
}

// xfsFields parses "name = value" lines.
func xfsFields(out []byte) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, " = "); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// xfsLsRE matches one line of xfs_db's ls: offset, inode, type, hash,
// name length, name (which may hold spaces), then "(good)" or a complaint.
var xfsLsRE = regexp.MustCompile(`^\s*\d+\s+(\d+)\s+\S+\s+0x[0-9a-f]+\s+(\d+)\s(.*)$`)

func (f *FS) xfsList(ctx context.Context, p string) ([]Entry, error) {
	q, err := xfsPath(p)
	if err != nil {
		return nil, err
	}
	out, err := f.xfsDB(ctx, "ls "+q)
	if err != nil {
		return nil, err
	}
	var names []string
	var inodes []string
	for _, l := range strings.Split(string(out), "\n") {
		m := xfsLsRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		if n > len(m[3]) {
			return nil, fmt.Errorf("list %s: unexpected xfs_db line %q", p, l)
		}
		name := m[3][:n]
		if name == "." || name == ".." {
			continue
		}
		names, inodes = append(names, name), append(inodes, m[1])
	}
	if len(names) == 0 {
		return nil, nil
	}
	var cmds []string
	for _, ino := range inodes {
		cmds = append(cmds, "inode "+ino, "print core.mode core.uid core.gid core.size")
	}
	out, err = f.xfsDB(ctx, cmds...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p, err)
	}
	blocks := strings.Split(string(out), "core.mode = ")[1:]
	if len(blocks) != len(names) {
		return nil, fmt.Errorf("list %s: xfs_db described %d of %d entries", p, len(blocks), len(names))
	}
	entries := make([]Entry, len(names))
	for i, b := range blocks {
		v := xfsFields([]byte("core.mode = " + b))
		mode, err := strconv.ParseUint(v["core.mode"], 8, 32)
		if err != nil {
			return nil, fmt.Errorf("list %s: mode of %s: %w", p, names[i], err)
		}
		uid, _ := strconv.Atoi(v["core.uid"])
		gid, _ := strconv.Atoi(v["core.gid"])
		size, _ := strconv.ParseInt(v["core.size"], 10, 64)
		entries[i] = Entry{Name: names[i], Mode: uint32(mode), UID: uid, GID: gid, Size: size}
	}
	return entries, nil
}

// xfsExtentRE matches a bmap line: "data offset 0 startblock 24 (0/24) count 74 flag 0".
var xfsExtentRE = regexp.MustCompile(`^data offset (\d+) startblock \d+ \((\d+)/(\d+)\) count (\d+) flag (\d)`)

// xfsCat reads a regular file (no symlink following: callers resolve first).
func (f *FS) xfsCat(ctx context.Context, p string) ([]byte, error) {
	q, err := xfsPath(p)
	if err != nil {
		return nil, err
	}
	out, err := f.xfsDB(ctx, "path "+q, "print core.size core.mode", "bmap")
	if err != nil {
		return nil, err
	}
	v := xfsFields(out)
	size, err := strconv.ParseInt(v["core.size"], 10, 64)
	if err != nil || size < 0 || size > maxXFSFile {
		return nil, fmt.Errorf("read %s: size %q (at most %d bytes are read)", p, v["core.size"], maxXFSFile)
	}
	if mode, _ := strconv.ParseUint(v["core.mode"], 8, 32); mode&0o170000 != 0o100000 {
		return nil, fmt.Errorf("read %s: not a regular file (mode %s)", p, v["core.mode"])
	}
	img, err := os.Open(f.xfs)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	data := make([]byte, size) // holes and unwritten extents read as zeros
	bs := f.xfsBlock
	for _, l := range strings.Split(string(out), "\n") {
		m := xfsExtentRE.FindStringSubmatch(l)
		if m == nil || m[5] != "0" { // flag 1: unwritten (preallocated), reads as zeros
			continue
		}
		n := make([]int64, 4)
		for i := range n {
			n[i], _ = strconv.ParseInt(m[i+1], 10, 64)
		}
		fileOff, src, length := n[0]*bs, (n[1]*f.xfsAGBlocks+n[2])*bs, n[3]*bs
		if fileOff >= size {
			continue
		}
		length = min(length, size-fileOff)
		if _, err := img.ReadAt(data[fileOff:fileOff+length], src); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s: extent at block %d: %w", p, n[1]*f.xfsAGBlocks+n[2], err)
		}
	}
	return data, nil
}

// xfsReadlink returns a symlink's target kept in its inode (targets up to
// about 60 bytes, all the links imagebot follows); longer ones are refused.
func (f *FS) xfsReadlink(ctx context.Context, p string) (string, error) {
	q, err := xfsPath(p)
	if err != nil {
		return "", err
	}
	out, err := f.xfsDB(ctx, "path "+q, "print u3.symlink")
	if err != nil {
		return "", err
	}
	t, ok := xfsFields(out)["u3.symlink"]
	if !ok || len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' {
		return "", fmt.Errorf("symlink %s: its target is not kept in the inode (long targets are not read on XFS)", path.Clean(p))
	}
	return t[1 : len(t)-1], nil
}
