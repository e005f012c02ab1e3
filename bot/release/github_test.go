package release_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github"
	"github.com/imagebot/imagebot/bot/forge/github/githubtest"
	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
	"github.com/imagebot/imagebot/runner/store/local"
)

type refuseQueue struct{ t *testing.T }

func (q refuseQueue) QueueRelease(_ context.Context, req release.BuildRequest) error {
	q.t.Errorf("a release build of %s was queued", req.Image)
	return errors.New("no builds here")
}

// TestMergeOnGitHub runs GitHub's push webhook of a merged pull request
// (found from "Merge pull request #7 from ...") through the GitHub adapter
// and GitHub's test server: a released version with other inputs is
// refused on the PR and by a failed status; a matching PR build is promoted.
func TestMergeOnGitHub(t *testing.T) {
	const token, secret = "ghp_release_test_token", "gh-webhook-secret"
	repo := newImagesRepoMerged(t, "Merge pull request #7 from alice/feature\n\ntiny: touch the provisioner")
	cat, diags := catalog.Load(repo.dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	head := git(t, repo.dir, "rev-parse", "feature")
	run := func(t *testing.T, seed func(st store.Store)) (*githubtest.Server, store.Store, []release.Decision) {
		gh := githubtest.New(t, token)
		gh.SetPullRequest(githubtest.RepoFullName, forge.MergeRequest{Number: 7, Title: "tiny: touch the provisioner", Author: "alice",
			HeadSHA: head, HeadBranch: "feature", TargetBranch: "main", State: "merged", MergeCommit: repo.after})
		f, err := github.New(github.Config{BaseURL: gh.URL, Token: token, WebhookSecret: secret, Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		st, err := local.New(store.LocalConfig{Dir: t.TempDir(), BaseURL: "http://imagebot.test/download"})
		if err != nil {
			t.Fatal(err)
		}
		seed(st)
		body := githubtest.Payload(t, "push.json", githubtest.Set("before", repo.before), githubtest.Set("after", repo.after))
		ev, err := f.ParseWebhook(githubtest.Request(t, "http://imagebot.test/webhooks/github", secret, "push", "", body), body)
		if err != nil {
			t.Fatal(err)
		}
		rel := &release.Releaser{Store: st, Forge: f, Queue: refuseQueue{t}, Log: zerolog.Nop()}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ds, err := rel.HandlePush(ctx, ev, func(context.Context, forge.Repo, string, string) (string, error) { return repo.dir, nil })
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 {
			t.Fatalf("decisions = %+v", ds)
		}
		return gh, st, ds
	}

	t.Run("ReleasedVersionWithOtherDigestIsRefused", func(t *testing.T) {
		gh, _, ds := run(t, func(st store.Store) {
			browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("tiny", "0.1.0"), Digest: "sha256:0ld", GitSHA: repo.before,
				Files: map[string][]byte{"tiny-0.1.0.qcow2": []byte("old")}})
		})
		if ds[0].Action != release.Refuse {
			t.Fatalf("decision = %s", ds[0].Action)
		}
		if s := gh.LastStatus(repo.after, "imagebot/tiny"); s.State != "failure" || !strings.Contains(s.Description, "bump the version in images/tiny/env.yaml") {
			t.Errorf("status = %+v", s)
		}
		if c := gh.Comments(githubtest.RepoFullName, 7); len(c) != 1 || !strings.Contains(c[0].Body, "**refused**") {
			t.Errorf("comments on #7 = %+v", c)
		}
	})

	t.Run("MatchingPRBuildIsPromoted", func(t *testing.T) {
		gh, st, ds := run(t, func(st store.Store) {
			browsetest.Publish(t, st, browsetest.Build{Ref: store.MRBuild("tiny", 7, head), Version: "0.1.0", Digest: cat.Images["tiny"].Digest,
				GitSHA: head, Files: map[string][]byte{"tiny-0.1.0.qcow2": []byte("PR build")}})
		})
		if ds[0].Action != release.Promote {
			t.Fatalf("decision = %s", ds[0].Action)
		}
		v, err := store.ResolveVersion(context.Background(), st, "tiny", "latest")
		if err != nil || v.Manifest.MergeCommit != repo.after || v.Manifest.SourceBuild == nil {
			t.Fatalf("release: %v %+v", err, v.Manifest)
		}
		if s := gh.LastStatus(repo.after, "imagebot/tiny"); s.State != "success" {
			t.Errorf("status = %+v", s)
		}
	})
}
