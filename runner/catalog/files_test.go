package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostileFilesAreRefused: an MR controls the repository's files. None of
// these may hang or crash the catalog, read a host file or walk a host
// directory; each is an error naming the file.
func TestHostileFilesAreRefused(t *testing.T) {
	secretDir := t.TempDir() // stands for a host file the bot can read
	hostFile := filepath.Join(secretDir, "host-secret")
	if err := os.WriteFile(hostFile, []byte("HOST-FILE-CONTENT: 1"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(t *testing.T, root string)
		file   string // the diagnostic's file
		says   string
	}{
		{"env.yaml is /dev/zero", func(t *testing.T, root string) {
			replaceWithSymlink(t, root, "images/web/env.yaml", "/dev/zero")
		}, "images/web/env.yaml", "leaves the repository"},
		{"env.yaml points at a host file", func(t *testing.T, root string) {
			replaceWithSymlink(t, root, "images/web/env.yaml", hostFile)
		}, "images/web/env.yaml", "leaves the repository"},
		{"env.yaml is a FIFO", func(t *testing.T, root string) {
			p := filepath.Join(root, "images/web/env.yaml")
			os.Remove(p)
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "images/web/env.yaml", "is not a regular file (a FIFO)"},
		{"env.yaml over the size limit", func(t *testing.T, root string) {
			p := filepath.Join(root, "images/web/env.yaml")
			if err := os.WriteFile(p, []byte("#"+strings.Repeat("x", MaxFileSize+10)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "images/web/env.yaml", "larger than the 1 MiB limit"},
		{"template points at a host file", func(t *testing.T, root string) {
			replaceWithSymlink(t, root, "images/web/web.pkr.hcl", hostFile)
		}, "images/web/web.pkr.hcl", "leaves the repository"},
		{"variables file is /dev/zero", func(t *testing.T, root string) {
			replaceWithSymlink(t, root, "images/web/web.auto.pkrvars.hcl", "/dev/zero")
		}, "images/web/web.auto.pkrvars.hcl", "leaves the repository"},
		{"provisioner is /dev/zero", func(t *testing.T, root string) {
			replaceWithSymlink(t, root, "images/web/provisioner.sh", "/dev/zero")
		}, "images/web/provisioner.sh", "leaves the repository"},
		{"input under a symlinked directory", func(t *testing.T, root string) {
			if err := os.Symlink(secretDir, filepath.Join(root, "kickstart/h")); err != nil {
				t.Fatal(err)
			}
			appendFile(t, root, "images/web/env.yaml", "inputs:\n  - kickstart/h/host-secret\n")
		}, "images/web/env.yaml", `input "kickstart/h/host-secret": it leaves the repository`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.CopyFS(root, os.DirFS("testdata/good")); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Join(root, "kickstart"), 0o755)
			tc.mutate(t, root)
			done := make(chan Diagnostics, 1)
			go func() { _, d := Load(root); done <- d }()
			var diags Diagnostics
			select {
			case diags = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("Load hangs")
			}
			found := false
			for _, d := range diags {
				if strings.Contains(d.Message, "HOST-FILE-CONTENT") {
					t.Errorf("a diagnostic shows the host file: %s", d)
				}
				if d.File == tc.file && strings.Contains(d.Message, tc.says) {
					found = true
				}
			}
			if !found {
				t.Errorf("no error at %s saying %q; got:\n%s", tc.file, tc.says, diags.Error())
			}
		})
	}
}

// TestDigestWalkStaysInRepository: a template referencing a directory
// through resources/h -> / must not make the digest walk host directories.
func TestDigestWalkStaysInRepository(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS("testdata/good")); err != nil {
		t.Fatal(err)
	}
	h := &hasher{root: root, sums: map[string]fileSum{}}
	if err := os.MkdirAll(filepath.Join(root, "resources"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/", filepath.Join(root, "resources/h")); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	err := h.expand("resources/h/etc", set)
	if err == nil || !strings.Contains(err.Error(), "resources/h/etc: it leaves the repository") {
		t.Errorf("expand through resources/h -> /: err = %v, %d files", err, len(set))
	}
	// The symlink itself is an input like any: hashed as its target text.
	if err := h.expand("resources/h", set); err != nil || !set["resources/h"] {
		t.Errorf("the symlink itself: err = %v, set %v", err, set)
	}
}

func replaceWithSymlink(t *testing.T, root, rel, target string) {
	t.Helper()
	p := filepath.Join(root, rel)
	os.Remove(p)
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, root, rel, text string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(root, rel), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
