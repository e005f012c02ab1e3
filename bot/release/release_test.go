package release_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
	"github.com/imagebot/imagebot/runner/store/local"
)

// notes records what release tells a forge. The end-to-end tests use the
// forge test servers; these test the decisions alone.
type notes struct {
	mu       sync.Mutex
	comments []string
	statuses map[string]forge.Status
}

func (n *notes) CreateComment(_ context.Context, _ forge.Repo, mr int, body string) (int64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.comments = append(n.comments, body)
	return int64(len(n.comments)), nil
}

func (n *notes) SetStatus(_ context.Context, _ forge.Repo, sha string, st forge.Status) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.statuses == nil {
		n.statuses = map[string]forge.Status{}
	}
	n.statuses[sha+" "+st.Context] = st
	return nil
}

func (n *notes) GetMergeRequest(_ context.Context, _ forge.Repo, mr int) (forge.MergeRequest, error) {
	return forge.MergeRequest{Number: mr, State: "merged", MergeCommit: merge}, nil
}

type queue struct{ got []release.BuildRequest }

func (q *queue) QueueRelease(_ context.Context, req release.BuildRequest) error {
	q.got = append(q.got, req)
	return nil
}

const merge = "feedfacecafebeef0000111122223333aaaabbbb"

func setup(t *testing.T) (*release.Releaser, *local.Store, *notes, *queue) {
	t.Helper()
	st, err := local.New(store.LocalConfig{Dir: t.TempDir(), BaseURL: "http://bot.test/download"})
	if err != nil {
		t.Fatal(err)
	}
	n, q := &notes{}, &queue{}
	return &release.Releaser{Store: st, Forge: n, Queue: q, PageURL: "http://bot.test/images", Log: zerolog.Nop()}, st, n, q
}

// cat is a catalog of a base image and a child deriving from it.
func cat() *catalog.Catalog {
	return &catalog.Catalog{
		Images: map[string]*catalog.Image{
			"base":  {Name: "base", Dir: "images/base", Env: catalog.Env{Name: "base", Version: "1.0.0"}, Digest: "sha256:base100"},
			"child": {Name: "child", Dir: "images/child", Env: catalog.Env{Name: "child", Version: "2.0.0", Base: "base"}, Digest: "sha256:child200"},
		},
		Order: []string{"base", "child"},
	}
}

