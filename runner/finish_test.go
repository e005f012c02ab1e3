package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/testenv"
)

// Finishing writes the artifacts while the checks boot the same disk: a
// failure on either side fails the build at once with that side's error,
// stops the other side (no QEMU left running) and publishes nothing. The
// bootless image's disk never reaches SSH, so a checks boot that was not
// cancelled would hold the build for its 10-minute timeout.
func TestFinishFailsWhenEitherSideFails(t *testing.T) {
	for _, tool := range []string{"qemu-img", "qemu-system-x86_64", "sfdisk", "mkfs.ext4", "debugfs"} {
		testenv.Tool(t, tool)
	}
	const stem = "bootless-0.1.0"
	for _, tc := range []struct {
		name    string
		checks  []string
		prepare func(t *testing.T, out string) // before the build
		want    string                         // in the build's error
		booted  bool                           // the checks boot started
	}{{
		name:   "an artifact cannot be written during the boot",
		checks: []string{"boots"},
		// A directory (not empty) where the finished qcow2 is renamed to:
		// the qcow2 fails once it is written, a while into the boot.
		prepare: func(t *testing.T, out string) { mkdir(t, filepath.Join(out, stem+".qcow2", "blocker")) },
		want:    "finish qcow2",
		booted:  true,
	}, {
		name:   "the checks cannot start while the artifacts are written",
		checks: []string{"boots", "unparsable"},
		want:   "unparsable.yaml",
	}, {
		name: "no checks: the artifacts alone",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			cat := testRepo(t)
			writeCheckFiles(t, cat.Root)
			cat.Images["bootless"].Env.Checks = tc.checks
			r, cfg := testRunner(t, nil)
			out := t.TempDir()
			if tc.prepare != nil {
				tc.prepare(t, out)
			}
			started := time.Now()
			sawVM := watchVMs(cfg.WorkDir)
			res, err := r.Build(context.Background(), cat, Request{Image: "bootless", OutDir: out}, nil)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(started)
			booted := sawVM()
			log, _ := os.ReadFile(filepath.Join(out, "build.log"))
			if tc.want == "" {
				checkPublished(t, res, out, string(log))
				return
			}
			if res.Status != StatusFailed || !strings.Contains(res.Error, tc.want) {
				t.Fatalf("status %s, error %q, want failed naming %q\n%s", res.Status, res.Error, tc.want, log)
			}
			if took > 2*time.Minute {
				t.Errorf("the failed build took %s: the other side was not stopped", took)
			}
			if tc.booted && (!booted || !strings.Contains(string(log), "checks: booting inspect-")) {
				t.Errorf("the checks did not boot the raw copy (QEMU seen: %v):\n%s", booted, log)
			}
			if vms := processesWith(cfg.WorkDir); len(vms) > 0 {
				t.Errorf("left running: %v", vms)
			}
			if left := leftovers(t, out, "build.log", stem+".qcow2"); len(left) > 0 {
				t.Errorf("a failed finish left %v", left)
			}
		})
	}
}

// watchVMs watches, until the returned function is called, for a QEMU
// whose command line names workDir (the checks boot's overlay), and then
// says whether one ran.
func watchVMs(workDir string) func() bool {
	var seen atomic.Bool
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			for _, p := range processesWith(workDir) {
				seen.Store(seen.Load() || strings.Contains(p, "qemu-system"))
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() bool { close(stop); <-done; return seen.Load() }
}

// checkPublished: a build without checks publishes both formats and their
// sums, and logs no wait for checks.
func checkPublished(t *testing.T, res *Result, out, log string) {
	t.Helper()
	if res.Status != StatusSucceeded {
		t.Fatalf("status %s: %s\n%s", res.Status, res.Error, log)
	}
	for _, name := range []string{"bootless-0.1.0.qcow2", "bootless-0.1.0.qcow2.sha256", "bootless-0.1.0.ova", "bootless-0.1.0.ova.sha256"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("not published: %v", err)
		}
	}
	if strings.Contains(log, "waited") || !strings.Contains(log, "artifacts: 4 files written") {
		t.Errorf("log:\n%s", log)
	}
}

// writeCheckFiles adds check files to the test repository: one that passes
// on any Linux guest, one that does not parse.
func writeCheckFiles(t *testing.T, root string) {
	t.Helper()
	dir := filepath.Join(root, ChecksDir)
	mkdir(t, dir)
	for name, spec := range map[string]string{
		"boots":      "command:\n  \"true\": {exit-status: 0}\n",
		"unparsable": "command: [not, a, map\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}
