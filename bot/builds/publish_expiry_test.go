package builds

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
)

// expiryStore records the expiry every URL was asked for.
type expiryStore struct {
	store.Store
	asked []time.Duration
}

func (s *expiryStore) URL(ctx context.Context, key string, expiry time.Duration) (string, error) {
	s.asked = append(s.asked, expiry)
	return s.Store.URL(ctx, key, expiry)
}

// Issue 11 item 10: MR download links are presigned for the store's
// configured presign_expiry (URL expiry 0), not a fixed 7 days.
func TestPublishMRUsesTheStoreExpiry(t *testing.T) {
	dir := t.TempDir()
	st, err := local.New(store.LocalConfig{Dir: filepath.Join(dir, "artifacts"), BaseURL: "http://127.0.0.1:1/download"})
	if err != nil {
		t.Fatal(err)
	}
	es := &expiryStore{Store: st}
	disk := filepath.Join(dir, "tiny.qcow2")
	if err := os.WriteFile(disk, []byte("disk"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := &runner.Result{Image: "tiny", Version: "0.1.0", BuildID: "b1", Status: runner.StatusSucceeded,
		Files: []runner.File{{Name: "tiny.qcow2", Path: disk, Format: "qcow2", Size: 4,
			SHA256: "1044dec7206e8d7c9fbb4ae8f766668406d2567fc7fc1a160a9d4700fcf8f8e9"}}}
	p := &StorePublisher{Store: es}
	if _, _, err := p.PublishMR(context.Background(), res, "gitlab", "infra/images", 7, "0123456789abcdef0123456789abcdef01234567"); err != nil {
		t.Fatal(err)
	}
	if len(es.asked) == 0 {
		t.Fatal("no download link made")
	}
	for _, e := range es.asked {
		if e != 0 {
			t.Errorf("link presigned for %v, want 0 (the store's presign_expiry)", e)
		}
	}
}
