package catalog

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/catalog/catalogtest"
)

// copyTree copies src to dst, giving every file and directory the mtime at.
func copyTree(t testing.TB, src, dst string, at time.Time) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		return os.Chtimes(p, at, at)
	})
}

func digests(t testing.TB, root string) map[string]string {
	t.Helper()
	cat, diags := Load(root)
	if diags.HasErrors() {
		t.Fatalf("load %s:\n%s", root, diags.Error())
	}
	out := map[string]string{}
	for n, img := range cat.Images {
		if img.Digest == "" {
			t.Fatalf("%s has no digest", n)
		}
		out[n] = img.Digest
	}
	return out
}

func TestDigestEqualAcrossCheckoutsWithDifferentMtimes(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "one"), filepath.Join(t.TempDir(), "elsewhere", "two")
	copyTree(t, "testdata/good", a, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	copyTree(t, "testdata/good", b, time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC))
	da, db := digests(t, a), digests(t, b)
	if !reflect.DeepEqual(da, db) {
		t.Fatalf("digests differ between checkouts:\n%v\n%v", da, db)
	}
	if len(da) != 6 {
		t.Fatalf("want 6 images, got %v", da)
	}
	seen := map[string]string{}
	for n, d := range da {
		if other, dup := seen[d]; dup {
			t.Errorf("%s and %s share digest %s", n, other, d)
		}
		seen[d] = n
	}
}

// Changing one shared file changes the digests of exactly the images that
// use it and of their descendants, and of no other image.
func TestDigestChangeReachesExactlyUsersAndChildren(t *testing.T) {
	tests := []struct {
		file    string
		changed []string
	}{
		{"kickstart/base/ks.cfg", []string{"base", "child", "grandchild"}},
		{"kickstart/declared/ks.cfg", []string{"declared"}},
		{"kickstart/unused/ks.cfg", nil},
		{"resources/motd.sh", []string{"web"}},
		{"images/child/provisioner.sh", []string{"child", "grandchild"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			root := t.TempDir()
			copyTree(t, "testdata/good", root, time.Now())
			before := digests(t, root)
			p := filepath.Join(root, tt.file)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, append(data, "# changed\n"...), 0o755); err != nil {
				t.Fatal(err)
			}
			after := digests(t, root)
			var changed []string
			for _, n := range []string{"base", "child", "declared", "grandchild", "plain", "web"} {
				if before[n] != after[n] {
					changed = append(changed, n)
				}
			}
			if !reflect.DeepEqual(changed, tt.changed) {
				t.Errorf("changing %s changed the digests of %v, want %v", tt.file, changed, tt.changed)
			}
		})
	}
}

// The digest records modes as git does: the executable bit counts, the
// checkout's umask does not.
func TestDigestModes(t *testing.T) {
	root := t.TempDir()
	copyTree(t, "testdata/good", root, time.Now())
	ks := filepath.Join(root, "kickstart/base/ks.cfg")
	before := digests(t, root)["base"]
	os.Chmod(ks, 0o664)
	if got := digests(t, root)["base"]; got != before {
		t.Errorf("group-writable changed the digest")
	}
	os.Chmod(ks, 0o755)
	if got := digests(t, root)["base"]; got == before {
		t.Errorf("the executable bit did not change the digest")
	}
}

func TestAffectedByPaths(t *testing.T) {
	cat, diags := Load("testdata/good")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	tests := []struct {
		paths []string
		want  []string
	}{
		{[]string{"kickstart/base/ks.cfg"}, []string{"base", "child", "grandchild"}},
		{[]string{"./images/base/new-file.txt"}, []string{"base", "child", "grandchild"}},
		{[]string{"kickstart/base/other.cfg"}, nil},
		{[]string{"images/child/env.yaml"}, []string{"child", "grandchild"}},
		{[]string{"images/grandchild/provisioner.sh", "resources/motd.sh"}, []string{"web", "grandchild"}},
		{[]string{"kickstart/declared/deleted.cfg"}, []string{"declared"}},
		{[]string{"kickstart/unused/ks.cfg", "README.md", "runner/catalog/load.go"}, nil},
		{[]string{"images/plain/"}, []string{"plain"}},
	}
	for _, tt := range tests {
		if got := Affected(cat, tt.paths); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Affected(%v) = %v, want %v", tt.paths, got, tt.want)
		}
	}
}

