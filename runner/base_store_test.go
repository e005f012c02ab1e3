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
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/miniotest"
	"github.com/imagebot/imagebot/runner/store/s3"
)

// TestMissingBaseComesFromTheStore: two build hosts share one MinIO. The
// base's release is published there; a host whose cache lacks the base
// takes the release's disk from the store, verified, instead of building it
// (no --with-bases needed), and a host asked for other inputs does not.
func TestMissingBaseComesFromTheStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := miniotest.Start(t)
	t.Setenv(store.DefaultAccessKeyEnv, srv.AccessKey)
	t.Setenv(store.DefaultSecretKeyEnv, srv.SecretKey)
	st, err := s3.New(ctx, store.S3Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Insecure: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	base := &catalog.Image{Name: "base9", Dir: "images/base9", Digest: digest, Env: catalog.Env{Version: "1.0.0"}}
	child := &catalog.Image{Name: "app9", Dir: "images/app9", Digest: "sha256:" + strings.Repeat("cd", 32), Env: catalog.Env{Version: "2.0.0", Base: "base9"}}
	cat := &catalog.Catalog{Images: map[string]*catalog.Image{"base9": base, "app9": child}}

	disk := filepath.Join(t.TempDir(), "disk.qcow2")
	content := []byte("QFI\xfb a published base disk")
	if err := os.WriteFile(disk, content, 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := store.HashFile(ctx, disk)
	if err != nil {
		t.Fatal(err)
	}
	name := store.ArtifactName("base9", "1.0.0", "qcow2")
	m, err := manifest.Marshal(&manifest.Manifest{Image: "base9", Version: "1.0.0", BuildID: "b1", Release: true, InputsDigest: digest,
		Files: []manifest.File{{Name: name, Format: "qcow2", Size: int64(len(content)), SHA256: sum}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := store.Release("base9", "1.0.0")
	if _, err := store.Publish(ctx, st, ref.Prefix(), []store.LocalFile{{Name: name, Path: disk, SHA256: sum}}, m, store.PublishOptions{}); err != nil {
		t.Fatal(err)
	}

	host := func() *Runner {
		r, err := New(Config{Packer: "/bin/true", WorkDir: t.TempDir(), CacheDir: t.TempDir(),
			BaseStore: store.BaseFetcher{Store: st}, Log: zerolog.New(zerolog.NewTestWriter(t))})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := host()
	b := &run{r: r, cat: cat, img: child, req: Request{Image: "app9", BuildID: "x1"}, res: &Result{}}
	e, status, err := r.ensureBase(ctx, b, "base9")
	if err != nil {
		t.Fatalf("ensureBase: %s %v", status, err)
	}
	defer b.cleanup()
	if e.SHA256 != sum {
		t.Errorf("entry sha256 %s, want %s", e.SHA256, sum)
	}
	if got, _ := store.HashFile(ctx, e.Disk); got != sum {
		t.Errorf("cached disk hashes to %s, want %s", got, sum)
	}
	if !strings.HasPrefix(e.Disk, r.baseDir(base)) {
		t.Errorf("disk %s is not in the base cache %s", e.Disk, r.baseDir(base))
	}
	// The entry is a cache entry like a built one: found again without the store.
	if _, ok := r.cachedBase(base); !ok {
		t.Error("fetched base is not in the cache")
	}

	// Another host, whose catalog has other inputs for the base: the
	// release is not what it needs, so it says the base is missing.
	other := *base
	other.Digest = "sha256:" + strings.Repeat("ef", 32)
	cat2 := &catalog.Catalog{Images: map[string]*catalog.Image{"base9": &other, "app9": child}}
	r2 := host()
	b2 := &run{r: r2, cat: cat2, img: child, req: Request{Image: "app9", BuildID: "x2"}, res: &Result{}}
	if _, _, err := r2.ensureBase(ctx, b2, "base9"); err == nil || !strings.Contains(err.Error(), "not built at digest") {
		t.Fatalf("other inputs: %v, want the base reported missing", err)
	}
	if left, _ := os.ReadDir(filepath.Join(r2.cfg.CacheDir, "bases", "base9")); len(left) != 0 {
		t.Errorf("a refused fetch left %v in the cache", left)
	}
}
