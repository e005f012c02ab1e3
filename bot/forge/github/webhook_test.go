package github_test

import (
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github"
	"github.com/imagebot/imagebot/bot/forge/github/githubtest"
)

const (
	secret = "hook-s3cret"
	token  = "ghs_testtoken"
)

func newAdapter(t testing.TB, baseURL string) *github.GitHub {
	t.Helper()
	g, err := github.New(github.Config{BaseURL: baseURL, Token: token, WebhookSecret: secret, BotUser: "imagebot"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var (
	repo = forge.Repo{ID: githubtest.RepoID, FullName: "infra/images", CloneURL: "https://github.com/infra/images.git",
		DefaultBranch: "main", WebURL: "https://github.com/infra/images"}
	fork = forge.Repo{ID: githubtest.ForkID, FullName: "bob/images", CloneURL: "https://github.com/bob/images.git",
		DefaultBranch: "main", WebURL: "https://github.com/bob/images"}
)

func pr(edit func(*forge.MergeRequest)) *forge.MergeRequest {
	m := &forge.MergeRequest{Number: 7, Title: "rocky9: newer kernel", Author: "alice", HeadSHA: githubtest.HeadSHA,
		HeadBranch: "rocky9-kernel", TargetBranch: "main",
		SourceRepo: repo, State: "opened", WebURL: "https://github.com/infra/images/pull/7"}
	if edit != nil {
		edit(m)
	}
	return m
}

// commentPR is what an issue_comment tells of its pull request: no head.
func commentPR(edit func(*forge.MergeRequest)) *forge.MergeRequest {
	m := &forge.MergeRequest{Number: 7, Title: "rocky9: newer kernel", Author: "alice",
		SourceRepo: repo, State: "opened", WebURL: "https://github.com/infra/images/pull/7"}
	if edit != nil {
		edit(m)
	}
	return m
}

func TestParseWebhookPayloads(t *testing.T) {
	const id = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
	const body = "Looks right to me.\r\n\r\n/build rocky9\r\n"
	tests := []struct {
		name    string
		event   string
		fixture string
		edits   []githubtest.Edit
		want    forge.Event
	}{
		{"pull request opened", "pull_request", "pull_request_opened.json", nil, forge.Event{
			Type: forge.MergeRequestOpened, Actor: "alice", MR: pr(nil)}},
		{"reopened", "pull_request", "pull_request_reopened.json", nil, forge.Event{
			Type: forge.MergeRequestOpened, Actor: "alice", MR: pr(nil)}},
		{"synchronize (new commits)", "pull_request", "pull_request_synchronize.json", nil, forge.Event{
			Type: forge.MergeRequestUpdated, Actor: "alice", MR: pr(nil), Before: githubtest.OldSHA, After: githubtest.HeadSHA}},
		{"closed and merged", "pull_request", "pull_request_closed_merged.json", nil, forge.Event{
			Type: forge.MergeRequestMerged, Actor: "alice", MR: pr(func(m *forge.MergeRequest) {
				m.State, m.MergeCommit = "merged", githubtest.MergeSHA
			})}},
		{"closed unmerged", "pull_request", "pull_request_closed_unmerged.json", nil, forge.Event{
			Type: forge.MergeRequestClosed, Actor: "alice", MR: pr(func(m *forge.MergeRequest) { m.State = "closed" })}},
		{"draft", "pull_request", "pull_request_draft.json", nil, forge.Event{
			Type: forge.MergeRequestOpened, Actor: "alice", MR: pr(func(m *forge.MergeRequest) { m.Draft = true })}},
		{"fork", "pull_request", "pull_request_fork.json", nil, forge.Event{
			Type: forge.MergeRequestOpened, Actor: "bob", MR: pr(func(m *forge.MergeRequest) {
				m.Author, m.FromFork, m.SourceRepo = "bob", true, fork
			})}},
		{"fork whose repository was deleted", "pull_request", "pull_request_fork.json",
			[]githubtest.Edit{githubtest.Set("pull_request.head.repo", nil)}, forge.Event{
				Type: forge.MergeRequestOpened, Actor: "bob", MR: pr(func(m *forge.MergeRequest) {
					m.Author, m.FromFork, m.SourceRepo = "bob", true, forge.Repo{}
				})}},
		{"title edited is ignored", "pull_request", "pull_request_edited.json", nil, forge.Event{
			Type: forge.Ignored, Actor: "alice", MR: pr(nil)}},
		{"comment on a pull request", "issue_comment", "issue_comment_pr.json", nil, forge.Event{
			Type: forge.MergeRequestComment, Actor: "alice", MR: commentPR(nil), Comment: body}},
		{"comment on a plain issue is ignored", "issue_comment", "issue_comment_issue.json", nil, forge.Event{
			Type: forge.Ignored, Actor: "bob"}},
		{"edited comment is ignored", "issue_comment", "issue_comment_pr_edited.json", nil, forge.Event{
			Type: forge.Ignored, Actor: "alice", MR: commentPR(nil), Comment: "/build rocky9 debian12"}},
		{"deleted comment is ignored", "issue_comment", "issue_comment_pr.json",
			[]githubtest.Edit{githubtest.Set("action", "deleted")}, forge.Event{
				Type: forge.Ignored, Actor: "alice", MR: commentPR(nil), Comment: body}},
		{"the bot's own comment is ignored", "issue_comment", "issue_comment_pr.json",
			[]githubtest.Edit{githubtest.Set("comment.user.login", "ImageBot")}, forge.Event{
				Type: forge.Ignored, Actor: "ImageBot", MR: commentPR(nil), Comment: body}},
		{"push to the default branch", "push", "push.json", nil, forge.Event{
			Type: forge.Push, Actor: "alice", Ref: "refs/heads/main", Before: githubtest.HeadSHA, After: githubtest.MergeSHA}},
		{"push deleting a branch", "push", "push_branch_deleted.json", nil, forge.Event{
			Type: forge.Push, Actor: "alice", Ref: "refs/heads/rocky9-kernel", Before: githubtest.HeadSHA,
			After: "0000000000000000000000000000000000000000"}},
		{"ping is ignored", "ping", "push.json", nil, forge.Event{Type: forge.Ignored}},
	}
	g := newAdapter(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := githubtest.Payload(t, tt.fixture, tt.edits...)
			req := githubtest.Request(t, "http://bot/webhooks/github", secret, tt.event, id, b)
			body, _ := io.ReadAll(req.Body)
			got, err := g.ParseWebhook(req, body)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Forge, want.DeliveryID = "github", id
			if want.Actor != "" {
				want.Repo = repo
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", describe(got), describe(want))
			}
		})
	}
}

func describe(e forge.Event) any {
	type shown struct {
		forge.Event
		MR forge.MergeRequest
	}
	s := shown{Event: e}
	if e.MR != nil {
		s.MR = *e.MR
	}
	return s
}

func TestParseWebhookRefusesBadSignature(t *testing.T) {
	g := newAdapter(t, "")
	body := githubtest.Payload(t, "issue_comment_pr.json")
	good := githubtest.Sign(secret, body)
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] ^= 1
	cases := map[string]func(*http.Request) []byte{
		"wrong secret": func(r *http.Request) []byte {
			r.Header.Set("X-Hub-Signature-256", githubtest.Sign("other", body))
			return body
		},
		"tampered body": func(r *http.Request) []byte { return tampered },
		"missing":       func(r *http.Request) []byte { r.Header.Del("X-Hub-Signature-256"); return body },
		"no prefix":     func(r *http.Request) []byte { r.Header.Set("X-Hub-Signature-256", good[len("sha256="):]); return body },
		"not hex":       func(r *http.Request) []byte { r.Header.Set("X-Hub-Signature-256", "sha256=zz"); return body },
		"truncated":     func(r *http.Request) []byte { r.Header.Set("X-Hub-Signature-256", good[:20]); return body },
		"sha1 label":    func(r *http.Request) []byte { r.Header.Set("X-Hub-Signature-256", "sha1="+good[7:]); return body },
	}
	for name, mutate := range cases {
		req := githubtest.Request(t, "http://bot/webhooks/github", secret, "issue_comment", "", body)
		b := mutate(req)
		if _, err := g.ParseWebhook(req, b); !errors.Is(err, forge.ErrUnauthorized) {
			t.Errorf("%s: err = %v, want ErrUnauthorized", name, err)
		}
	}
	req := githubtest.Request(t, "http://bot/webhooks/github", secret, "issue_comment", "", body)
	if _, err := g.ParseWebhook(req, body); err != nil {
		t.Errorf("good signature refused: %v", err)
	}
}

func TestParseWebhookBadPayloadIsAnError(t *testing.T) {
	g := newAdapter(t, "")
	body := []byte(`{"action": "created", "issue": 7}`)
	req := githubtest.Request(t, "http://bot/webhooks/github", secret, "issue_comment", "d1", body)
	if _, err := g.ParseWebhook(req, body); err == nil || errors.Is(err, forge.ErrUnauthorized) {
		t.Errorf("err = %v, want a decode error", err)
	}
}
