// Package storetest is the conformance suite every store backend runs: the
// Store contract (verified writes, conditional writes, listing, copy, URLs
// that download the right bytes) and the publishing rules built on it
// (manifest last, releases immutable, failed publishes invisible, promotion,
// sweeping).
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/store"
)

// Factory returns an empty store for one test.
type Factory func(t *testing.T) store.Store

// Run runs the whole suite against fresh stores from newStore.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"PutGetStatRoundTrip", testRoundTrip},
		{"PutWithWrongChecksumLeavesNothing", testWrongChecksum},
		{"PutIfAbsentRefusesExisting", testIfAbsent},
		{"ListIsRecursiveAndSortedDirsAreOneLevel", testList},
		{"CopyThenDelete", testCopyDelete},
		{"URLDownloadsTheBytes", testURL},
		{"PublishVerifiesAndShowsBuildOnlyWithManifest", testPublish},
		{"ReleasePublishedTwiceIsRefused", testReleaseTwice},
		{"RacingReleasePublishersOnlyOneWins", testReleaseRace},
		{"FailedPublishLeavesNothingVisible", testFailedPublish},
		{"RepublishedMRBuildReplacesTheOld", testRepublishMR},
		{"PromoteCopiesMRBuildToRelease", testPromote},
		{"LatestIsHighestSemver", testLatest},
		{"SweepRemovesOnlyOldMRBuilds", testSweep},
		{"DownloadDetectsWrongChecksum", testDownloadMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// RandomFile writes size random bytes to a new file in dir and returns its
// path and sha256.
func RandomFile(t testing.TB, dir, name string, size int64) (string, string) {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p, hex.EncodeToString(h.Sum(nil))
}

func put(t *testing.T, st store.Store, key string, b []byte) store.Object {
	t.Helper()
	obj, err := st.Put(ctx(t), key, bytes.NewReader(b), int64(len(b)), store.PutOptions{SHA256: sum(b)})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return obj
}

func get(t *testing.T, st store.Store, key string) []byte {
	t.Helper()
	rc, _, err := st.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func keys(objs []store.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func testRoundTrip(t *testing.T, st store.Store) {
	data := []byte("qcow2 bytes\n")
	key := "deb12/releases/1.0.0/deb12-1.0.0.qcow2"
	obj := put(t, st, key, data)
	if obj.Key != key || obj.Size != int64(len(data)) || obj.SHA256 != sum(data) {
		t.Fatalf("put returned %+v", obj)
	}
	if got := get(t, st, key); !bytes.Equal(got, data) {
		t.Fatalf("get returned %q, want %q", got, data)
	}
	st2, err := st.Stat(ctx(t), key)
	if err != nil || st2.Size != int64(len(data)) || st2.Modified.IsZero() {
		t.Fatalf("stat = %+v, %v", st2, err)
	}
	if st2.SHA256 != "" && st2.SHA256 != sum(data) {
		t.Fatalf("stat sha256 %s, want %s", st2.SHA256, sum(data))
	}
	empty := put(t, st, "deb12/releases/1.0.0/empty.log", nil)
	if empty.Size != 0 || empty.SHA256 != sum(nil) {
		t.Fatalf("empty object: %+v", empty)
	}
	if _, err := st.Stat(ctx(t), "deb12/releases/1.0.0/missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stat of a missing key: %v, want ErrNotFound", err)
	}
	if _, _, err := st.Get(ctx(t), "deb12/releases/1.0.0/missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get of a missing key: %v, want ErrNotFound", err)
	}
}

func testWrongChecksum(t *testing.T, st store.Store) {
	data := []byte("the real bytes")
	key := "deb12/mr/3/abcdef12/deb12.qcow2"
	_, err := st.Put(ctx(t), key, bytes.NewReader(data), int64(len(data)), store.PutOptions{SHA256: sum([]byte("other"))})
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("put with a wrong sha256: %v, want ErrCorrupt", err)
	}
	if _, err := st.Stat(ctx(t), key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after a refused put, stat: %v, want ErrNotFound", err)
	}
	_, err = st.Put(ctx(t), key, bytes.NewReader(data), int64(len(data))+5, store.PutOptions{})
	if err == nil {
		t.Fatal("put with a wrong size succeeded")
	}
	if _, err := st.Stat(ctx(t), key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after a short put, stat: %v, want ErrNotFound", err)
	}
}

