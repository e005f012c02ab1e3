package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/miniotest"
	"github.com/imagebot/imagebot/runner/store/s3"
	"github.com/imagebot/imagebot/runner/store/storetest"
)

const (
	reuseRepo   = "https://git.example.test/infra/images"
	reuseDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

// reuseEnv is a real MinIO holding published builds.
type reuseEnv struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
}

func newReuseEnv(t *testing.T) *reuseEnv {
	srv := miniotest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	t.Setenv(store.DefaultAccessKeyEnv, srv.AccessKey)
	t.Setenv(store.DefaultSecretKeyEnv, srv.SecretKey)
	st, err := s3.New(ctx, store.S3Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Insecure: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &reuseEnv{t: t, ctx: ctx, st: st}
}

// build describes a build to publish; the zero values are a succeeded
// build of reuseRepo at reuseDigest.
type build struct {
	ref    store.Ref
	digest string
	repo   string
	status string
	base   *store.Ref
	// lie is the sha256 the manifest records instead of the file's.
	lie string
}

// publish stores b with one random qcow2 and returns the qcow2's sha256.
func (e *reuseEnv) publish(b build) string {
	e.t.Helper()
	if b.digest == "" {
		b.digest = reuseDigest
	}
	if b.repo == "" {
		b.repo = reuseRepo
	}
	if b.status == "" {
		b.status = "succeeded"
	}
	version := "1.0.0"
	if b.ref.Kind == store.KindRelease {
		version = b.ref.Version
	}
	name := store.ArtifactName(b.ref.Image, version, "qcow2")
	path, sum := storetest.RandomFile(e.t, e.t.TempDir(), "disk.qcow2", 3<<20)
	recorded := sum
	if b.lie != "" {
		recorded = b.lie
	}
	m := &manifest.Manifest{Image: b.ref.Image, Version: version, BuildID: "b-" + b.ref.String(), Status: b.status,
		GitSHA: b.ref.SHA, MR: b.ref.MR, Release: b.ref.Kind == store.KindRelease, InputsDigest: b.digest,
		Repository: b.repo, Builder: "qemu", PackerVersion: "1.14.3",
		Files: []manifest.File{{Name: name, Format: "qcow2", Size: 3 << 20, SHA256: recorded}}}
	if b.base != nil {
		m.BaseImage = &manifest.BaseImage{Image: b.base.Image, Version: b.base.Version}
	}
	data, err := manifest.Marshal(m, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	files := []store.LocalFile{{Name: name, Path: path, SHA256: sum, WithSHA256File: true}}
	if _, err := store.Publish(e.ctx, e.st, b.ref.Prefix(), files, data, store.PublishOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return sum
}

func (e *reuseEnv) find(digest, repo string, exclude store.Ref) (*store.Candidate, error) {
	return store.FindReusable(e.ctx, e.st, store.ReuseQuery{Image: "rocky9", InputsDigest: digest, Repository: repo, Exclude: exclude})
}

func (e *reuseEnv) revoke(ref store.Ref) {
	e.t.Helper()
	if _, err := store.Revoke(e.ctx, e.st, store.RevokeRequest{Release: ref, By: "alice", Reason: "CVE", Now: time.Now()}); err != nil {
		e.t.Fatal(err)
	}
}

func TestReuseCopiesAPublishedBuildAndNamesIt(t *testing.T) {
	e := newReuseEnv(t)
	src := store.MRBuild("rocky9", 1, "aaaaaaaa")
	sum := e.publish(build{ref: src})
	to := store.MRBuild("rocky9", 2, "bbbbbbbb")

	c, err := e.find(reuseDigest, reuseRepo, to)
	if err != nil {
		t.Fatal(err)
	}
	if c.Ref != src {
		t.Fatalf("found %s, want %s", c.Ref, src)
	}
	start := time.Now()
	res, err := store.Reuse(e.ctx, e.st, store.ReuseRequest{From: c, To: to, BuildID: "b-new", GitSHA: "bbbbbbbbcccc", MR: 2,
		TriggeredBy: "bob", Started: start})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reused %s as %s in %s", src, to, time.Since(start))

	data, err := store.ReadManifest(e.ctx, e.st, to)
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := manifest.SourceBuild{BuildID: "b-" + src.String(), MR: 1, GitSHA: "aaaaaaaa", Path: src.Prefix()}
	if m.ReusedFrom == nil || *m.ReusedFrom != want {
		t.Fatalf("reused_from = %+v, want %+v", m.ReusedFrom, want)
	}
	if m.BuildID != "b-new" || m.MR != 2 || m.GitSHA != "bbbbbbbbcccc" || m.TriggeredBy != "bob" || m.Release {
		t.Errorf("new manifest keeps the source's identity: %+v", m)
	}
	if m.InputsDigest != reuseDigest || m.Repository != reuseRepo || m.PackerVersion != "1.14.3" {
		t.Errorf("new manifest lost what was built: %+v", m)
	}
	name := store.ArtifactName("rocky9", "1.0.0", "qcow2")
	if len(m.Files) != 1 || m.Files[0].Name != name || m.Files[0].SHA256 != sum {
		t.Errorf("files = %+v", m.Files)
	}
	// The copy holds the very bytes: read it back and hash it.
	if err := store.Verify(e.ctx, e.st, to.Key(name), 3<<20, sum); err != nil {
		t.Fatal(err)
	}
	if err := store.Verify(e.ctx, e.st, to.Key(name+store.SHA256Suffix), -1, ""); err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || res.Manifest == nil {
		t.Errorf("result: %+v", res)
	}
	// The new build is itself found as a build of these inputs, and its
	// source stays untouched.
	builds, err := store.Builds(e.ctx, e.st, "rocky9")
	if err != nil || len(builds) != 2 {
		t.Fatalf("builds = %v, %v", builds, err)
	}
}

func TestFindReusableChoosesOnlyWhatQualifies(t *testing.T) {
	e := newReuseEnv(t)
	other := "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	e.publish(build{ref: store.MRBuild("rocky9", 1, "aaaaaaaa"), repo: "https://git.example.test/fork/images"})
	e.publish(build{ref: store.MRBuild("rocky9", 2, "bbbbbbbb"), status: "failed"})
	e.publish(build{ref: store.MRBuild("rocky9", 3, "cccccccc"), digest: other})
	mine := store.MRBuild("rocky9", 4, "dddddddd")

	for _, tc := range []struct {
		name, digest, repo string
	}{
		{"fork's build, failed build, other inputs", reuseDigest, reuseRepo},
		{"other inputs of a foreign repository", other, "https://git.example.test/fork/images"},
	} {
		if c, err := e.find(tc.digest, tc.repo, mine); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: got %v, %v; want ErrNotFound", tc.name, c, err)
		}
	}
	if c, err := e.find(other, reuseRepo, mine); err != nil || c.Ref != store.MRBuild("rocky9", 3, "cccccccc") {
		t.Errorf("other digest: got %v, %v", c, err)
	}
	if _, err := e.find(reuseDigest, "", mine); err == nil {
		t.Error("a query without a repository was answered")
	}

	// A build is never its own source; a release is preferred to MR builds.
	e.publish(build{ref: mine})
	if _, err := e.find(reuseDigest, reuseRepo, mine); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("found the excluded build itself: %v", err)
	}
	rel := store.Release("rocky9", "1.0.0")
	e.publish(build{ref: rel})
	if c, err := e.find(reuseDigest, reuseRepo, store.MRBuild("rocky9", 5, "eeeeeeee")); err != nil || c.Ref != rel {
		t.Errorf("got %v, %v; want the release %s", c, err, rel)
	}

	// Revoking the release withdraws its inputs: no build of them is reused.
	e.revoke(rel)
	if _, err := e.find(reuseDigest, reuseRepo, store.MRBuild("rocky9", 5, "eeeeeeee")); !errors.Is(err, store.ErrRevoked) {
		t.Errorf("after revoking %s: %v, want ErrRevoked", rel, err)
	}
}

func TestFindReusableSkipsBuildsOnARevokedBase(t *testing.T) {
	e := newReuseEnv(t)
	base := store.Release("base9", "1.0.0")
	e.publish(build{ref: base, digest: "sha256:" + string(bytes.Repeat([]byte("3"), 64))})
	e.publish(build{ref: store.MRBuild("rocky9", 1, "aaaaaaaa"), base: &base})
	to := store.MRBuild("rocky9", 2, "bbbbbbbb")
	if _, err := e.find(reuseDigest, reuseRepo, to); err != nil {
		t.Fatal(err)
	}
	e.revoke(base)
	if c, err := e.find(reuseDigest, reuseRepo, to); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("built on revoked %s: got %v, %v; want ErrNotFound", base, c, err)
	}
}

