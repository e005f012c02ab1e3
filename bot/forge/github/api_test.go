package github_test

import (
	"context"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github"
	"github.com/imagebot/imagebot/bot/forge/github/githubtest"
	"github.com/imagebot/imagebot/bot/forge/retry"
)

func TestCommentCreateAndEdit(t *testing.T) {
	srv := githubtest.New(t, token)
	g := newAdapter(t, srv.URL)
	ctx := context.Background()
	id, err := g.CreateComment(ctx, repo, 7, "queued: rocky9")
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"running: rocky9", "done: rocky9"} {
		if err := g.EditComment(ctx, repo, 7, id, body); err != nil {
			t.Fatal(err)
		}
	}
	cs := srv.Comments("infra/images", 7)
	if len(cs) != 1 || cs[0].ID != id {
		t.Fatalf("comments %+v, want one with id %d", cs, id)
	}
	if want := []string{"queued: rocky9", "running: rocky9", "done: rocky9"}; !reflect.DeepEqual(cs[0].History, want) {
		t.Errorf("history %q, want %q", cs[0].History, want)
	}
	if g.MaxCommentSize() != 65536 {
		t.Errorf("MaxCommentSize %d", g.MaxCommentSize())
	}
	if _, err := g.CreateComment(ctx, forge.Repo{FullName: "no-slash"}, 7, "x"); err == nil {
		t.Error("a repository name without owner was accepted")
	}
}

func TestSetStatusMapsRunningToPending(t *testing.T) {
	srv := githubtest.New(t, token)
	g := newAdapter(t, srv.URL)
	ctx := context.Background()
	sha := githubtest.HeadSHA
	for _, st := range []forge.Status{
		{Context: "imagebot/rocky9", State: forge.StatePending, Description: "queued", TargetURL: "http://bot.example.com/builds/1"},
		{Context: "imagebot/rocky9", State: forge.StateRunning, Description: "packer build, 2m"},
		{Context: "imagebot/rocky9", State: forge.StateRunning},
		{Context: "imagebot/debian12", State: forge.StateFailure, Description: strings.Repeat("ü", 300)},
		{Context: "imagebot/rocky9", State: forge.StateSuccess, Description: "built in 4m"},
	} {
		if err := g.SetStatus(ctx, repo, sha, st); err != nil {
			t.Fatalf("%+v: %v", st, err)
		}
	}
	var got []string
	for _, s := range srv.Statuses(sha) {
		got = append(got, s.Context+"="+s.State+":"+s.Description[:min(len(s.Description), 26)])
	}
	want := []string{
		"imagebot/rocky9=pending:queued",
		"imagebot/rocky9=pending:running: packer build, 2m",
		"imagebot/rocky9=pending:running",
		"imagebot/debian12=failure:" + strings.Repeat("ü", 13),
		"imagebot/rocky9=success:built in 4m",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statuses\n%q\nwant\n%q", got, want)
	}
	if st := srv.LastStatus(sha, "imagebot/rocky9"); st.TargetURL != "" || st.State != "success" {
		t.Errorf("last status %+v", st)
	}
	if srv.Statuses(sha)[0].TargetURL != "http://bot.example.com/builds/1" {
		t.Errorf("target_url lost: %+v", srv.Statuses(sha)[0])
	}
}

func TestPermission(t *testing.T) {
	srv := githubtest.New(t, token)
	roles := map[string]forge.Permission{
		"admin": forge.PermissionAdmin, "maintain": forge.PermissionMaintain, "write": forge.PermissionWrite,
		"triage": forge.PermissionRead, "read": forge.PermissionRead, "none": forge.PermissionNone,
		"release-manager": forge.PermissionWrite, // a custom role on the write base
	}
	for role := range roles {
		srv.SetPermission("u-"+role, role)
	}
	g := newAdapter(t, srv.URL)
	for role, want := range roles {
		got, err := g.Permission(context.Background(), repo, "u-"+role)
		if err != nil || got != want {
			t.Errorf("role %s: %v, %v; want %v", role, got, err, want)
		}
	}
	if got, err := g.Permission(context.Background(), repo, "ghost"); err != nil || got != forge.PermissionNone {
		t.Errorf("unknown user: %v, %v", got, err)
	}
}

