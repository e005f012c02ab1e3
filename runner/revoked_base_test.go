package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/miniotest"
	"github.com/imagebot/imagebot/runner/store/s3"
	"github.com/imagebot/imagebot/runner/testenv"
)

// TestBuildOnRevokedBaseFailsNamingTheRevocation: the base's release is
// revoked in a real MinIO bucket; a derived build fails before Packer runs,
// naming who revoked it and why.
func TestBuildOnRevokedBaseFailsNamingTheRevocation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := miniotest.Start(t)
	t.Setenv(store.DefaultAccessKeyEnv, srv.AccessKey)
	t.Setenv(store.DefaultSecretKeyEnv, srv.SecretKey)
	st, err := s3.New(ctx, store.S3Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Insecure: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cat, diags := catalog.Load(testenv.RepoRoot(t))
	if diags.HasErrors() {
		t.Fatalf("catalog: %v", diags)
	}
	child := cat.Images["debian12-app"]
	base := cat.Images[child.Env.Base]
	ref := store.Release(base.Name, base.Env.Version)
	disk := filepath.Join(t.TempDir(), "disk.qcow2")
	os.WriteFile(disk, []byte("a base disk"), 0o644)
	files := []store.LocalFile{{Name: store.ArtifactName(base.Name, base.Env.Version, "qcow2"), Path: disk}}
	if _, err := store.Publish(ctx, st, ref.Prefix(), files, []byte(`{}`), store.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Revoke(ctx, st, store.RevokeRequest{Release: ref, By: "alice", Reason: "CVE-2026-4242", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// The runner's own guard, or (as the bot does, with the repository's
	// store) the request's.
	for name, tc := range map[string]struct {
		cfg func(*Config)
		req BaseChecker
	}{
		"runner's guard":  {cfg: func(c *Config) { c.Bases = store.BaseGuard{Store: st} }},
		"request's guard": {cfg: nil, req: store.BaseGuard{Store: st}},
	} {
		t.Run(name, func(t *testing.T) {
			r, _ := testRunner(t, tc.cfg)
			res, err := r.Build(ctx, cat, Request{Image: child.Name, Version: "1.2.1", OutDir: t.TempDir(), WithBases: true, Bases: tc.req}, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := ref.String() + " was revoked by alice"
			if res.Status != StatusFailed || !strings.Contains(res.Error, want) || !strings.Contains(res.Error, "CVE-2026-4242") {
				t.Fatalf("status %s, error %q; want failed naming %q and the reason", res.Status, res.Error, want)
			}
			if len(res.Files) != 0 {
				t.Fatalf("a refused build left files: %v", res.Files)
			}
		})
	}
}