func testIfAbsent(t *testing.T, st store.Store) {
	key := "deb12/releases/1.0.0/manifest.json"
	first := []byte(`{"n":1}`)
	if _, err := st.Put(ctx(t), key, bytes.NewReader(first), int64(len(first)), store.PutOptions{IfAbsent: true}); err != nil {
		t.Fatalf("first conditional put: %v", err)
	}
	second := []byte(`{"n":2}`)
	_, err := st.Put(ctx(t), key, bytes.NewReader(second), int64(len(second)), store.PutOptions{IfAbsent: true})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second conditional put: %v, want ErrExists", err)
	}
	if got := get(t, st, key); !bytes.Equal(got, first) {
		t.Fatalf("object changed to %q", got)
	}
}

func testList(t *testing.T, st store.Store) {
	for _, k := range []string{
		"rocky9/releases/1.0.0/manifest.json",
		"deb12/mr/7/0011aabb/manifest.json",
		"deb12/releases/2.0.0/deb12-2.0.0.ova",
		"deb12/releases/1.0.0/manifest.json",
	} {
		put(t, st, k, []byte(k))
	}
	objs, err := st.List(ctx(t), "deb12/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"deb12/mr/7/0011aabb/manifest.json", "deb12/releases/1.0.0/manifest.json", "deb12/releases/2.0.0/deb12-2.0.0.ova"}
	if got := keys(objs); !slices.Equal(got, want) {
		t.Fatalf("List(deb12/) = %v, want %v", got, want)
	}
	objs, err = st.List(ctx(t), "deb12/releases/2")
	if err != nil || !slices.Equal(keys(objs), want[2:]) {
		t.Fatalf("List(deb12/releases/2) = %v, %v", keys(objs), err)
	}
	dirs, err := st.Dirs(ctx(t), "")
	if err != nil || !slices.Equal(dirs, []string{"deb12", "rocky9"}) {
		t.Fatalf("Dirs(\"\") = %v, %v", dirs, err)
	}
	dirs, err = st.Dirs(ctx(t), "deb12/releases/")
	if err != nil || !slices.Equal(dirs, []string{"1.0.0", "2.0.0"}) {
		t.Fatalf("Dirs(deb12/releases/) = %v, %v", dirs, err)
	}
	images, err := store.Images(ctx(t), st)
	if err != nil || !slices.Equal(images, []string{"deb12", "rocky9"}) {
		t.Fatalf("Images = %v, %v", images, err)
	}
}

func testCopyDelete(t *testing.T, st store.Store) {
	data := []byte("disk image")
	src := "deb12/mr/1/aaaabbbb/deb12-1.0.0.qcow2"
	dst := "deb12/releases/1.0.0/deb12-1.0.0.qcow2"
	put(t, st, src, data)
	obj, err := st.Copy(ctx(t), src, dst, store.PutOptions{SHA256: sum(data)})
	if err != nil || obj.Size != int64(len(data)) {
		t.Fatalf("copy = %+v, %v", obj, err)
	}
	if _, err := st.Copy(ctx(t), src, dst, store.PutOptions{IfAbsent: true}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("conditional copy over an existing key: %v, want ErrExists", err)
	}
	if err := st.Delete(ctx(t), src); err != nil {
		t.Fatal(err)
	}
	if got := get(t, st, dst); !bytes.Equal(got, data) {
		t.Fatalf("copy holds %q after its source was deleted", got)
	}
	if err := st.Delete(ctx(t), src); err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := st.Copy(ctx(t), src, "deb12/releases/9.9.9/x", store.PutOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("copy of a missing key: %v, want ErrNotFound", err)
	}
}

func testURL(t *testing.T, st store.Store) {
	data := []byte("download me")
	key := "deb12/releases/1.0.0/deb12-1.0.0.qcow2"
	put(t, st, key, data)
	u, err := st.URL(ctx(t), key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET %s: %s %q, want 200 %q", u, resp.Status, got, data)
	}
}

// build writes a small build's files into a temp dir.
func build(t *testing.T, image, version string) []store.LocalFile {
	dir := t.TempDir()
	q, qs := RandomFile(t, dir, "disk.qcow2", 100<<10)
	l, _ := RandomFile(t, dir, "build.log", 1<<10)
	return []store.LocalFile{
		{Name: store.ArtifactName(image, version, "qcow2"), Path: q, SHA256: qs, WithSHA256File: true},
		{Name: store.LogName, Path: l},
	}
}

func testPublish(t *testing.T, st store.Store) {
	ref := store.Release("deb12", "1.2.0")
	files := build(t, "deb12", "1.2.0")
	manifest := []byte(`{"image":"deb12","version":"1.2.0"}`)
	pub, err := store.Publish(ctx(t), st, ref.Prefix(), files, manifest, store.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pub.Files) != 3 || pub.Manifest.Key != ref.Key(store.ManifestName) {
		t.Fatalf("published %+v", pub)
	}
	if pub.Files[0].SHA256 != files[0].SHA256 {
		t.Fatalf("published sha256 %s, want %s", pub.Files[0].SHA256, files[0].SHA256)
	}
	sumLine := get(t, st, ref.Key("deb12-1.2.0.qcow2.sha256"))
	if want := files[0].SHA256 + "  deb12-1.2.0.qcow2\n"; string(sumLine) != want {
		t.Fatalf(".sha256 file %q, want %q", sumLine, want)
	}
	for _, f := range pub.Files {
		if err := store.Verify(ctx(t), st, f.Key, f.Size, f.SHA256); err != nil {
			t.Fatalf("verify %s: %v", f.Key, err)
		}
	}
	got, err := store.Files(ctx(t), st, ref)
	want := []string{ref.Key("build.log"), ref.Key("deb12-1.2.0.qcow2"), ref.Key("deb12-1.2.0.qcow2.sha256"), ref.Key("manifest.json")}
	if err != nil || !slices.Equal(keys(got), want) {
		t.Fatalf("Files = %v, %v; want %v", keys(got), err, want)
	}
	m, err := store.ReadManifest(ctx(t), st, ref)
	if err != nil || !bytes.Equal(m, manifest) {
		t.Fatalf("manifest %q, %v", m, err)
	}
	// A prefix with files but no manifest is not a build.
	put(t, st, "deb12/releases/1.3.0/deb12-1.3.0.qcow2", []byte("partial"))
	builds, err := store.Builds(ctx(t), st, "deb12")
	if err != nil || len(builds) != 1 || builds[0].Ref != ref {
		t.Fatalf("Builds = %+v, %v; want only %s", builds, err, ref)
	}
	if _, err := store.Files(ctx(t), st, store.Release("deb12", "1.3.0")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Files of a build without manifest: %v, want ErrNotFound", err)
	}
}

func testReleaseTwice(t *testing.T, st store.Store) {
	ref := store.Release("deb12", "1.0.0")
	first := build(t, "deb12", "1.0.0")
	if _, err := store.Publish(ctx(t), st, ref.Prefix(), first, []byte(`{"n":1}`), store.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	second := build(t, "deb12", "1.0.0")
	_, err := store.Publish(ctx(t), st, ref.Prefix(), second, []byte(`{"n":2}`), store.PublishOptions{})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second publish of a release: %v, want ErrExists", err)
	}
	if err := store.Verify(ctx(t), st, ref.Key("deb12-1.0.0.qcow2"), -1, first[0].SHA256); err != nil {
		t.Fatalf("the release changed: %v", err)
	}
	if m, _ := store.ReadManifest(ctx(t), st, ref); string(m) != `{"n":1}` {
		t.Fatalf("manifest changed to %q", m)
	}
}

func testReleaseRace(t *testing.T, st store.Store) {
	ref := store.Release("deb12", "3.0.0")
	files := build(t, "deb12", "3.0.0")
	const n = 4
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := store.Publish(ctx(t), st, ref.Prefix(), files, []byte(fmt.Sprintf(`{"publisher":%d}`, i)), store.PublishOptions{})
			errs <- err
		}()
	}
	won := 0
	for range n {
		err := <-errs
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrExists):
			t.Errorf("losing publisher: %v, want ErrExists", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d publishers succeeded, want exactly 1", won)
	}
	if _, err := store.Files(ctx(t), st, ref); err != nil {
		t.Fatal(err)
	}
	if err := store.Verify(ctx(t), st, ref.Key("deb12-3.0.0.qcow2"), -1, files[0].SHA256); err != nil {
		t.Fatal(err)
	}
}