func push() release.Push {
	return release.Push{
		Repo: forge.Repo{FullName: "team/images"}, Before: "0000", After: merge, Actor: "maria",
		MR: &forge.MergeRequest{Number: 12, State: "merged", MergeCommit: merge},
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestReleaseQueuesBuildsBasesFirstWhenNoBuildMatches(t *testing.T) {
	r, _, n, q := setup(t)
	ds, err := r.Release(ctx(t), push(), cat(), []string{"base", "child"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Action != release.Build || ds[1].Action != release.Build {
		t.Fatalf("decisions = %+v", ds)
	}
	if len(q.got) != 2 || q.got[0].Image != "base" || q.got[1].Image != "child" {
		t.Fatalf("queued = %+v, want base then child", q.got)
	}
	child := q.got[1]
	if child.MergeCommit != merge || child.MR != 12 || child.Version != "2.0.0" || child.Digest != "sha256:child200" ||
		child.Prefix != "child/releases/2.0.0/" || child.Base == nil || child.Base.Image != "base" || child.Base.Version != "1.0.0" {
		t.Errorf("child request = %+v (base %+v)", child, child.Base)
	}
	if st := n.statuses[merge+" imagebot/child"]; st.State != forge.StatePending || st.TargetURL != "http://bot.test/images/child" {
		t.Errorf("child status = %+v", st)
	}
	if len(n.comments) != 1 || !strings.Contains(n.comments[0], "| child | 2.0.0 | building") {
		t.Errorf("comments = %q", n.comments)
	}
}

func TestReleasePromotesTheMRBuildWithTheSameDigest(t *testing.T) {
	r, st, n, q := setup(t)
	browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("base", "1.0.0"), Digest: "sha256:base100", GitSHA: "1111111111",
		Files: map[string][]byte{"base-1.0.0.qcow2": []byte("base disk")}})
	// Two MR builds of child: another digest, and the same one.
	browsetest.Publish(t, st, browsetest.Build{Ref: store.MRBuild("child", 12, "aaaaaaaa11"), Version: "2.0.0", Digest: "sha256:older", GitSHA: "aaaaaaaa11",
		Files: map[string][]byte{"child-2.0.0.qcow2": []byte("old disk")}})
	src := browsetest.Publish(t, st, browsetest.Build{Ref: store.MRBuild("child", 12, "bbbbbbbb22"), Version: "2.0.0", Digest: "sha256:child200", GitSHA: "bbbbbbbb22",
		Files: map[string][]byte{"child-2.0.0.qcow2": []byte("the disk"), "child-2.0.0.ova": []byte("the ova")}, Log: "built\n"})

	ds, err := r.Release(ctx(t), push(), cat(), []string{"child"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Action != release.Promote || ds[0].From.String() != "child@mr12-bbbbbbbb" {
		t.Fatalf("decisions = %+v", ds)
	}
	if len(q.got) != 0 {
		t.Fatalf("a promotion queued a build: %+v", q.got)
	}
	v, err := store.ResolveVersion(ctx(t), st, "child", "2.0.0")
	if err != nil {
		t.Fatal(err)
	}
	m := v.Manifest
	if !m.Release || m.MR != 12 || m.MergeCommit != merge || m.InputsDigest != "sha256:child200" || m.BuildID != src.BuildID {
		t.Errorf("release manifest = %s", m.Raw)
	}
	if m.SourceBuild == nil || m.SourceBuild.Path != "child/mr/12/bbbbbbbb/" || m.SourceBuild.GitSHA != "bbbbbbbb22" {
		t.Errorf("source_build = %+v", m.SourceBuild)
	}
	if m.BaseImage == nil || m.BaseImage.Image != "base" || m.BaseImage.Version != "1.0.0" || m.BaseImage.BuildID == "" {
		t.Errorf("base_image = %+v", m.BaseImage)
	}
	for _, f := range src.Files {
		o, ok := v.File(f.Name)
		if !ok || o.Size != f.Size {
			t.Errorf("release lacks %s (%+v)", f.Name, o)
		}
	}
	if _, ok := v.File(store.LogName); !ok {
		t.Error("the build log was not promoted")
	}
	var raw map[string]any
	if json.Unmarshal(m.Raw, &raw) != nil || raw["packer_version"] != "1.9.4" {
		t.Errorf("the runner's fields were not kept: %s", m.Raw)
	}
	if st := n.statuses[merge+" imagebot/child"]; st.State != forge.StateSuccess || !strings.Contains(st.Description, "promoting") {
		t.Errorf("status = %+v", st)
	}
}

func TestReleaseRefusesAReleasedVersionWithOtherInputs(t *testing.T) {
	r, st, n, q := setup(t)
	browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("base", "1.0.0"), Digest: "sha256:someotherdigest", GitSHA: "1111111111",
		Files: map[string][]byte{"base-1.0.0.qcow2": []byte("released disk")}})

	ds, err := r.Release(ctx(t), push(), cat(), []string{"base", "child"})
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].Action != release.Refuse || ds[1].Action != release.Refuse {
		t.Fatalf("decisions = %+v", ds)
	}
	if len(q.got) != 0 {
		t.Fatalf("queued %+v after a refusal", q.got)
	}
	s := n.statuses[merge+" imagebot/base"]
	if s.State != forge.StateFailure || !strings.Contains(s.Description, "bump the version in images/base/env.yaml") {
		t.Errorf("base status = %+v", s)
	}
	if s := n.statuses[merge+" imagebot/child"]; s.State != forge.StateFailure {
		t.Errorf("child status = %+v", s)
	}
	if len(n.comments) != 1 || !strings.Contains(n.comments[0], "**refused**") || !strings.Contains(n.comments[0], "bump the version in images/base/env.yaml") {
		t.Errorf("comment = %q", n.comments)
	}
	v, err := store.ResolveVersion(ctx(t), st, "base", "1.0.0")
	if err != nil || v.Manifest.InputsDigest != "sha256:someotherdigest" {
		t.Errorf("the release was touched: %v %+v", err, v.Manifest)
	}
}

func TestReleaseOfTheSameDigestAgainDoesNothing(t *testing.T) {
	r, st, n, q := setup(t)
	browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("base", "1.0.0"), Digest: "sha256:base100", GitSHA: "1111111111",
		Files: map[string][]byte{"base-1.0.0.qcow2": []byte("released disk")}})
	ds, err := r.Release(ctx(t), push(), cat(), []string{"base"})
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].Action != release.UpToDate || len(q.got) != 0 {
		t.Fatalf("decisions = %+v, queued %+v", ds, q.got)
	}
	if s := n.statuses[merge+" imagebot/base"]; s.State != forge.StateSuccess || !strings.Contains(s.Description, "already released with the same inputs") {
		t.Errorf("status = %+v", s)
	}
	if !strings.Contains(n.comments[0], "nothing to do") {
		t.Errorf("comment = %q", n.comments[0])
	}
}

