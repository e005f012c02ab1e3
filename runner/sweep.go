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
	Start string `json:"start"` // the process's start time in /proc/<pid>/stat: tells a reused pid
	Tmp   string `json:"tmp"`   // the build's packer TMPDIR
}

// writeOwner records this process as the owner of the build's directories.
func writeOwner(work, tmp string) error {
	pid := os.Getpid()
	data, _ := json.Marshal(owner{PID: pid, Start: procStart(pid), Tmp: tmp})
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

// alive reports whether the recorded owner process still runs (the same
// process: a pid reused by another process has another start time).
func (o owner) alive() bool {
	if o.PID <= 0 {
		return false
	}
	start := procStart(o.PID)
	return start != "" && (o.Start == "" || o.Start == start)
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
	var removed []string
	for _, e := range entries {
		if ctx.Err() != nil {
			return removed, context.Cause(ctx)
		}
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(r.cfg.WorkDir, e.Name())
		tmp, stale := staleWorkDir(dir)
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
func staleWorkDir(dir string) (tmp string, stale bool) {
	// Without a record the directory may not be a build's at all (work_dir
	// set to a directory shared with something else): it stays.
	data, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return "", false
	}
	var o owner
	if json.Unmarshal(data, &o) != nil || o.alive() {
		return "", false
	}
	if strings.HasPrefix(filepath.Base(o.Tmp), "imagebot-") && filepath.IsAbs(o.Tmp) {
		tmp = o.Tmp
	}
	return tmp, true
}
