package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
	"github.com/imagebot/imagebot/runner/store/local"
)

func newStore(t *testing.T) *local.Store {
	t.Helper()
	st, err := local.New(store.LocalConfig{Dir: t.TempDir(), BaseURL: "http://bot.test/download"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// seed publishes two releases and two MR builds of debian12 and one
// release of rocky9.
func seed(t *testing.T, st store.Store) {
	t.Helper()
	for _, b := range []browsetest.Build{
		{Ref: store.Release("debian12", "1.2.0"), Digest: "sha256:aaa", GitSHA: "1111111111", Files: map[string][]byte{"debian12-1.2.0.qcow2": []byte("qcow2 1.2.0")}},
		{Ref: store.Release("debian12", "1.10.0"), Digest: "sha256:bbb", GitSHA: "2222222222", Files: map[string][]byte{"debian12-1.10.0.qcow2": []byte("qcow2 1.10.0"), "debian12-1.10.0.ova": []byte("ova 1.10.0")}},
		{Ref: store.MRBuild("debian12", 7, "abcdef0123"), Version: "1.11.0", Digest: "sha256:ccc", GitSHA: "abcdef0123", Files: map[string][]byte{"debian12-1.11.0.qcow2": []byte("mr qcow2")}},
		{Ref: store.Release("rocky9", "9.4.0"), Digest: "sha256:ddd", GitSHA: "3333333333", Files: map[string][]byte{"rocky9-9.4.0.qcow2": []byte("rocky")}},
	} {
		browsetest.Publish(t, st, b)
	}
}

func TestVersionsListReleasesBySemverThenMRBuilds(t *testing.T) {
	st := newStore(t)
	seed(t, st)
	images, err := store.Images(ctx(t), st)
	if err != nil || strings.Join(images, ",") != "debian12,rocky9" {
		t.Fatalf("Images = %v, %v", images, err)
	}
	vs, err := store.Versions(ctx(t), st, "debian12")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Name()+"="+v.ImageVersion())
	}
	if want := "1.10.0=1.10.0,1.2.0=1.2.0,mr7-abcdef01=1.11.0"; strings.Join(got, ",") != want {
		t.Errorf("versions = %v, want %s", got, want)
	}
	if vs[0].Manifest == nil || vs[0].Manifest.InputsDigest != "sha256:bbb" || len(vs[0].Manifest.Files) != 2 {
		t.Errorf("1.10.0 manifest = %+v", vs[0].Manifest)
	}
	if _, ok := vs[0].File("debian12-1.10.0.ova.sha256"); !ok {
		t.Errorf("1.10.0 files lack the .sha256 file: %v", vs[0].Files)
	}
}

func TestResolveLatestAndMRBuildAndMissing(t *testing.T) {
	st := newStore(t)
	seed(t, st)
	for _, tc := range []struct{ image, name, want string }{
		{"debian12", "latest", "1.10.0"},
		{"debian12", "1.2.0", "1.2.0"},
		{"debian12", "mr7-abcdef01", "mr7-abcdef01"},
		{"rocky9", "latest", "9.4.0"},
	} {
		v, err := store.ResolveVersion(ctx(t), st, tc.image, tc.name)
		if err != nil || v.Name() != tc.want || v.Manifest == nil {
			t.Errorf("Resolve(%s@%s) = %q, %v; want %s", tc.image, tc.name, v.Name(), err, tc.want)
		}
	}
	for _, tc := range []struct{ image, name string }{{"debian12", "9.9.9"}, {"nosuch", "latest"}, {"debian12", "mr8-abcdef01"}} {
		if _, err := store.ResolveVersion(ctx(t), st, tc.image, tc.name); !errors.Is(err, store.ErrNoVersion) {
			t.Errorf("Resolve(%s@%s) error = %v, want ErrNoVersion", tc.image, tc.name, err)
		}
	}
}

func TestDownloadFileVerifiesAndDeletesACorruptDownload(t *testing.T) {
	st := newStore(t)
	seed(t, st)
	v, err := store.ResolveVersion(ctx(t), st, "debian12", "latest")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "x.ova")
	f, err := store.DownloadVersionFile(ctx(t), st, v, "ova", out)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, []byte("ova 1.10.0")) || f.Name != "debian12-1.10.0.ova" {
		t.Fatalf("downloaded %q as %s", got, f.Name)
	}
	if _, err := store.DownloadVersionFile(ctx(t), st, v, "vmdk", filepath.Join(t.TempDir(), "y")); !errors.Is(err, store.ErrNoFormat) {
		t.Errorf("vmdk: %v, want ErrNoFormat", err)
	}
	// Corrupt the stored bytes behind the store's back.
	if err := os.WriteFile(filepath.Join(st.Dir(), v.Prefix+"debian12-1.10.0.ova"), []byte("ova 1.10.X"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.ova")
	_, err = store.DownloadVersionFile(ctx(t), st, v, "ova", bad)
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("corrupt download: %v, want ErrChecksum", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(bad))
	if len(entries) != 0 {
		t.Errorf("a corrupt download left %v behind", entries)
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct{ in, image, version string }{
		{"rocky9@1.2.0", "rocky9", "1.2.0"}, {"rocky9", "rocky9", "latest"}, {"rocky9@latest", "rocky9", "latest"}, {"rocky9@mr3-abcdef01", "rocky9", "mr3-abcdef01"},
	} {
		i, v, err := store.ParseRef(tc.in)
		if err != nil || i != tc.image || v != tc.version {
			t.Errorf("ParseRef(%q) = %q, %q, %v", tc.in, i, v, err)
		}
	}
	for _, in := range []string{"", "@1.0", "a/b@1"} {
		if _, _, err := store.ParseRef(in); err == nil {
			t.Errorf("ParseRef(%q) accepted", in)
		}
	}
}
