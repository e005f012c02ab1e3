package runner

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/catalog"
)

// TestNewSweepsLeftoversOfDeadBuildsOnly: working directories (and their
// packer temporary directories) whose owner process is dead or whose pid now
// belongs to another process go; a live owner's, and directories without an
// owner record (even old ones: maybe not a build's), stay; so do those of
// another host or PID namespace, where a pid cannot be checked from here.
func TestNewSweepsLeftoversOfDeadBuildsOnly(t *testing.T) {
	work, tmpRoot := t.TempDir(), t.TempDir()

	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	live := exec.Command("sleep", "60")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = live.Process.Kill(); _ = live.Wait() })
	liveStart := procStart(live.Process.Pid)
	if liveStart == "" {
		t.Fatal("no start time for a running process")
	}

	leftover := func(name string, o *owner) (dir, tmp string) {
		dir = filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Join(dir, "output"), 0o755); err != nil {
			t.Fatal(err)
		}
		if o == nil {
			return dir, ""
		}
		tmp = filepath.Join(tmpRoot, "imagebot-"+name)
		if err := os.Mkdir(tmp, 0o700); err != nil {
			t.Fatal(err)
		}
		o.Tmp = tmp
		data, _ := json.Marshal(o)
		if err := os.WriteFile(filepath.Join(dir, ownerFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir, tmp
	}
	rec := func(pid int, start string, change func(*owner)) *owner {
		o := thisProcess("")
		o.PID, o.Start = pid, start
		if change != nil {
			change(&o)
		}
		return &o
	}
	deadDir, deadTmp := leftover("dead", rec(dead.Process.Pid, "", nil))
	reusedDir, reusedTmp := leftover("reused", rec(live.Process.Pid, "1", nil))
	rebootedDir, _ := leftover("rebooted", rec(live.Process.Pid, liveStart, func(o *owner) { o.Boot = "an-earlier-boot" }))
	liveDir, liveTmp := leftover("live", rec(live.Process.Pid, liveStart, nil))
	// A dead pid elsewhere says nothing: that runner may be alive in its own namespace or host.
	otherNSDir, _ := leftover("other-pid-namespace", rec(dead.Process.Pid, "", func(o *owner) { o.PIDNS = "pid:[1]" }))
	otherHostDir, _ := leftover("other-host", rec(dead.Process.Pid, "", func(o *owner) { o.Host = "elsewhere" }))
	freshDir, _ := leftover("fresh-ownerless", nil)
	oldDir, _ := leftover("old-ownerless", nil)
	old := time.Now().Add(-30 * 24 * time.Hour)
	if err := os.Chtimes(oldDir, old, old); err != nil {
		t.Fatal(err)
	}

	if _, err := New(Config{Packer: "/bin/true", WorkDir: work, CacheDir: t.TempDir(), Log: zerolog.New(zerolog.NewTestWriter(t))}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{deadDir, deadTmp, reusedDir, reusedTmp, rebootedDir} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s was not swept (stat: %v)", p, err)
		}
	}
	for _, p := range []string{liveDir, liveTmp, freshDir, oldDir, otherNSDir, otherHostDir} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was swept: %v", p, err)
		}
	}
}

// TestBuildRecordsItsOwnerForTheSweep: a build's working directory names this
// process and its packer TMPDIR while it runs, so a sweep (of this runner or
// another sharing WorkDir) leaves it alone.
func TestBuildRecordsItsOwnerForTheSweep(t *testing.T) {
	r, err := New(Config{Packer: "/bin/true", WorkDir: t.TempDir(), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	b := &run{
		r: r, cat: &catalog.Catalog{Root: t.TempDir()}, img: &catalog.Image{Name: "x", Dir: "images/x"},
		req: Request{BuildID: "x-1"}, asBase: true, res: &Result{},
	}
	if err := b.prepare(); err != nil {
		t.Fatal(err)
	}
	defer b.cleanup()
	defer b.close()
	data, err := os.ReadFile(filepath.Join(b.work, ownerFile))
	if err != nil {
		t.Fatal(err)
	}
	var o owner
	if err := json.Unmarshal(data, &o); err != nil || o.PID != os.Getpid() || o.Tmp != b.tmp {
		t.Fatalf("owner record %s (%v); want pid %d, tmp %s", data, err, os.Getpid(), b.tmp)
	}
	if removed, err := r.SweepStale(context.Background()); err != nil || len(removed) > 0 {
		t.Fatalf("sweep removed %v (%v) during a live build", removed, err)
	}
}
