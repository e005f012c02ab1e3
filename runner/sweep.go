package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ownerFile, in each build's working directory, names the process running
// the build, so a later runner can tell a crashed build's leftovers from a
// live build of another runner sharing the work directory.
const ownerFile = ".owner.json"

type owner struct {
	PID   int    `json:"pid"`
	Start string `json:"start"`  // the process's start time in /proc/<pid>/stat: tells a reused pid
	Tmp   string `json:"tmp"`    // the build's packer TMPDIR
	Host  string `json:"host"`   // a pid means something only on its host,
	Boot  string `json:"boot"`   // since its boot (/proc/sys/kernel/random/boot_id)
	PIDNS string `json:"pid_ns"` // and in its PID namespace (a container has its own)
}

// thisProcess describes the running process as an owner.
func thisProcess(tmp string) owner {
	pid := os.Getpid()
	host, _ := os.Hostname()
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	ns, _ := os.Readlink("/proc/self/ns/pid")
	return owner{PID: pid, Start: procStart(pid), Tmp: tmp, Host: host, Boot: strings.TrimSpace(string(boot)), PIDNS: ns}
}

// writeOwner records this process as the owner of the build's directories.
func writeOwner(work, tmp string) error {
	data, _ := json.Marshal(thisProcess(tmp))
	return os.WriteFile(filepath.Join(work, ownerFile), data, 0o644)
}

// procStart is field 22 (starttime) of /proc/<pid>/stat, "" when the process
// does not exist or /proc cannot be read.
func procStart(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return ""
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
}

// gone reports whether the recorded owner has certainly ended, as seen from
// here. An owner on another host or in another PID namespace (a runner in
// another container sharing WorkDir) cannot be checked: it is not gone.
func (o owner) gone(here owner) bool {
	switch {
	case o.Host != here.Host || o.PID <= 0:
		return false
	case o.Boot != here.Boot:
		return true // the host has rebooted since
	case o.PIDNS != here.PIDNS:
		return false
	}
	// A pid reused by another process has another start time.
	start := procStart(o.PID)
	return start == "" || (o.Start != "" && o.Start != start)
}

// SweepStale removes working directories below WorkDir (and their packer
// temporary directories) left by builds whose runner process is gone: killed
// or crashed mid-build. Directories of live builds, of this runner or of
// another sharing WorkDir, stay, and so do directories without an owner
// record. New calls it; it returns what it removed.
func (r *Runner) SweepStale(ctx context.Context) ([]string, error) {
	if procStart(os.Getpid()) == "" {
		return nil, errors.New("sweep: /proc is not readable; cannot tell live builds, nothing removed")
	}
	entries, err := os.ReadDir(r.cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("sweep %s: %w", r.cfg.WorkDir, err)
	}
	here := thisProcess("")
	var removed []string
	for _, e := range entries {
		if ctx.Err() != nil {
			return removed, context.Cause(ctx)
		}
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(r.cfg.WorkDir, e.Name())
		tmp, stale := staleWorkDir(dir, here)
		if !stale {
			continue
		}
		for _, d := range []string{dir, tmp} {
			if d == "" {
				continue
			}
			if err := os.RemoveAll(d); err != nil {
				r.cfg.Log.Warn().Err(err).Str("dir", d).Msg("sweep: remove stale build directory")
				continue
			}
			removed = append(removed, d)
		}
	}
	if len(removed) > 0 {
		r.cfg.Log.Info().Strs("removed", removed).Msg("swept directories of builds whose runner is gone")
	}
	return removed, nil
}

// staleWorkDir says whether dir belongs to no live build, and names its
// packer temporary directory when that is one of ours.
func staleWorkDir(dir string, here owner) (tmp string, stale bool) {
	// Without a record the directory may not be a build's at all (work_dir
	// set to a directory shared with something else): it stays.
	data, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return "", false
	}
	var o owner
	if json.Unmarshal(data, &o) != nil || !o.gone(here) {
		return "", false
	}
	if strings.HasPrefix(filepath.Base(o.Tmp), "imagebot-") && filepath.IsAbs(o.Tmp) {
		tmp = o.Tmp
	}
	return tmp, true
}
