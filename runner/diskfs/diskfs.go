// Package diskfs reads files from a built disk image without booting it and
// without mounting anything: qemu-img converts the disk to a sparse raw file,
// sfdisk finds its partitions, and e2fsprogs' debugfs reads the ext2/3/4
// root filesystem at the partition's offset, or xfsprogs' xfs_db an XFS one
// (xfs.go). No code from the guest runs.
// It also discards the root filesystem's free space in that raw copy
// (e2fsck -E discard), the runner's sparsify step before the artifacts are
// made from it.
//
// It is the offline reader behind runner/inventory and the hygiene checks.
// Partitions and whole disks that are LVM physical volumes are looked into
// (lvm.go): each linear logical volume is read like a partition. Other
// filesystems are refused with a clear error.
package diskfs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNotExist is returned for a path that is not in the filesystem.
var ErrNotExist = errors.New("no such file in the image")

// Tools names the programs diskfs runs; empty fields mean the name on PATH.
type Tools struct {
	QemuImg, Sfdisk, Debugfs, E2fsck, XFSDB string
}

func (t Tools) withDefaults() Tools {
	if t.QemuImg == "" {
		t.QemuImg = "qemu-img"
	}
	if t.Sfdisk == "" {
		t.Sfdisk = "sfdisk"
	}
	if t.Debugfs == "" {
		t.Debugfs = "debugfs"
	}
	if t.E2fsck == "" {
		t.E2fsck = "e2fsck"
	}
	if t.XFSDB == "" {
		t.XFSDB = "xfs_db"
	}
	return t
}

// FS is the root filesystem of one disk, opened read-only.
type FS struct {
	tools  Tools
	raw    string // the sparse raw copy
	offset int64  // byte offset of the root filesystem in raw
	// xfs is the XFS filesystem image xfs_db reads (raw itself, or a copy
	// of the partition); "" for an ext filesystem.
	xfs                   string
	xfsBlock, xfsAGBlocks int64
}

// Open converts disk (any format qemu-img reads) into a sparse raw file in
// workDir and finds the partition or LVM logical volume holding the root
// filesystem: the first ext2/3/4 or XFS filesystem with /etc. Close removes
// the raw file.
func Open(ctx context.Context, disk, workDir string, tools Tools) (*FS, error) {
	tools = tools.withDefaults()
	raw := filepath.Join(workDir, "inspect-"+filepath.Base(disk)+".raw")
	if out, err := exec.CommandContext(ctx, tools.QemuImg, "convert", "-O", "raw", disk, raw).CombinedOutput(); err != nil {
		os.Remove(raw)
		return nil, fmt.Errorf("read %s offline: qemu-img convert to raw: %v: %s", disk, err, bytes.TrimSpace(out))
	}
	parts, err := partitions(ctx, tools.Sfdisk, raw)
	if err != nil {
		os.Remove(raw)
		return nil, fmt.Errorf("read %s offline: %w", disk, err)
	}
	var tried []string
	var candidates []partition
	for _, p := range parts {
		vols, skipped, isPV, err := lvmVolumes(raw, p)
		switch {
		case err != nil:
			tried = append(tried, err.Error())
		case isPV:
			candidates = append(candidates, vols...)
			for _, s := range skipped {
				tried = append(tried, "LVM volume "+s)
			}
		default:
			candidates = append(candidates, p)
		}
	}
	for _, p := range candidates {
		fs := &FS{tools: tools, raw: raw, offset: p.start}
		kind := "ext"
		if xfsMagic(raw, p.start) {
			kind = "xfs"
			if err := openXFS(ctx, fs, p); err != nil {
				fs.Close()
				return nil, fmt.Errorf("read %s offline: %w", disk, err)
			}
		}
		if fi, err := fs.Stat(ctx, "/etc"); err == nil && fi.IsDir() {
			return fs, nil
		}
		tried = append(tried, fmt.Sprintf("%d (%s)", p.start, kind))
		if fs.xfs != "" && fs.xfs != raw {
			os.Remove(fs.xfs)
		}
	}
	os.Remove(raw)
	return nil, fmt.Errorf("read %s offline: no ext2/3/4 or XFS root filesystem with /etc found (tried %s)", disk, strings.Join(tried, "; "))
}

// Close removes the raw copy (and an XFS partition's copy).
func (f *FS) Close() error {
	if f.xfs != "" && f.xfs != f.raw {
		os.Remove(f.xfs)
	}
	return os.Remove(f.raw)
}

