package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/catalog"
)

// TestSweepOldRemovesWhatIsPastRetention: working directories (with an owner
// record) and outputs older than Retention go; newer ones, a running build's
// and a directory without an owner record stay.
func TestSweepOldRemovesWhatIsPastRetention(t *testing.T) {
	base := t.TempDir()
	cfg := Config{Packer: "/bin/true", WorkDir: filepath.Join(base, "work"), CacheDir: filepath.Join(base, "cache"),
		OutRoot: filepath.Join(base, "out"), Retention: 72 * time.Hour, Log: zerolog.New(zerolog.NewTestWriter(t))}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-100 * time.Hour)
	mk := func(dir string, owned bool, at time.Time) string {
		if err := os.MkdirAll(filepath.Join(dir, "output"), 0o755); err != nil {
			t.Fatal(err)
		}
		if owned {
			if err := writeOwner(dir, ""); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []string{filepath.Join(dir, "output"), filepath.Join(dir, ownerFile), dir} {
			os.Chtimes(p, at, at)
		}
		return dir
	}
	tests := []struct {
		dir  string
		gone bool
	}{
		{mk(filepath.Join(cfg.WorkDir, "old-build"), true, old), true},
		{mk(filepath.Join(cfg.WorkDir, "new-build"), true, time.Now()), false},
		{mk(filepath.Join(cfg.WorkDir, "not-a-build"), false, old), false},
		{mk(filepath.Join(cfg.WorkDir, "running"), true, old), false},
		{mk(filepath.Join(cfg.OutRoot, "old-out"), false, old), true},
		{mk(filepath.Join(cfg.OutRoot, "new-out"), false, time.Now()), false},
		{mk(filepath.Join(cfg.OutRoot, "running"), false, old), false},
	}
	r.setRunning("running", true)
	if _, err := r.SweepOld(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		_, err := os.Stat(tc.dir)
		if gone := os.IsNotExist(err); gone != tc.gone {
			t.Errorf("%s: removed %v, want %v", tc.dir, gone, tc.gone)
		}
	}
}

// TestTimeoutAboveMaxIsRefused: env.yaml's timeout above max_timeout fails
// the build with an error naming env.yaml's line.
func TestTimeoutAboveMaxIsRefused(t *testing.T) {
	tests := []struct {
		timeout, max time.Duration
		want         string // "" means accepted
	}{
		{48 * time.Hour, 0, "images/x/env.yaml:9: timeout 48h0m0s exceeds this runner's max_timeout 6h0m0s"},
		{2 * time.Hour, 0, ""},
		{2 * time.Hour, time.Hour, "exceeds this runner's max_timeout 1h0m0s"},
		{0, time.Hour, ""},
	}
	for _, tc := range tests {
		base := t.TempDir()
		r, err := New(Config{Packer: "/bin/true", WorkDir: base + "/w", CacheDir: base + "/c", MaxTimeout: tc.max, Retention: 72 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		img := &catalog.Image{Dir: "images/x", Env: catalog.Env{Timeout: tc.timeout},
			EnvPos: map[string]catalog.Pos{"timeout": {File: "images/x/env.yaml", Line: 9}}}
		got, err := (&run{r: r, img: img}).timeout()
		switch {
		case tc.want == "" && (err != nil || got != tc.timeout && tc.timeout != 0):
			t.Errorf("timeout %s, max %s: %s, %v", tc.timeout, tc.max, got, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("timeout %s, max %s: err = %v, want %q", tc.timeout, tc.max, err, tc.want)
		}
	}
}
