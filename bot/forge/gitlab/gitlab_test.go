package gitlab_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/gitlab"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/bot/forge/retry"
)

const token = "glpat-test-token"

func TestCommentCreateAndEdit(t *testing.T) {
	srv := gitlabtest.New(t, token)
	g := newAdapter(t, srv.URL)
	ctx := context.Background()
	id, err := g.CreateComment(ctx, repo, 7, "queued: rocky9")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.EditComment(ctx, repo, 7, id, "running: rocky9"); err != nil {
		t.Fatal(err)
	}
	// Addressed by path instead of id, as when only the name is known.
	byPath := forge.Repo{FullName: "infra/images"}
	if err := g.EditComment(ctx, byPath, 7, id, "done: rocky9"); err != nil {
		t.Fatal(err)
	}
	notes := srv.Comments(42, 7)
	if len(notes) != 1 || notes[0].ID != id {
		t.Fatalf("notes %+v, want one with id %d", notes, id)
	}
	if want := []string{"queued: rocky9", "running: rocky9", "done: rocky9"}; !reflect.DeepEqual(notes[0].History, want) {
		t.Errorf("history %q, want %q", notes[0].History, want)
	}
	if g.MaxCommentSize() != 1_000_000 {
		t.Errorf("MaxCommentSize %d", g.MaxCommentSize())
	}
}

func TestSetStatus(t *testing.T) {
	srv := gitlabtest.New(t, token)
	g := newAdapter(t, srv.URL)
	ctx := context.Background()
	sha := gitlabtest.HeadSHA
	steps := []forge.Status{
		{Context: "imagebot/rocky9", State: forge.StatePending, Description: "queued", TargetURL: "http://bot.example.com/builds/1"},
		{Context: "imagebot/rocky9", State: forge.StateRunning, Description: "packer build"},
		{Context: "imagebot/rocky9", State: forge.StateRunning, Description: "still running"}, // GitLab 400s this; not an error
		{Context: "imagebot/debian12", State: forge.StateFailure, Description: strings.Repeat("é", 200)},
		{Context: "imagebot/rocky9", State: forge.StateSuccess, Description: "built in 4m"},
	}
	for _, st := range steps {
		if err := g.SetStatus(ctx, repo, sha, st); err != nil {
			t.Fatalf("%+v: %v", st, err)
		}
	}
	got := srv.Statuses(sha)
	var states []string
	for _, s := range got {
		states = append(states, s.Name+"="+s.State)
	}
	want := []string{"imagebot/rocky9=pending", "imagebot/rocky9=running", "imagebot/debian12=failed", "imagebot/rocky9=success"}
	if !reflect.DeepEqual(states, want) {
		t.Errorf("statuses %v, want %v", states, want)
	}
	if got[0].TargetURL != "http://bot.example.com/builds/1" {
		t.Errorf("target_url %q", got[0].TargetURL)
	}
	if d := got[2].Description; len(d) > 255 || !strings.HasSuffix(d, "…") {
		t.Errorf("long description not cut to 255 bytes: %d bytes", len(d))
	}
	if err := g.SetStatus(ctx, repo, sha, forge.Status{Context: "x", State: "bogus"}); err == nil {
		t.Error("unknown state accepted")
	}
}

func TestPermission(t *testing.T) {
	srv := gitlabtest.New(t, token)
	srv.SetAccess("alice", gitlabtest.Maintainer)
	srv.SetAccess("dev", gitlabtest.Developer)
	srv.SetAccess("rep", gitlabtest.Reporter)
	srv.SetAccess("guest", gitlabtest.Guest)
	srv.SetAccess("owner", gitlabtest.Owner)
	srv.SetAccess("outsider", 0)
	srv.SetAccess("blocked", gitlabtest.Developer)
	srv.Block("blocked")
	g := newAdapter(t, srv.URL)
	want := map[string]forge.Permission{
		"alice": forge.PermissionMaintain, "dev": forge.PermissionWrite, "rep": forge.PermissionRead,
		"guest": forge.PermissionRead, "owner": forge.PermissionAdmin, "outsider": forge.PermissionNone,
		"nosuchuser": forge.PermissionNone, "blocked": forge.PermissionNone, "Dev": forge.PermissionWrite,
	}
	for user, w := range want {
		got, err := g.Permission(context.Background(), repo, user)
		if err != nil || got != w {
			t.Errorf("Permission(%s) = %v, %v; want %v", user, got, err, w)
		}
	}
	// Ids and permissions are cached for a short while (issue 11 item 6):
	// ten more lookups of dev ask the forge nothing.
	before := len(srv.Calls())
	for i := 0; i < 10; i++ {
		if _, err := g.Permission(context.Background(), repo, "dev"); err != nil {
			t.Fatal(err)
		}
	}
	if calls := srv.Calls()[before:]; len(calls) != 0 {
		t.Errorf("repeated lookups made calls %v, want none", calls)
	}
}

