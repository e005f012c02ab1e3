package gitlab_test

import (
	"context"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
)

// TestOpenChangeCommitsAndOpensOnce: the change is committed on its branch
// from main and one merge request is opened; asking again while it is open
// returns it and commits nothing; after it is merged, main has the files.
func TestOpenChangeCommitsAndOpensOnce(t *testing.T) {
	srv := gitlabtest.New(t, token)
	srv.SetFile(42, "main", "images/app/env.yaml", "name: app\nversion: 1.2.0\n")
	srv.SetFile(42, "main", "images/web/env.yaml", "name: web\nversion: 2.0.0\n")
	g := newAdapter(t, srv.URL)
	ctx := context.Background()
	r := forge.Repo{ID: 42, FullName: "infra/images", DefaultBranch: "main"}
	change := forge.Change{Branch: "imagebot/cascade/base9-1.3.0", Title: "Rebuild app on base9 1.3.0", Body: "base9 1.3.0 was released.",
		Files: []forge.File{{Path: "images/app/env.yaml", Content: "name: app\nversion: 1.2.1\n"}}}
	mr, created, err := g.OpenChange(ctx, r, change)
	if err != nil || !created || mr.Number == 0 || mr.HeadBranch != change.Branch || mr.TargetBranch != "main" || mr.State != "opened" {
		t.Fatalf("OpenChange: %+v, %v, %v", mr, created, err)
	}
	files := srv.Files(42, change.Branch)
	if files["images/app/env.yaml"] != "name: app\nversion: 1.2.1\n" || files["images/web/env.yaml"] != "name: web\nversion: 2.0.0\n" {
		t.Fatalf("branch files %q", files)
	}
	if d := srv.Description(42, mr.Number); d != change.Body {
		t.Errorf("description %q", d)
	}
	again, created, err := g.OpenChange(ctx, r, change)
	if err != nil || created || again.Number != mr.Number {
		t.Fatalf("second OpenChange: %+v, %v, %v", again, created, err)
	}
	if n := len(srv.MergeRequests(42)); n != 1 {
		t.Fatalf("%d merge requests, want 1", n)
	}
	commits := 0
	for _, c := range srv.Calls() {
		if strings.HasSuffix(c, "/repository/commits") {
			commits++
		}
	}
	if commits != 1 {
		t.Errorf("%d commits, want 1: %v", commits, srv.Calls())
	}
	srv.Merge(42, mr.Number)
	if got := srv.Files(42, "main")["images/app/env.yaml"]; got != "name: app\nversion: 1.2.1\n" {
		t.Errorf("main after the merge: %q", got)
	}
	// Merged, the branch may be proposed again (force-reset from main).
	third, created, err := g.OpenChange(ctx, r, change)
	if err != nil || !created || third.Number == mr.Number {
		t.Fatalf("after the merge: %+v, %v, %v", third, created, err)
	}
}

func TestOpenChangeRefusesABadChangeBeforeCalling(t *testing.T) {
	srv := gitlabtest.New(t, token)
	g := newAdapter(t, srv.URL)
	r := forge.Repo{ID: 42, FullName: "infra/images", DefaultBranch: "main"}
	for _, c := range []forge.Change{
		{Branch: "bad branch", Title: "t", Files: []forge.File{{Path: "a", Content: "b"}}},
		{Branch: "ok", Title: "t", Files: []forge.File{{Path: "../etc/passwd", Content: "b"}}},
		{Branch: "ok", Title: "t"},
		{Branch: "main", Target: "main", Title: "t", Files: []forge.File{{Path: "a", Content: "b"}}},
	} {
		if _, _, err := g.OpenChange(context.Background(), r, c); err == nil {
			t.Errorf("OpenChange(%+v) accepted", c)
		}
	}
	if calls := srv.Calls(); len(calls) != 0 {
		t.Errorf("calls made: %v", calls)
	}
}