type noBuilds struct{ t *testing.T }

func (b noBuilds) Build(context.Context, *catalog.Catalog, runner.Request, runner.EventFunc) (*runner.Result, error) {
	b.t.Error("Packer was run for a release that is already published")
	return nil, context.Canceled
}

func TestBuildReleaseRerunOfAPublishedReleaseBuildsNothing(t *testing.T) {
	r, st, n, _ := setup(t)
	browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("base", "1.0.0"), Digest: "sha256:base100", GitSHA: merge,
		Files: map[string][]byte{"base-1.0.0.qcow2": []byte("disk")}})
	req := release.BuildRequest{Repo: forge.Repo{FullName: "team/images"}, Image: "base", Version: "1.0.0", Digest: "sha256:base100", MergeCommit: merge}
	if _, err := r.BuildRelease(ctx(t), noBuilds{t}, cat(), req, "b1", t.TempDir(), nil, nil); err != nil {
		t.Fatal(err)
	}
	if s := n.statuses[merge+" imagebot/base"]; s.State != forge.StateSuccess {
		t.Errorf("status = %+v", s)
	}
	req.Digest = "sha256:other"
	if _, err := r.BuildRelease(ctx(t), noBuilds{t}, cat(), req, "b2", t.TempDir(), nil, nil); !errors.Is(err, store.ErrExists) {
		t.Errorf("other digest: %v, want ErrExists", err)
	}
}

// Issue 11 item 11: a merge releases only its own MR's build. Another MR's
// build of exactly the same inputs (open, closed or from elsewhere) is not
// promoted, nor is anything for a direct push: a release build is queued.
func TestReleasePromotesOnlyTheMergedMRsBuild(t *testing.T) {
	for _, tc := range []struct {
		name string
		mr   *forge.MergeRequest
	}{
		{"another MR merged", &forge.MergeRequest{Number: 5, State: "merged", MergeCommit: merge}},
		{"direct push", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, st, _, q := setup(t)
			browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("base", "1.0.0"), Digest: "sha256:base100", GitSHA: "1111111111",
				Files: map[string][]byte{"base-1.0.0.qcow2": []byte("base disk")}})
			browsetest.Publish(t, st, browsetest.Build{Ref: store.MRBuild("child", 12, "bbbbbbbb22"), Version: "2.0.0", Digest: "sha256:child200", GitSHA: "bbbbbbbb22",
				Files: map[string][]byte{"child-2.0.0.qcow2": []byte("MR 12's disk")}})
			p := push()
			p.MR = tc.mr
			ds, err := r.Release(ctx(t), p, cat(), []string{"child"})
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != 1 || ds[0].Action != release.Build || len(q.got) != 1 {
				t.Fatalf("decisions = %+v, queued %+v: want a release build, not MR 12's build", ds, q.got)
			}
		})
	}
}
