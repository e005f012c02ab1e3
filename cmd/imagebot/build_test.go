package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
)

// TestBuildCommandMasksCanaryOnTerminal runs `imagebot build -v` on a test
// image that prints a sensitive variable and a configured secret: neither
// reaches the terminal, and the masked lines do.
func TestBuildCommandMasksCanaryOnTerminal(t *testing.T) {
	packerBin := testenv.Tool(t, "packer")
	root := testenv.RepoRoot(t)
	repo := t.TempDir()
	if err := os.CopyFS(repo, os.DirFS(filepath.Join(root, "runner", "testdata", "repo"))); err != nil {
		t.Fatal(err)
	}
	// The stuck images need a disk this test does not make.
	for _, n := range []string{"stuck", "stuck-timeout", "failing"} {
		os.RemoveAll(filepath.Join(repo, "images", n))
	}
	os.Chmod(filepath.Join(repo, "images", "canary", "provisioner.sh"), 0o755)
	const configured = "cfg-S3cret-55120"
	t.Setenv("IMAGEBOT_TEST_SECRET", configured)
	cfg := filepath.Join(t.TempDir(), "imagebot.yaml")
	yaml := "runner:\n  packer: " + packerBin + "\n  accelerator: tcg\n  secrets:\n    test: " + configured + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	buildOut = &out
	defer func() { buildOut = os.Stdout }()
	err := runBuild(context.Background(), []string{"canary", "-v", "--repo", repo, "--config", cfg, "--out", t.TempDir()})
	if _, ok := err.(exitError); !ok { // the canary image makes no disk, so the build fails
		t.Fatalf("err = %v, want exit status 1", err)
	}
	text := out.String()
	for _, secret := range []string{configured, "cAn4ry,t0ken-88131", "t0ken-88131"} {
		if strings.Contains(text, secret) {
			t.Errorf("terminal output holds %q:\n%s", secret, text)
		}
	}
	// imagebot's environment (IMAGEBOT_TEST_SECRET) does not reach a build:
	// "configured secret:" prints empty (docs/security.md).
	for _, want := range []string{"plain: [REDACTED]", "token again: [REDACTED]", "canary 0.1.0: failed"} {
		if !strings.Contains(text, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, text)
		}
	}
}
