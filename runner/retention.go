package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// sweepEvery is how often Build starts a retention sweep.
const sweepEvery = time.Hour

// SweepOld removes what builds left that is older than Retention: working
// directories below WorkDir (those with an owner record, not in use by a
// build of this runner) and build outputs below OutRoot. Retention is longer
// than MaxTimeout (New checks it), so no running build's directory is that
// old. It returns what it removed.
func (r *Runner) SweepOld(ctx context.Context, now time.Time) ([]string, error) {
	var removed []string
	cut := now.Add(-r.cfg.Retention)
	sweep := func(root string, isBuild func(dir string) (extra string, ok bool)) error {
		entries, err := os.ReadDir(root)
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return fmt.Errorf("sweep %s: %w", root, err)
		}
		for _, e := range entries {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			dir := filepath.Join(root, e.Name())
			if !e.IsDir() || r.isRunning(e.Name()) || newestMod(dir).After(cut) {
				continue
			}
			extra, ok := isBuild(dir)
			if !ok {
				continue
			}
			for _, d := range []string{dir, extra} {
				if d == "" {
					continue
				}
				if err := os.RemoveAll(d); err != nil {
					r.cfg.Log.Warn().Err(err).Str("dir", d).Msg("retention sweep")
					continue
				}
				removed = append(removed, d)
			}
		}
		return nil
	}
	err := sweep(r.cfg.WorkDir, func(dir string) (string, bool) {
		// Without an owner record the directory may not be a build's.
		if _, err := os.Stat(filepath.Join(dir, ownerFile)); err != nil {
			return "", false
		}
		tmp, _ := staleWorkDir(dir, thisProcess(""))
		return tmp, true
	})
	if err == nil && r.cfg.OutRoot != "" {
		err = sweep(r.cfg.OutRoot, func(string) (string, bool) { return "", true })
	}
	if len(removed) > 0 {
		r.cfg.Log.Info().Strs("removed", removed).Dur("retention", r.cfg.Retention).Msg("swept build directories past retention")
	}
	return removed, err
}

// newestMod is the latest modification time of dir and its direct entries
// (a log being written changes the file, not the directory).
func newestMod(dir string) time.Time {
	var t time.Time
	if fi, err := os.Stat(dir); err == nil {
		t = fi.ModTime()
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}

// maybeSweepOld runs SweepOld at most once per sweepEvery, in the background.
func (r *Runner) maybeSweepOld() {
	r.mu.Lock()
	due := time.Since(r.lastSweep) >= sweepEvery
	if due {
		r.lastSweep = time.Now()
	}
	r.mu.Unlock()
	if !due {
		return
	}
	go func() {
		if _, err := r.SweepOld(context.Background(), time.Now()); err != nil {
			r.cfg.Log.Warn().Err(err).Msg("retention sweep")
		}
	}()
}

func (r *Runner) setRunning(id string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if on {
		r.running[id] = true
	} else {
		delete(r.running, id)
	}
}

func (r *Runner) isRunning(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running[name]
}
