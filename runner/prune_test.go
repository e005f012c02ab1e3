package runner

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
)

// TestStoringABaseKeepsNewestDigestsAndThoseInUse: after a base build is
// stored, its image's cache holds the newest KeepBases digests (the new one
// among them) plus an older one a running build uses; the others are gone.
func TestStoringABaseKeepsNewestDigestsAndThoseInUse(t *testing.T) {
	r, err := New(Config{Packer: "/bin/true", WorkDir: t.TempDir(), CacheDir: t.TempDir(), KeepBases: 2,
		Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	image := func(n int) *catalog.Image {
		return &catalog.Image{Name: "b", Dir: "images/b", Digest: "sha256:d" + string(rune('0'+n))}
	}
	disk := func(path string) {
		if err := os.WriteFile(path, []byte("QFI\xfbdisk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Four earlier builds, stored an hour apart (d1 oldest) under a larger limit.
	r.cfg.KeepBases = 10
	for n := 1; n <= 4; n++ {
		src := filepath.Join(t.TempDir(), "disk.qcow2")
		disk(src)
		b := &run{r: r, img: image(n), req: Request{BuildID: "old"}, asBase: true, res: &Result{},
			artifacts: []*packer.Artifact{{Files: []string{src}}}}
		if _, err := b.collect(); err != nil {
			t.Fatal(err)
		}
		b.cleanup()
		at := time.Now().Add(time.Duration(n-5) * time.Hour)
		if err := os.Chtimes(filepath.Join(r.baseDir(image(n)), entryFile), at, at); err != nil {
			t.Fatal(err)
		}
	}
	r.cfg.KeepBases = 2
	// A running child build uses d1.
	user := &run{r: r, res: &Result{}}
	if _, ok := user.holdBase(image(1)); !ok {
		t.Fatal("d1 not in the cache")
	}
	src := filepath.Join(t.TempDir(), "out", "disk.qcow2")
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		t.Fatal(err)
	}
	disk(src)
	b := &run{r: r, img: image(5), req: Request{BuildID: "new"}, asBase: true, res: &Result{},
		artifacts: []*packer.Artifact{{Files: []string{src}}}}
	stored, err := b.collect()
	if err != nil {
		t.Fatal(err)
	}
	defer b.cleanup()
	// sha256 of "QFI\xfbdisk": the checksum children get as base_image_checksum.
	if want := "1c697bcfccaddc4a4f2ca7755f5b16fe978de05d27c2306705a84f7e9f3318a8"; stored.SHA256 != want {
		t.Errorf("stored sha256 %s, want %s", stored.SHA256, want)
	}
	for n, want := range map[int]bool{1: true, 2: false, 3: false, 4: true, 5: true} {
		_, ok := r.cachedBase(image(n))
		if ok != want {
			t.Errorf("d%d in the cache: %v, want %v", n, ok, want)
		}
	}
	// Once the child is done, the next stored build prunes d1 too.
	user.cleanup()
	r.pruneBases("b")
	if _, ok := r.cachedBase(image(1)); ok {
		t.Error("d1 kept after its user finished")
	}
}