func testFailedPublish(t *testing.T, st store.Store) {
	ref := store.Release("deb12", "2.0.0")
	files := build(t, "deb12", "2.0.0")
	files = append(files, store.LocalFile{Name: "deb12-2.0.0.ova", Path: filepath.Join(t.TempDir(), "vanished.ova")})
	if _, err := store.Publish(ctx(t), st, ref.Prefix(), files, []byte(`{}`), store.PublishOptions{}); err == nil {
		t.Fatal("publish with a missing file succeeded")
	}
	if objs, err := st.List(ctx(t), ref.Prefix()); err != nil || len(objs) != 0 {
		t.Fatalf("a failed release publish left %v (%v)", keys(objs), err)
	}
	if builds, err := store.Builds(ctx(t), st, "deb12"); err != nil || len(builds) != 0 {
		t.Fatalf("Builds after a failed publish = %+v, %v", builds, err)
	}
	// A bad expected checksum is a failure too, and leaves nothing.
	files = build(t, "deb12", "2.0.0")
	files[0].SHA256 = sum([]byte("not this"))
	_, err := store.Publish(ctx(t), st, ref.Prefix(), files, []byte(`{}`), store.PublishOptions{Retry: store.Retry{Attempts: 2, Initial: time.Millisecond}})
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("publish with a wrong checksum: %v, want ErrCorrupt", err)
	}
	if objs, _ := st.List(ctx(t), ref.Prefix()); len(objs) != 0 {
		t.Fatalf("a corrupt publish left %v", keys(objs))
	}
	// And the release can then be published.
	if _, err := store.Publish(ctx(t), st, ref.Prefix(), build(t, "deb12", "2.0.0"), []byte(`{}`), store.PublishOptions{}); err != nil {
		t.Fatalf("publish after failed attempts: %v", err)
	}
}

