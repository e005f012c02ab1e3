package backend_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/backend"
	"github.com/imagebot/imagebot/runner/store/local"
	"github.com/imagebot/imagebot/runner/store/miniotest"
	"github.com/imagebot/imagebot/runner/store/s3"
)

func TestOpenLocalAndS3FromConfig(t *testing.T) {
	ctx := context.Background()
	st, err := backend.Open(ctx, store.Config{Local: &store.LocalConfig{Dir: t.TempDir()}}, nil)
	if _, ok := st.(*local.Store); err != nil || !ok {
		t.Fatalf("local: %T, %v", st, err)
	}
	srv := miniotest.Start(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ak"), []byte(srv.AccessKey+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "sk"), []byte(srv.SecretKey+"\n"), 0o600)
	cfg := store.Config{S3: &store.S3Config{
		Endpoint: srv.Endpoint, Bucket: "made-by-open", Insecure: true, CreateBucket: true,
		AccessKeyFile: filepath.Join(dir, "ak"), SecretKeyFile: filepath.Join(dir, "sk"), RetentionDays: 7,
	}}
	st, err = backend.Open(ctx, cfg, nil)
	s, ok := st.(*s3.Store)
	if err != nil || !ok {
		t.Fatalf("s3: %T, %v", st, err)
	}
	if days, err := s.Retention(ctx); err != nil || days != 7 {
		t.Fatalf("retention %d, %v", days, err)
	}
	if d := backend.Describe(cfg); strings.Contains(d, srv.SecretKey) || !strings.Contains(d, "made-by-open") {
		t.Fatalf("Describe = %q", d)
	}
	cfg.S3.Bucket = "missing"
	cfg.S3.CreateBucket = false
	if _, err := backend.Open(ctx, cfg, nil); err == nil || !strings.Contains(err.Error(), "bucket missing does not exist") {
		t.Fatalf("missing bucket: %v", err)
	}
}

func TestRunRetentionSweepsLocalStore(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := store.Config{Local: &store.LocalConfig{Dir: t.TempDir(), RetentionDays: 1}}
	st, err := backend.Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := store.MRBuild("deb12", 1, "abcdef12")
	if _, err := st.Put(ctx, ref.Key(store.ManifestName), strings.NewReader("{}"), 2, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(cfg.Local.Dir, "deb12", "mr", "1", "abcdef12", "manifest.json"), old, old)
	go backend.RunRetention(ctx, st, cfg, time.Hour, zerolog.Nop())
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(cfg.Local.Dir, "deb12")); os.IsNotExist(err) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the expired MR build was not swept")
}
