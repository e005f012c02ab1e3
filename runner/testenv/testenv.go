// Package testenv finds the real tools that tests run against (packer, qemu,
// minio, chromium, ...) and the repository root. When IMAGEBOT_REQUIRE_TOOLS=1
// (as deploy/test.sh and CI set it) a missing tool fails the test instead of
// skipping it, so nothing is silently counted as passing.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Required reports whether missing tools must fail tests.
func Required() bool { return os.Getenv("IMAGEBOT_REQUIRE_TOOLS") == "1" }

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Tool returns the path of a tool: the project's .tools/bin first, then PATH.
// It skips the test when the tool is missing, or fails it when tools are required.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if name == "packer" && os.Getenv("IMAGEBOT_PACKER") != "" {
		// deploy/test.sh runs the catalog and validate tests again on Packer 1.9.4.
		p := os.Getenv("IMAGEBOT_PACKER")
		if _, err := os.Stat(p); err != nil {
			Missing(t, "IMAGEBOT_PACKER="+p+": "+err.Error())
		}
		return p
	}
	local := filepath.Join(RepoRoot(t), ".tools", "bin", name)
	if fi, err := os.Stat(local); err == nil && !fi.IsDir() {
		return local
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	Missing(t, name+" not found in .tools/bin or PATH (run deploy/install-tools.sh)")
	return ""
}

// PluginDir is the Packer plugin directory deploy/install-tools.sh fills
// (.tools/packer-plugins), or $PACKER_PLUGIN_PATH when set.
func PluginDir(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PACKER_PLUGIN_PATH"); p != "" {
		return p
	}
	dir := filepath.Join(RepoRoot(t), ".tools", "packer-plugins")
	if _, err := os.Stat(filepath.Join(dir, ".versions")); err != nil {
		Missing(t, "no Packer plugin directory at "+dir+" (run deploy/install-tools.sh)")
	}
	return dir
}

// Missing skips or fails the test for a missing prerequisite.
func Missing(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatalf("required test prerequisite missing: %s", why)
	}
	t.Skipf("skipping: %s", why)
}
