package bot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
)

// Issue 11 item 11: an MR build is published below its repository's
// prefix (two repositories' "!7 of tiny" do not meet), and a repository
// the store's map does not list publishes nothing.
func TestPublishMRKeysHoldTheRepository(t *testing.T) {
	dir := t.TempDir()
	st, err := local.New(store.LocalConfig{Dir: filepath.Join(dir, "artifacts"), BaseURL: "http://127.0.0.1:1/download"})
	if err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(dir, "tiny.qcow2")
	if err := os.WriteFile(disk, []byte("disk"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := &runner.Result{Image: "tiny", Version: "0.1.0", BuildID: "b1", Status: runner.StatusSucceeded,
		Files: []runner.File{{Name: "tiny.qcow2", Path: disk, Format: "qcow2", Size: 4,
			SHA256: "1044dec7206e8d7c9fbb4ae8f766668406d2567fc7fc1a160a9d4700fcf8f8e9"}}}
	const sha = "0123456789abcdef0123456789abcdef01234567"
	ctx := context.Background()
	cfg := store.Config{Repositories: map[string]string{"gitlab:infra/images": "infra", "gitlab:infra/other": "other"}}
	p := &StorePublisher{Store: st, RepoPrefix: cfg.RepoPrefix}
	for _, repo := range []string{"infra/images", "infra/other"} {
		if _, _, err := p.PublishMR(ctx, res, "gitlab", repo, 7, sha); err != nil {
			t.Fatalf("%s: %v", repo, err)
		}
	}
	for _, prefix := range []string{"_repo/infra/", "_repo/other/"} {
		if _, err := store.Files(ctx, store.RepoStore(st, prefix), store.MRBuild("tiny", 7, sha)); err != nil {
			t.Errorf("no MR build below %s: %v", prefix, err)
		}
	}
	if objs, _ := st.List(ctx, "tiny/"); len(objs) != 0 {
		t.Errorf("published into the root layout: %v", objs)
	}
	if _, _, err := p.PublishMR(ctx, res, "gitlab", "someone/else", 7, sha); err == nil || !strings.Contains(err.Error(), "not in store.repositories") {
		t.Errorf("an unlisted repository published: %v", err)
	}
}
