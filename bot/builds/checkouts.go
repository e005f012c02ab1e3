package builds

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// completeMark marks a checkout as whole; its modification time is when a
// job last used the checkout (Checkout touches it), which is what the
// retention sweep goes by.
const completeMark = ".imagebot-complete"

// SweepCheckouts removes checkouts (of a commit or a branch) under the
// fetcher's src/ that no job has used for olderThan, and returns them. A
// checkout being fetched or used right now (its lock held) is spared;
// a build job calls Checkout when it starts, so with olderThan above the
// longest build a running build's checkout is never removed, and a build
// queued for longer simply fetches its commit again.
func (g *GitFetcher) SweepCheckouts(now time.Time, olderThan time.Duration) ([]string, error) {
	dirs, err := filepath.Glob(filepath.Join(g.dir, "src", "*", "*"))
	if err != nil {
		return nil, fmt.Errorf("sweep checkouts: %w", err)
	}
	cutoff := now.Add(-olderThan)
	var removed []string
	for _, dir := range dirs {
		unlock, ok := g.locks.tryLock(dir)
		if !ok {
			continue
		}
		used, err := lastUse(dir)
		if err == nil && used.Before(cutoff) {
			if err := os.RemoveAll(dir); err != nil {
				unlock()
				return removed, fmt.Errorf("sweep checkouts: %w", err)
			}
			removed = append(removed, dir)
		}
		unlock()
	}
	// Repositories left without checkouts go too.
	repos, _ := filepath.Glob(filepath.Join(g.dir, "src", "*"))
	for _, r := range repos {
		os.Remove(r) // only when empty
	}
	return removed, nil
}

// lastUse is the mark's time, or the directory's for a checkout never
// completed (a fetch that crashed).
func lastUse(dir string) (time.Time, error) {
	if fi, err := os.Stat(filepath.Join(dir, completeMark)); err == nil {
		return fi.ModTime(), nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}