func TestGetMergeRequest(t *testing.T) {
	srv := gitlabtest.New(t, token)
	srv.SetMergeRequest(42, forge.MergeRequest{Number: 7, Title: "t", Author: "bob", HeadSHA: gitlabtest.HeadSHA,
		HeadBranch: "rocky9-kernel", TargetBranch: "main", SourceRepo: forge.Repo{ID: 99}, Draft: true, WebURL: "http://x/7"})
	g := newAdapter(t, srv.URL)
	got, err := g.GetMergeRequest(context.Background(), repo, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := forge.MergeRequest{Number: 7, Title: "t", Author: "bob", HeadSHA: gitlabtest.HeadSHA, HeadBranch: "rocky9-kernel",
		TargetBranch: "main", SourceRepo: forge.Repo{ID: 99}, FromFork: true,
		Draft: true, State: "opened", WebURL: "http://x/7"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestRetriesOn500(t *testing.T) {
	srv := gitlabtest.New(t, token)
	srv.Inject(gitlabtest.Fault{Method: http.MethodPost, PathContains: "/notes", Code: 500, Times: 2})
	var waits []time.Duration
	g, err := gitlab.New(gitlab.Config{BaseURL: srv.URL, Token: token, WebhookSecret: secret,
		HTTPClient: (&retry.Transport{Sleep: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return nil
		}}).Client(0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.CreateComment(context.Background(), repo, 7, "hello"); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Comments(42, 7)); n != 1 {
		t.Errorf("%d comments after two 500s and a success, want 1", n)
	}
	if len(waits) != 2 || len(srv.Calls()) != 3 {
		t.Errorf("waits %v, calls %v; want 2 backoffs and 3 calls", waits, srv.Calls())
	}
}

func TestRetryHonoursRetryAfterOn429(t *testing.T) {
	srv := gitlabtest.New(t, token)
	srv.Inject(gitlabtest.Fault{Method: http.MethodPost, PathContains: "/statuses/", Code: 429, RetryAfter: "1"})
	g := newAdapter(t, srv.URL) // the default client: a real retry.Transport, real waiting
	start := time.Now()
	err := g.SetStatus(context.Background(), repo, gitlabtest.HeadSHA, forge.Status{Context: "imagebot/rocky9", State: forge.StatePending})
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v, before Retry-After's 1s", waited)
	}
	if st := srv.LastStatus(gitlabtest.HeadSHA, "imagebot/rocky9"); st.State != "pending" {
		t.Errorf("status %+v after the retry", st)
	}
}

func TestRetryGivesUpWhenContextEnds(t *testing.T) {
	srv := gitlabtest.New(t, token)
	srv.Inject(gitlabtest.Fault{Code: 503, RetryAfter: "30", Times: 5})
	g := newAdapter(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := g.CreateComment(ctx, repo, 7, "x")
	if err == nil {
		t.Fatal("no error while GitLab answers 503")
	}
	if len(srv.Comments(42, 7)) != 0 || len(srv.Calls()) != 1 {
		t.Errorf("calls %v", srv.Calls())
	}
}

func TestCloneAuth(t *testing.T) {
	user, tok := newAdapter(t, "").CloneAuth()
	if user != "oauth2" || tok != "glpat-test-token" {
		t.Errorf("CloneAuth = %q, %q", user, tok)
	}
}
