package store_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
	"github.com/imagebot/imagebot/runner/store/storetest"
)

// lostAnswers is a real local store whose manifest writes succeed but answer
// with an error, as when a connection drops after the server stored them.
type lostAnswers struct {
	*local.Store
	lose int // how many manifest writes lose their answer
}

func (s *lostAnswers) Put(ctx context.Context, key string, r io.Reader, size int64, opts store.PutOptions) (store.Object, error) {
	obj, err := s.Store.Put(ctx, key, r, size, opts)
	if err == nil && strings.HasSuffix(key, "/"+store.ManifestName) && s.lose > 0 {
		s.lose--
		return store.Object{}, store.Transient(errors.New("connection reset after the write"))
	}
	return obj, err
}

func newLost(t *testing.T, lose int) *lostAnswers {
	st, err := local.New(store.LocalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return &lostAnswers{Store: st, lose: lose}
}

func files(t *testing.T) []store.LocalFile {
	p, sha := storetest.RandomFile(t, t.TempDir(), "d", 4096)
	return []store.LocalFile{{Name: "deb12-1.0.0.qcow2", Path: p, SHA256: sha}}
}

func TestReleaseManifestWhoseAnswerWasLostIsRecognisedOnRetry(t *testing.T) {
	st := newLost(t, 1)
	ref := store.Release("deb12", "1.0.0")
	retry := store.Retry{Attempts: 3, Initial: time.Millisecond}
	if _, err := store.Publish(context.Background(), st, ref.Prefix(), files(t), []byte(`{"a":1}`), store.PublishOptions{Retry: retry}); err != nil {
		t.Fatalf("publish whose manifest answer was lost once: %v", err)
	}
	if _, err := store.Files(context.Background(), st, ref); err != nil {
		t.Fatal(err)
	}
}

func TestFailedPublishKeepsFilesWhenItsManifestWasStored(t *testing.T) {
	st := newLost(t, 100)
	ref := store.Release("deb12", "1.0.0")
	retry := store.Retry{Attempts: 1}
	_, err := store.Publish(context.Background(), st, ref.Prefix(), files(t), []byte(`{"a":1}`), store.PublishOptions{Retry: retry})
	if err == nil {
		t.Fatal("publish succeeded although the manifest write reported an error")
	}
	// The manifest is there, so the build is visible: its files must be too.
	got, err := store.Files(context.Background(), st, ref)
	if err != nil || len(got) != 2 {
		t.Fatalf("after the failed publish: %v, %v; want the qcow2 and the manifest", got, err)
	}
}
