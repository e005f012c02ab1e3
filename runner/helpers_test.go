package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
	"github.com/imagebot/imagebot/runner/testenv"
)

// testRepo copies testdata/repo into a temporary directory (with a blank
// disk for the "stuck" images) and loads its catalog.
func testRepo(t *testing.T) *catalog.Catalog {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS("testdata/repo")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"canary", "failing", "stuck", "stuck-timeout", "multi"} {
		if err := os.Chmod(filepath.Join(dst, "images", p, "provisioner.sh"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(testenv.Tool(t, "qemu-img"), "create", "-q", "-f", "qcow2", filepath.Join(dst, "blank.qcow2"), "64M").CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	cat, diags := catalog.Load(dst)
	if diags.HasErrors() {
		t.Fatalf("test catalog: %v", diags)
	}
	return cat
}

// testRunner returns a Runner with its own work and cache directories and
// its own TMPDIR, so tests can check that nothing is left behind.
func testRunner(t *testing.T, mod func(*Config)) (*Runner, Config) {
	t.Helper()
	// A short TMPDIR of the test's own: packer's sockets live there, and the
	// tests check that nothing is left in it.
	tmp, err := os.MkdirTemp("/tmp", "ibt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	base := t.TempDir()
	cfg := Config{
		Packer:      testenv.Tool(t, "packer"),
		WorkDir:     filepath.Join(base, "work"),
		CacheDir:    filepath.Join(base, "cache"),
		Accelerator: "tcg",
		PluginDir:   testenv.PluginDir(t),
		Grace:       45 * time.Second,
		Log:         zerolog.New(zerolog.NewTestWriter(t)),
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, r.cfg
}

// events collects a build's events safely.
type events struct {
	mu  sync.Mutex
	all []packer.Event
}

func (e *events) add(ev packer.Event) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

func (e *events) list() []packer.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]packer.Event(nil), e.all...)
}

func (e *events) waitFor(t *testing.T, d time.Duration, match func(packer.Event) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, ev := range e.list() {
			if match(ev) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no matching event within %s; got %+v", d, e.list())
}

// processesWith lists running processes whose command line holds marker.
func processesWith(marker string) []string {
	var found []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	self := "/proc/" + strconv.Itoa(os.Getpid()) + "/cmdline"
	for _, p := range dirs {
		if p == self {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmd, marker) {
			found = append(found, cmd)
		}
	}
	return found
}

// leftovers lists what remains below dir (except names in keep).
func leftovers(t *testing.T, dir string, keep ...string) []string {
	t.Helper()
	var out []string
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		kept := false
		for _, k := range keep {
			kept = kept || e.Name() == k
		}
		if !kept {
			out = append(out, e.Name())
		}
	}
	return out
}