func TestReuseOfATamperedSourceLeavesNothing(t *testing.T) {
	e := newReuseEnv(t)
	src := store.MRBuild("rocky9", 1, "aaaaaaaa")
	e.publish(build{ref: src, lie: "4444444444444444444444444444444444444444444444444444444444444444"})
	c, err := e.find(reuseDigest, reuseRepo, store.Ref{})
	if err != nil {
		t.Fatal(err)
	}
	to := store.MRBuild("rocky9", 2, "bbbbbbbb")
	_, err = store.Reuse(e.ctx, e.st, store.ReuseRequest{From: c, To: to, BuildID: "b-new", MR: 2, GitSHA: "bbbbbbbb", Started: time.Now()})
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
	if left, err := e.st.List(e.ctx, to.Prefix()); err != nil || len(left) != 0 {
		t.Errorf("left behind: %v, %v", left, err)
	}
}

func TestReuseRefusesAReleaseOfAnotherVersionAndSecrets(t *testing.T) {
	e := newReuseEnv(t)
	src := store.MRBuild("rocky9", 1, "aaaaaaaa")
	e.publish(build{ref: src})
	c, err := e.find(reuseDigest, reuseRepo, store.Ref{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Reuse(e.ctx, e.st, store.ReuseRequest{From: c, To: store.Release("rocky9", "2.0.0"), BuildID: "b"}); err == nil {
		t.Error("reused 1.0.0 files as release 2.0.0")
	}
	to := store.MRBuild("rocky9", 2, "bbbbbbbb")
	_, err = store.Reuse(e.ctx, e.st, store.ReuseRequest{From: c, To: to, BuildID: "b", TriggeredBy: "hunter2-secret", Secrets: []string{"hunter2-secret"}})
	var se *manifest.SecretError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a SecretError", err)
	}
	if left, _ := e.st.List(e.ctx, to.Prefix()); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	// A release at the same version is a valid destination.
	rel := store.Release("rocky9", "1.0.0")
	if _, err := store.Reuse(e.ctx, e.st, store.ReuseRequest{From: c, To: rel, BuildID: "b-rel"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Reuse(e.ctx, e.st, store.ReuseRequest{From: c, To: rel, BuildID: "b-rel2"}); !errors.Is(err, store.ErrExists) {
		t.Errorf("second reuse into the release: %v, want ErrExists", err)
	}
}

func TestBaseFetcherDownloadsTheVerifiedRelease(t *testing.T) {
	e := newReuseEnv(t)
	base := store.Release("rocky9", "1.0.0")
	sum := e.publish(build{ref: base})
	bad := store.Release("rocky9", "1.0.1")
	e.publish(build{ref: bad, lie: "5555555555555555555555555555555555555555555555555555555555555555"})
	f := store.BaseFetcher{Store: e.st}

	dir := t.TempDir()
	path, got, err := f.FetchBase(e.ctx, "rocky9", "1.0.0", reuseDigest, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != sum {
		t.Errorf("sha256 %s, want %s", got, sum)
	}
	if s, _ := store.HashFile(e.ctx, path); s != sum {
		t.Errorf("file on disk hashes to %s, want %s", s, sum)
	}

	for _, tc := range []struct {
		name, version, digest string
		want                  error
	}{
		{"other inputs", "1.0.0", "sha256:" + string(bytes.Repeat([]byte("6"), 64)), store.ErrNotFound},
		{"no such release", "9.9.9", reuseDigest, store.ErrNotFound},
		{"bytes differ from the manifest", "1.0.1", reuseDigest, store.ErrCorrupt},
	} {
		d := t.TempDir()
		if _, _, err := f.FetchBase(e.ctx, "rocky9", tc.version, tc.digest, d); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if left, _ := os.ReadDir(d); len(left) != 0 {
			t.Errorf("%s: left %v in the directory", tc.name, left)
		}
	}
	e.revoke(base)
	if _, _, err := f.FetchBase(e.ctx, "rocky9", "1.0.0", reuseDigest, t.TempDir()); !errors.Is(err, store.ErrRevoked) {
		t.Errorf("revoked: %v, want ErrRevoked", err)
	}
}
