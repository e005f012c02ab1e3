package runner

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// buildUser resolves Config.BuildUser ("name", "uid" or "uid:gid") to the
// credential builds run with; nil when builds run as imagebot's own user.
func buildUser(spec string) (*syscall.Credential, error) {
	if spec == "" {
		return nil, nil
	}
	uidS, gidS, hasGid := strings.Cut(spec, ":")
	var uid, gid uint64
	var err error
	if uid, err = strconv.ParseUint(uidS, 10, 32); err != nil {
		u, lerr := user.Lookup(spec)
		if lerr != nil {
			return nil, fmt.Errorf("runner: build_user %q: %w", spec, lerr)
		}
		uid, _ = strconv.ParseUint(u.Uid, 10, 32)
		gid, _ = strconv.ParseUint(u.Gid, 10, 32)
	} else if hasGid {
		if gid, err = strconv.ParseUint(gidS, 10, 32); err != nil {
			return nil, fmt.Errorf("runner: build_user %q: gid: %w", spec, err)
		}
	} else {
		gid = uid
	}
	if uid == 0 || gid == 0 {
		return nil, fmt.Errorf("runner: build_user %q is root: it must be an unprivileged user", spec)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("runner: build_user %q: imagebot must run as root to start builds as another user", spec)
	}
	// The kvm group only, for /dev/kvm: none of imagebot's own groups.
	groups := []uint32{}
	if g, err := user.LookupGroup("kvm"); err == nil {
		if id, err := strconv.ParseUint(g.Gid, 10, 32); err == nil {
			groups = append(groups, uint32(id))
		}
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}, nil
}

// makeBox makes the directories the build owns: HOME and, with a build
// user, a copy of the repository. The working directory itself (the owner
// record a sweep trusts, a base build's log) stays imagebot's; with a build
// user the build gets work/box, 0700 and its own, and TMPDIR.
func (b *run) makeBox() error {
	b.box = b.work
	if err := b.buildCred(); err != nil {
		return err
	}
	if b.cred != nil {
		b.box = filepath.Join(b.work, "box")
		if err := os.Chmod(b.work, 0o711); err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
	}
	b.home = filepath.Join(b.box, "home")
	if err := os.MkdirAll(b.home, 0o700); err != nil {
		return fmt.Errorf("home directory: %w", err)
	}
	if b.cred == nil {
		return nil
	}
	// The checkout lives in imagebot's data directory, which the build user
	// must not reach: the build gets a copy of its own.
	b.repoRoot = filepath.Join(b.box, "repo")
	if err := stageRepo(b.cat.Root, b.repoRoot); err != nil {
		return fmt.Errorf("copy the repository for the build user: %w", err)
	}
	b.imageDir = absJoin(b.repoRoot, b.img.Dir)
	if err := os.Chmod(b.box, 0o700); err != nil {
		return err
	}
	if err := reachable(filepath.Dir(b.tmp), b.cred); err != nil {
		return fmt.Errorf("the build user cannot reach TMPDIR %s: %w", b.tmp, err)
	}
	return b.giveToBuild(b.box, b.tmp)
}

// giveToBuild makes dirs (and everything below them) the build user's; no-op
// without one.
func (b *run) giveToBuild(dirs ...string) error {
	if b.cred == nil {
		return nil
	}
	for _, d := range dirs {
		if err := chownTree(d, b.cred); err != nil {
			return err
		}
	}
	return nil
}

func chownTree(dir string, c *syscall.Credential) error {
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(c.Uid), int(c.Gid))
	})
	if err != nil {
		return fmt.Errorf("give %s to the build user: %w", dir, err)
	}
	return nil
}

// stageRepo copies the repository checkout (without .git) into the build's
// own directory, so a build running as the build user reads its template
// and inputs there and never needs access to imagebot's data directory,
// where the checkout lives beside the database and artifacts.
func stageRepo(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "packer_cache") && rel != "." {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			return copyMode(target, p, info.Mode().Perm())
		}
		return nil // devices, FIFOs, sockets: the catalog refuses them anyway
	})
}

func copyMode(dst, src string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// packerCache is PACKER_CACHE_DIR: downloads Packer verifies by checksum.
func (r *Runner) packerCache() string { return filepath.Join(r.cfg.CacheDir, "packer") }

// prepareDirs sets the modes a build user needs: it may pass through
// WorkDir but not list it, and it owns Packer's download cache. The cache
// and working directories must be reachable by it: a clear error otherwise.
func (r *Runner) prepareDirs() error {
	if r.cred == nil {
		return nil
	}
	if err := os.Chmod(r.cfg.WorkDir, 0o711); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	pc := r.packerCache()
	if err := os.MkdirAll(pc, 0o700); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	if err := chownTree(pc, r.cred); err != nil { // downloads of earlier builds run as root
		return fmt.Errorf("runner: %w", err)
	}
	// With a uid per build, the builds share the cache through the group.
	if err := os.Chmod(pc, 0o2770); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	for _, d := range []string{r.cfg.WorkDir, r.cfg.CacheDir} {
		if err := reachable(d, r.cred); err != nil {
			return fmt.Errorf("runner: build_user %d cannot reach %s: %w (put work_dir and cache_dir outside imagebot's data directory, below directories others may pass through)", r.cred.Uid, d, err)
		}
	}
	// Packer is started as the build user: it must reach the binary.
	if err := reachable(filepath.Dir(r.cfg.Packer), r.cred); err != nil {
		return fmt.Errorf("runner: build_user %d cannot run packer %s: %w (install it where others may reach it, e.g. /usr/local/bin)", r.cred.Uid, r.cfg.Packer, err)
	}
	return nil
}

// reachable checks that every directory from / down to dir lets c pass.
func reachable(dir string, c *syscall.Credential) error {
	for p := dir; ; p = filepath.Dir(p) {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return err
		}
		mode := st.Mode & 0o777
		ok := mode&0o001 != 0 || (st.Uid == c.Uid && mode&0o100 != 0) || (st.Gid == c.Gid && mode&0o010 != 0)
		if !ok {
			return fmt.Errorf("%s is mode %04o, owner %d:%d", p, mode, st.Uid, st.Gid)
		}
		if p == "/" || p == "." {
			return nil
		}
	}
}

// takeBack makes a file the build user wrote imagebot's, read-only to
// others, before it enters the base cache other builds read.
func (r *Runner) takeBack(path string) error {
	if r.cred == nil {
		return nil
	}
	if err := os.Lchown(path, os.Getuid(), os.Getgid()); err != nil {
		return err
	}
	return os.Chmod(path, 0o644)
}

// regularFiles refuses artifact paths that are not regular files: a build
// may report a symlink to a host file (or a device) it cannot read itself,
// which imagebot would otherwise hash, cache and publish.
func regularFiles(paths []string) error {
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("artifact %s: %w", p, err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("artifact %s is not a regular file (%s): refused", p, fi.Mode().Type())
		}
	}
	return nil
}
