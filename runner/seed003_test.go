package runner

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/catalog"
)

// Seed 003's template builds for real up to its ISO, which is not on this
// machine: the build fails at that step, saying which file is missing.
func TestSeed003BuildStopsAtTheMissingISO(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS("testdata/seed003")); err != nil {
		t.Fatal(err)
	}
	cat, diags := catalog.Load(root)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	r, _ := testRunner(t, nil)
	res, err := r.Build(context.Background(), cat, Request{Image: "rocky9", OutDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := os.ReadFile(res.LogPath)
	if res.Status != StatusFailed || !strings.Contains(res.Error, "Rocky-9.2-x86_64-minimal.iso") {
		t.Fatalf("status %s, error %q (last step %q)\n%s", res.Status, res.Error, res.LastStep, log)
	}
	if !strings.Contains(string(log), "packer init (plugin directory") {
		t.Errorf("packer init did not run:\n%s", log)
	}
	t.Logf("stopped with: %s", res.Error)
}