func TestGetMergeRequest(t *testing.T) {
	srv := githubtest.New(t, token)
	srv.SetPullRequest("infra/images", forge.MergeRequest{Number: 7, Title: "t", Author: "bob", HeadSHA: githubtest.HeadSHA,
		HeadBranch: "rocky9-kernel", TargetBranch: "main", WebURL: "https://github.com/infra/images/pull/7",
		SourceRepo: forge.Repo{ID: githubtest.ForkID, FullName: "bob/images", CloneURL: "https://github.com/bob/images.git",
			WebURL: "https://github.com/bob/images", DefaultBranch: "main"}})
	srv.SetPullRequest("infra/images", forge.MergeRequest{Number: 8, Author: "alice", HeadSHA: githubtest.OldSHA,
		State: "merged", MergeCommit: githubtest.MergeSHA})
	g := newAdapter(t, srv.URL)
	got, err := g.GetMergeRequest(context.Background(), repo, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := forge.MergeRequest{Number: 7, Title: "t", Author: "bob", HeadSHA: githubtest.HeadSHA, HeadBranch: "rocky9-kernel",
		TargetBranch: "main", FromFork: true, State: "opened",
		WebURL: "https://github.com/infra/images/pull/7", SourceRepo: fork}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	merged, err := g.GetMergeRequest(context.Background(), repo, 8)
	if err != nil || merged.State != "merged" || merged.MergeCommit != githubtest.MergeSHA || merged.FromFork {
		t.Errorf("merged PR: %+v, %v", merged, err)
	}
}

func TestRetriesOn500(t *testing.T) {
	srv := githubtest.New(t, token)
	srv.Inject(githubtest.Fault{Method: http.MethodPatch, Code: 502, Times: 2})
	var waits []time.Duration
	g, err := github.New(github.Config{BaseURL: srv.URL, Token: token, WebhookSecret: secret,
		HTTPClient: (&retry.Transport{Sleep: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return nil
		}}).Client(0)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := g.CreateComment(ctx, repo, 7, "one")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.EditComment(ctx, repo, 7, id, "two"); err != nil {
		t.Fatal(err)
	}
	if cs := srv.Comments("infra/images", 7); len(cs) != 1 || cs[0].Body != "two" {
		t.Errorf("comments %+v", cs)
	}
	if len(waits) != 2 {
		t.Errorf("waits %v, want 2", waits)
	}
}

func TestRetryHonoursRetryAfterOn429(t *testing.T) {
	srv := githubtest.New(t, token)
	srv.Inject(githubtest.Fault{Method: http.MethodPost, PathContains: "/statuses/", Code: 429, RetryAfter: "1"})
	g := newAdapter(t, srv.URL) // real retry.Transport, real waiting
	start := time.Now()
	if err := g.SetStatus(context.Background(), repo, githubtest.HeadSHA,
		forge.Status{Context: "imagebot/rocky9", State: forge.StatePending}); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v, before Retry-After's 1s", waited)
	}
	if len(srv.Statuses(githubtest.HeadSHA)) != 1 {
		t.Errorf("statuses %+v", srv.Statuses(githubtest.HeadSHA))
	}
}

func TestRetryWaitsForSecondaryRateLimit(t *testing.T) {
	srv := githubtest.New(t, token)
	reset := time.Now().Add(2 * time.Second).Unix()
	srv.Inject(githubtest.Fault{Method: http.MethodPost, Code: 403, Header: map[string]string{
		"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset, 10)}})
	var waits []time.Duration
	g, err := github.New(github.Config{BaseURL: srv.URL, Token: token, WebhookSecret: secret,
		HTTPClient: (&retry.Transport{Sleep: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return nil
		}}).Client(0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.CreateComment(context.Background(), repo, 7, "x"); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] < time.Second || waits[0] > 4*time.Second {
		t.Errorf("waits %v, want one until the reset (~2-3s)", waits)
	}
}

func TestCloneAuth(t *testing.T) {
	user, tok := newAdapter(t, "").CloneAuth()
	if user != "x-access-token" || tok != token {
		t.Errorf("CloneAuth = %q, %q", user, tok)
	}
}
