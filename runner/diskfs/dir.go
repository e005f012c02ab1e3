package diskfs

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Entry is one directory entry as debugfs lists it.
type Entry struct {
	Name string
	Mode uint32 // st_mode: file type bits and permissions
	UID  int
	GID  int
	Size int64
}

// IsDir reports whether the entry is a directory.
func (e Entry) IsDir() bool { return e.Mode&0o170000 == 0o040000 }

// IsSymlink reports whether the entry is a symbolic link.
func (e Entry) IsSymlink() bool { return e.Mode&0o170000 == 0o120000 }

// IsRegular reports whether the entry is a regular file.
func (e Entry) IsRegular() bool { return e.Mode&0o170000 == 0o100000 }

// Perm returns the permission bits (with setuid, setgid and sticky).
func (e Entry) Perm() fs.FileMode { return fs.FileMode(e.Mode & 0o7777) }

// ReadDir lists the directory at p (following a symlink to it), without "."
// and "..".
func (f *FS) ReadDir(ctx context.Context, p string) ([]Entry, error) {
	real, err := f.Resolve(ctx, p)
	if err != nil {
		return nil, err
	}
	return f.list(ctx, real)
}

func (f *FS) list(ctx context.Context, p string) ([]Entry, error) {
	if f.xfs != "" {
		return f.xfsList(ctx, p)
	}
	q, err := quote(p)
	if err != nil {
		return nil, err
	}
	out, err := f.debugfs(ctx, "ls -p "+q)
	if err != nil {
		return nil, err
	}
	var entries []Entry
	for _, line := range strings.Split(string(out), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		e, err := parseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", p, err)
		}
		if e.Name == "." || e.Name == ".." || e.Mode == 0 { // mode 0: a deleted entry
			continue
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// parseEntry parses one line of `ls -p`: /inode/mode/uid/gid/name/size/.
// A name cannot hold "/", so splitting is safe; directories have an empty size.
func parseEntry(line string) (Entry, error) {
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "/"), "/"), "/")
	if len(parts) != 6 {
		return Entry{}, fmt.Errorf("unexpected debugfs line %q", line)
	}
	mode, err := strconv.ParseUint(parts[1], 8, 32)
	if err != nil {
		return Entry{}, fmt.Errorf("mode in %q: %w", line, err)
	}
	uid, _ := strconv.Atoi(parts[2])
	gid, _ := strconv.Atoi(parts[3])
	size, _ := strconv.ParseInt(parts[5], 10, 64)
	return Entry{Name: parts[4], Mode: uint32(mode), UID: uid, GID: gid, Size: size}, nil
}

// Stat describes p without following a symlink in its last element.
func (f *FS) Stat(ctx context.Context, p string) (Entry, error) {
	p = path.Clean("/" + p)
	if p == "/" {
		return Entry{Name: "/", Mode: 0o040755}, nil
	}
	entries, err := f.list(ctx, path.Dir(p))
	if err != nil {
		return Entry{}, err
	}
	base := path.Base(p)
	for _, e := range entries {
		if e.Name == base {
			return e, nil
		}
	}
	return Entry{}, ErrNotExist
}