func testRepublishMR(t *testing.T, st store.Store) {
	ref := store.MRBuild("deb12", 4, "0123456789abcdef")
	if ref.SHA != "01234567" {
		t.Fatalf("short sha %q", ref.SHA)
	}
	if _, err := store.Publish(ctx(t), st, ref.Prefix(), build(t, "deb12", "1.0.0"), []byte(`{"n":1}`), store.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	second := build(t, "deb12", "1.0.0")
	if _, err := store.Publish(ctx(t), st, ref.Prefix(), second, []byte(`{"n":2}`), store.PublishOptions{}); err != nil {
		t.Fatalf("republishing an MR build: %v", err)
	}
	if err := store.Verify(ctx(t), st, ref.Key("deb12-1.0.0.qcow2"), -1, second[0].SHA256); err != nil {
		t.Fatal(err)
	}
	if m, _ := store.ReadManifest(ctx(t), st, ref); string(m) != `{"n":2}` {
		t.Fatalf("manifest %q, want the second", m)
	}
}

func testPromote(t *testing.T, st store.Store) {
	from := store.MRBuild("deb12", 9, "feedbeef00")
	files := build(t, "deb12", "1.4.0")
	if _, err := store.Publish(ctx(t), st, from.Prefix(), files, []byte(`{"mr":9}`), store.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	to := store.Release("deb12", "1.4.0")
	pub, err := store.Promote(ctx(t), st, from, to, []byte(`{"promoted_from":"mr9"}`), store.PromoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pub.Files) != 3 {
		t.Fatalf("promoted %v", keys(pub.Files))
	}
	if err := store.Verify(ctx(t), st, to.Key("deb12-1.4.0.qcow2"), -1, files[0].SHA256); err != nil {
		t.Fatalf("promoted artifact: %v", err)
	}
	if m, _ := store.ReadManifest(ctx(t), st, to); string(m) != `{"promoted_from":"mr9"}` {
		t.Fatalf("release manifest %q", m)
	}
	if _, err := store.Promote(ctx(t), st, from, to, []byte(`{}`), store.PromoteOptions{}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("promoting onto an existing release: %v, want ErrExists", err)
	}
	// Renaming rewrites the checksum file for the new name.
	to2 := store.Release("deb12", "1.4.1")
	_, err = store.Promote(ctx(t), st, from, to2, []byte(`{}`), store.PromoteOptions{Rename: map[string]string{"deb12-1.4.0.qcow2": "deb12-1.4.1.qcow2"}})
	if err != nil {
		t.Fatal(err)
	}
	if line := get(t, st, to2.Key("deb12-1.4.1.qcow2.sha256")); string(line) != files[0].SHA256+"  deb12-1.4.1.qcow2\n" {
		t.Fatalf("renamed .sha256 = %q", line)
	}
}

func testLatest(t *testing.T, st store.Store) {
	for _, v := range []string{"1.2.0", "1.10.0", "1.9.9", "2.0.0-rc.1"} {
		put(t, st, store.Release("deb12", v).Key(store.ManifestName), []byte(`{}`))
	}
	put(t, st, store.Release("deb12", "3.0.0").Key("deb12-3.0.0.qcow2"), []byte(`no manifest`))
	put(t, st, store.MRBuild("deb12", 1, "abcdef12").Key(store.ManifestName), []byte(`{}`))
	ref, err := store.Latest(ctx(t), st, "deb12")
	if err != nil || ref.Version != "1.10.0" {
		t.Fatalf("Latest = %v, %v; want 1.10.0", ref, err)
	}
	builds, err := store.Builds(ctx(t), st, "deb12")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range builds {
		got = append(got, b.Ref.String())
	}
	want := []string{"deb12@2.0.0-rc.1", "deb12@1.10.0", "deb12@1.9.9", "deb12@1.2.0", "deb12@mr1-abcdef12"}
	if !slices.Equal(got, want) {
		t.Fatalf("Builds = %v, want %v", got, want)
	}
	r, err := store.Resolve(ctx(t), st, "deb12", "latest")
	if err != nil || r.Version != "1.10.0" {
		t.Fatalf("Resolve latest = %v, %v", r, err)
	}
	if r, err := store.Resolve(ctx(t), st, "deb12", "mr1-abcdef12"); err != nil || r != store.MRBuild("deb12", 1, "abcdef12") {
		t.Fatalf("Resolve mr1-abcdef12 = %v, %v", r, err)
	}
	if _, err := store.Latest(ctx(t), st, "nothing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Latest of an image without releases: %v, want ErrNotFound", err)
	}
}

func testSweep(t *testing.T, st store.Store) {
	mr := store.MRBuild("deb12", 2, "12345678")
	rel := store.Release("deb12", "1.0.0")
	for _, ref := range []store.Ref{mr, rel} {
		if _, err := store.Publish(ctx(t), st, ref.Prefix(), build(t, "deb12", "1.0.0"), []byte(`{}`), store.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put(t, st, store.MRBuild("rocky9", 5, "aaaaaaaa").Key("partial.qcow2"), []byte("no manifest"))
	removed, err := store.Sweep(ctx(t), st, 24*time.Hour, time.Now())
	if err != nil || len(removed) != 0 {
		t.Fatalf("sweep of fresh builds removed %v, %v", removed, err)
	}
	removed, err = store.Sweep(ctx(t), st, 24*time.Hour, time.Now().Add(48*time.Hour))
	want := []string{mr.Prefix(), "rocky9/mr/5/aaaaaaaa/"}
	if err != nil || !slices.Equal(removed, want) {
		t.Fatalf("sweep two days later removed %v, %v; want %v", removed, err, want)
	}
	if objs, _ := st.List(ctx(t), "deb12/mr/"); len(objs) != 0 {
		t.Fatalf("swept MR build left %v", keys(objs))
	}
	if _, err := store.Files(ctx(t), st, rel); err != nil {
		t.Fatalf("sweep touched the release: %v", err)
	}
}

func testDownloadMismatch(t *testing.T, st store.Store) {
	data := []byte("the bytes")
	key := "deb12/releases/1.0.0/deb12-1.0.0.ova"
	put(t, st, key, data)
	var buf bytes.Buffer
	if _, err := store.Download(ctx(t), st, key, &buf, int64(len(data)), sum(data)); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("download = %q, %v", buf.Bytes(), err)
	}
	if err := store.Verify(ctx(t), st, key, -1, sum([]byte("other"))); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("verify against another checksum: %v, want ErrCorrupt", err)
	}
}