// A catalog put together by hand (as a test of the bot might) works too.
func TestAffectedOnHandMadeCatalog(t *testing.T) {
	cat := &Catalog{Images: map[string]*Image{
		"app":  {Name: "app", Dir: "images/app", Env: Env{Base: "base"}},
		"base": {Name: "base", Dir: "images/base", Inputs: []string{"images/base/env.yaml", "kickstart/base.ks"}},
		"solo": {Name: "solo", Dir: "images/solo"},
	}}
	if got := Affected(cat, []string{"kickstart/base.ks"}); !reflect.DeepEqual(got, []string{"base", "app"}) {
		t.Errorf("got %v, want [base app]", got)
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestAffectedBetweenGitRevisions(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	root := t.TempDir()
	copyTree(t, "testdata/good", root, time.Now())
	git(t, root, "init", "-q", "-b", "main")
	git(t, root, "add", ".")
	git(t, root, "commit", "-q", "-m", "one")
	writeFile(t, filepath.Join(root, "kickstart/base/ks.cfg"), "text\nrootpw --lock\nreboot\n")
	git(t, root, "commit", "-q", "-am", "two")
	writeFile(t, filepath.Join(root, "resources/motd.sh"), "#!/bin/sh\necho hi\n")
	git(t, root, "commit", "-q", "-am", "three")

	ctx := context.Background()
	got, _, err := AffectedRevisions(ctx, root, "HEAD~1", "HEAD")
	if err != nil || !reflect.DeepEqual(got, []string{"web"}) {
		t.Errorf("HEAD~1..HEAD: %v, %v; want [web]", got, err)
	}
	// `to` is not the checkout: the catalog is read from that revision.
	got, _, err = AffectedRevisions(ctx, root, "HEAD~2", "HEAD~1")
	if err != nil || !reflect.DeepEqual(got, []string{"base", "child", "grandchild"}) {
		t.Errorf("HEAD~2..HEAD~1: %v, %v; want [base child grandchild]", got, err)
	}
	// A new branch: forges send an all-zero "before"; everything counts.
	got, _, err = AffectedRevisions(ctx, root, strings.Repeat("0", 40), "HEAD")
	if err != nil || len(got) != 6 || got[0] != "base" {
		t.Errorf("from zero: %v, %v; want all 6 images, bases first", got, err)
	}
	// The images repository may be a subdirectory of the git repository.
	sub := filepath.Join(t.TempDir(), "mono")
	copyTree(t, "testdata/good", filepath.Join(sub, "infra/images-repo"), time.Now())
	git(t, sub, "init", "-q", "-b", "main")
	git(t, sub, "add", ".")
	git(t, sub, "commit", "-q", "-m", "one")
	writeFile(t, filepath.Join(sub, "infra/images-repo/kickstart/declared/ks.cfg"), "changed\n")
	writeFile(t, filepath.Join(sub, "README.md"), "outside\n")
	git(t, sub, "add", ".")
	git(t, sub, "commit", "-q", "-m", "two")
	git(t, sub, "commit", "-q", "--allow-empty", "-m", "three")
	got, _, err = AffectedRevisions(ctx, filepath.Join(sub, "infra/images-repo"), "HEAD~2", "HEAD~1")
	if err != nil || !reflect.DeepEqual(got, []string{"declared"}) {
		t.Errorf("subdirectory repository: %v, %v; want [declared]", got, err)
	}
	if _, _, err := AffectedRevisions(ctx, root, "HEAD", "no-such-rev"); err == nil {
		t.Error("an unknown revision gave no error")
	}
}

// BenchmarkLoad50Images: the catalog alone (YAML, HCL, references, bash -n,
// digests) over 50 generated images.
func BenchmarkLoad50Images(b *testing.B) {
	root := b.TempDir()
	catalogtest.Generate(b, root, 50)
	b.ResetTimer()
	for range b.N {
		cat, diags := Load(root)
		if diags.HasErrors() || len(cat.Images) != 50 || cat.Images["img49"].Digest == "" {
			b.Fatalf("load: %d images\n%s", len(cat.Images), diags.Error())
		}
	}
}
