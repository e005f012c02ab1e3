package github_test

import (
	"context"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github/githubtest"
)

// TestOpenChangeCommitsAndOpensOnce: the change is committed on its branch
// (tree, commit, ref) from main and one pull request is opened; asking
// again while it is open returns it and commits nothing; once merged, the
// left-over branch is moved (forced) for the next proposal.
func TestOpenChangeCommitsAndOpensOnce(t *testing.T) {
	srv := githubtest.New(t, token)
	srv.SetFile("infra/images", "main", "images/app/env.yaml", "name: app\nversion: 1.2.0\n")
	srv.SetFile("infra/images", "main", "images/web/env.yaml", "name: web\nversion: 2.0.0\n")
	g := newAdapter(t, srv.URL)
	ctx := context.Background()
	change := forge.Change{Branch: "imagebot/cascade/base9-1.3.0", Title: "Rebuild app on base9 1.3.0", Body: "base9 1.3.0 was released.",
		Files: []forge.File{{Path: "images/app/env.yaml", Content: "name: app\nversion: 1.2.1\n"}}}
	mr, created, err := g.OpenChange(ctx, repo, change)
	if err != nil || !created || mr.Number == 0 || mr.HeadBranch != change.Branch || mr.TargetBranch != "main" || mr.State != "opened" {
		t.Fatalf("OpenChange: %+v, %v, %v", mr, created, err)
	}
	files := srv.Files("infra/images", change.Branch)
	if files["images/app/env.yaml"] != "name: app\nversion: 1.2.1\n" || files["images/web/env.yaml"] != "name: web\nversion: 2.0.0\n" {
		t.Fatalf("branch files %q", files)
	}
	if b := srv.Body("infra/images", mr.Number); b != change.Body {
		t.Errorf("body %q", b)
	}
	again, created, err := g.OpenChange(ctx, repo, change)
	if err != nil || created || again.Number != mr.Number {
		t.Fatalf("second OpenChange: %+v, %v, %v", again, created, err)
	}
	if n := len(srv.PullRequests("infra/images")); n != 1 {
		t.Fatalf("%d pull requests, want 1", n)
	}
	commits := 0
	for _, c := range srv.Calls() {
		if strings.HasSuffix(c, "/git/commits") {
			commits++
		}
	}
	if commits != 1 {
		t.Errorf("%d commits, want 1: %v", commits, srv.Calls())
	}
	srv.Merge("infra/images", mr.Number)
	if got := srv.Files("infra/images", "main")["images/app/env.yaml"]; got != "name: app\nversion: 1.2.1\n" {
		t.Errorf("main after the merge: %q", got)
	}
	change.Files[0].Content = "name: app\nversion: 1.2.2\n"
	third, created, err := g.OpenChange(ctx, repo, change)
	if err != nil || !created || third.Number == mr.Number {
		t.Fatalf("after the merge: %+v, %v, %v", third, created, err)
	}
	if got := srv.Files("infra/images", change.Branch)["images/app/env.yaml"]; got != "name: app\nversion: 1.2.2\n" {
		t.Errorf("the branch was not moved: %q", got)
	}
}
