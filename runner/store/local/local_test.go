package local_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
	"github.com/imagebot/imagebot/runner/store/storetest"
)

// newServed returns a store in a temp dir whose URLs are served by
// store.Handler on a test server, as imagebot serve mounts it.
func newServed(t *testing.T) *local.Store {
	var st *local.Store
	mux := http.NewServeMux()
	mux.Handle("/download/", http.StripPrefix("/download/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		store.Handler(st).ServeHTTP(w, r)
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var err error
	st, err = local.New(store.LocalConfig{Dir: t.TempDir(), BaseURL: srv.URL + "/download"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestLocalConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newServed(t) })
}

func TestLocalCorruptedFileIsDetectedByVerify(t *testing.T) {
	st := newServed(t)
	ctx := context.Background()
	path, sha := storetest.RandomFile(t, t.TempDir(), "disk.qcow2", 1<<20)
	ref := store.Release("deb12", "1.0.0")
	pub, err := store.Publish(ctx, st, ref.Prefix(), []store.LocalFile{{Name: "deb12-1.0.0.qcow2", Path: path, SHA256: sha}}, []byte(`{}`), store.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Flip one byte in the middle of the stored file, as a bad disk would.
	f, err := os.OpenFile(filepath.Join(st.Dir(), filepath.FromSlash(pub.Files[0].Key)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	f.ReadAt(b, 512<<10)
	b[0] ^= 0xff
	f.WriteAt(b, 512<<10)
	f.Close()
	if err := store.Verify(ctx, st, pub.Files[0].Key, pub.Files[0].Size, sha); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("verify of a corrupted file: %v, want ErrCorrupt", err)
	}
}

func TestLocalCancelledPutLeavesNothing(t *testing.T) {
	st := newServed(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		pw.Write(make([]byte, 1<<20))
		cancel()
		pw.Write(make([]byte, 1<<20))
		pw.Close()
	}()
	_, err := st.Put(ctx, "deb12/releases/1.0.0/deb12-1.0.0.qcow2", pr, 4<<20, store.PutOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled put: %v, want context.Canceled", err)
	}
	if objs, _ := st.List(context.Background(), ""); len(objs) != 0 {
		t.Fatalf("cancelled put left %v", objs)
	}
	tmp, _ := os.ReadDir(filepath.Join(st.Dir(), ".tmp"))
	if len(tmp) != 0 {
		t.Fatalf("cancelled put left %d temporary files", len(tmp))
	}
}

func TestLocalRefusesKeysOutsideTheDirectory(t *testing.T) {
	st := newServed(t)
	for _, key := range []string{"../x", "a/../../x", "/etc/passwd", "a//b", ".tmp/put-1", "a/", ""} {
		if _, err := st.Put(context.Background(), key, strings.NewReader("x"), 1, store.PutOptions{}); err == nil {
			t.Errorf("put %q was accepted", key)
		}
	}
}

func TestLocalSweepUsesManifestAge(t *testing.T) {
	st := newServed(t)
	ctx := context.Background()
	old := store.MRBuild("deb12", 1, "aaaaaaaa")
	fresh := store.MRBuild("deb12", 2, "bbbbbbbb")
	for _, ref := range []store.Ref{old, fresh} {
		p, sha := storetest.RandomFile(t, t.TempDir(), "d", 10)
		if _, err := store.Publish(ctx, st, ref.Prefix(), []store.LocalFile{{Name: "d.qcow2", Path: p, SHA256: sha}}, []byte(`{}`), store.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	weekAgo := time.Now().Add(-7 * 24 * time.Hour)
	os.Chtimes(filepath.Join(st.Dir(), filepath.FromSlash(old.Key(store.ManifestName))), weekAgo, weekAgo)
	removed, err := st.Sweep(ctx, 3*24*time.Hour)
	if err != nil || len(removed) != 1 || removed[0] != old.Prefix() {
		t.Fatalf("sweep removed %v, %v; want only %s", removed, err, old.Prefix())
	}
	if _, err := os.Stat(filepath.Join(st.Dir(), "deb12", "mr", "1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("swept build's directory remains: %v", err)
	}
	if _, err := store.Files(ctx, st, fresh); err != nil {
		t.Fatalf("fresh build: %v", err)
	}
}

func TestLocalHandlerServesOnlyLayoutKeys(t *testing.T) {
	st := newServed(t)
	h := store.Handler(st)
	for _, p := range []string{"/../../etc/passwd", "/deb12/releases/1.0.0/", "/.tmp/x"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = p
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
}

func TestLocalDownloadRouteResumesWithRange(t *testing.T) {
	st := newServed(t)
	ctx := context.Background()
	key := "deb12/releases/1.0.0/deb12-1.0.0.qcow2"
	if _, err := st.Put(ctx, key, strings.NewReader("0123456789"), 10, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	u, err := st.URL(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Range", "bytes=4-")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || string(got) != "456789" {
		t.Fatalf("range GET: %s %q", resp.Status, got)
	}
}
