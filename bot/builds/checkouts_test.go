package builds

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestSweepCheckoutsRemovesOnlyUnusedOnes (issue 11, Low: checkouts were
// never removed): a checkout unused past the retention goes, with an
// unfinished one just as old; one used recently (Checkout touches it on
// reuse), and one whose lock is held (being fetched or used), stay.
func TestSweepCheckoutsRemovesOnlyUnusedOnes(t *testing.T) {
	dir := t.TempDir()
	g := &GitFetcher{dir: dir, log: zerolog.Nop()}
	now := time.Now()
	old := now.Add(-100 * time.Hour)
	mk := func(repo, name string, complete bool, at time.Time) string {
		d := filepath.Join(dir, "src", repo, name)
		if err := os.MkdirAll(filepath.Join(d, "images"), 0o750); err != nil {
			t.Fatal(err)
		}
		if complete {
			if err := os.WriteFile(filepath.Join(d, completeMark), nil, 0o640); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(filepath.Join(d, completeMark), at, at)
		}
		os.Chtimes(d, at, at)
		return d
	}
	stale := mk("gitlab-infra_images", "aaaaaaaa", true, old)
	partial := mk("gitlab-infra_images", "bbbbbbbb", false, old)
	branch := mk("gitlab-infra_images", "branch-main", true, old)
	reused := mk("gitlab-infra_images", "cccccccc", true, old)
	busy := mk("github-acme_images", "dddddddd", true, old)
	fresh := mk("github-acme_images", "eeeeeeee", true, now.Add(-time.Hour))

	// A job reuses one old checkout: Checkout finds it complete and touches it.
	if got, err := g.Checkout(t.Context(), "gitlab-infra/images", "unused", "cccccccc", "", ""); err != nil || got != reused {
		t.Fatalf("reuse: %q, %v", got, err)
	}
	unlock := g.locks.lock(busy)
	removed, err := g.SweepCheckouts(now, 72*time.Hour)
	unlock()
	if err != nil {
		t.Fatal(err)
	}
	// Nothing is held any more: no lock is kept for a directory.
	if n := g.locks.held(); n != 0 {
		t.Errorf("%d directory locks kept after every holder released", n)
	}
	slices.Sort(removed)
	want := []string{stale, partial, branch}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, d := range []string{reused, busy, fresh} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
	for _, d := range want {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s is still there", d)
		}
	}
}