// partition is one partition's byte range; size 0 means "to the end".
type partition struct{ start, size int64 }

// partitions returns the disk's partitions, or one at 0 for a disk without
// a partition table (a filesystem written to the whole disk).
func partitions(ctx context.Context, sfdisk, raw string) ([]partition, error) {
	out, err := exec.CommandContext(ctx, sfdisk, "--json", raw).Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return []partition{{}}, nil // no partition table
	}
	var pt struct {
		PartitionTable struct {
			SectorSize int64 `json:"sectorsize"`
			Partitions []struct {
				Start int64 `json:"start"`
				Size  int64 `json:"size"`
			} `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal(out, &pt); err != nil {
		return nil, fmt.Errorf("sfdisk --json: %w", err)
	}
	ss := pt.PartitionTable.SectorSize
	if ss == 0 {
		ss = 512
	}
	var parts []partition
	for _, p := range pt.PartitionTable.Partitions {
		parts = append(parts, partition{start: p.Start * ss, size: p.Size * ss})
	}
	if len(parts) == 0 {
		parts = []partition{{}}
	}
	return parts, nil
}

// debugfs runs one read-only debugfs request and returns its standard output.
// debugfs reports a missing file on stderr with exit status 0, so stderr is
// checked too.
func (f *FS) debugfs(ctx context.Context, request string) ([]byte, error) {
	spec := f.raw
	if f.offset > 0 {
		spec += "?offset=" + strconv.FormatInt(f.offset, 10)
	}
	cmd := exec.CommandContext(ctx, f.tools.Debugfs, "-R", request, spec)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	msg := cleanStderr(stderr.String())
	switch {
	case strings.Contains(msg, "File not found") || strings.Contains(msg, "not found by ext2_lookup"):
		return nil, ErrNotExist
	case err != nil:
		return nil, fmt.Errorf("debugfs %q: %v: %s", request, err, msg)
	case strings.Contains(msg, "Bad magic number") || strings.Contains(msg, "Couldn't find valid filesystem"):
		return nil, fmt.Errorf("debugfs %q: not an ext filesystem: %s", request, msg)
	}
	return stdout.Bytes(), nil
}

// cleanStderr drops debugfs's version banner.
func cleanStderr(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "debugfs ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "; ")
}

// quote makes p one debugfs argument; paths with a double quote or a
// newline are refused (none of the paths imagebot reads has one).
func quote(p string) (string, error) {
	if strings.ContainsAny(p, "\"\n") {
		return "", fmt.Errorf("path %q: quotes and newlines are not supported", p)
	}
	return `"` + p + `"`, nil
}

// ReadFile returns the contents of the file at p, following symbolic links.
func (f *FS) ReadFile(ctx context.Context, p string) ([]byte, error) {
	real, err := f.Resolve(ctx, p)
	if err != nil {
		return nil, err
	}
	if f.xfs != "" {
		return f.xfsCat(ctx, real)
	}
	q, err := quote(real)
	if err != nil {
		return nil, err
	}
	return f.debugfs(ctx, "cat "+q)
}

// Resolve follows symbolic links in the last element of p (up to 8 hops),
// relative to the image's root, never the host's.
func (f *FS) Resolve(ctx context.Context, p string) (string, error) {
	p = path.Clean("/" + p)
	for i := 0; i < 8; i++ {
		fi, err := f.Stat(ctx, p)
		if err != nil {
			return "", err
		}
		if !fi.IsSymlink() {
			return p, nil
		}
		target, err := f.readlink(ctx, p)
		if err != nil {
			return "", err
		}
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = path.Clean(target)
	}
	return "", fmt.Errorf("%s: too many symbolic links", p)
}

func (f *FS) readlink(ctx context.Context, p string) (string, error) {
	if f.xfs != "" {
		return f.xfsReadlink(ctx, p)
	}
	q, err := quote(p)
	if err != nil {
		return "", err
	}
	out, err := f.debugfs(ctx, "stat "+q)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "link dest: \""); i >= 0 { // "Fast link dest:" or "Link dest:"
			rest := l[i+len("link dest: \""):]
			return strings.TrimSuffix(strings.TrimSpace(rest), "\""), nil
		}
	}
	// A slow symlink keeps its target in a data block.
	out, err = f.debugfs(ctx, "cat "+q)
	if err != nil {
		return "", err
	}
	return string(bytes.TrimRight(out, "\x00\n")), nil
}
