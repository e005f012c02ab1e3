package gitlab_test

import (
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/gitlab"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
)

const secret = "hook-s3cret"

func newAdapter(t testing.TB, baseURL string) *gitlab.GitLab {
	t.Helper()
	g, err := gitlab.New(gitlab.Config{BaseURL: baseURL, Token: "glpat-test-token", WebhookSecret: secret, BotUser: "imagebot"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func parse(t *testing.T, g *gitlab.GitLab, event, delivery string, body []byte) (forge.Event, error) {
	t.Helper()
	req := gitlabtest.Request(t, "http://bot/webhooks/gitlab", secret, event, delivery, body)
	b, _ := io.ReadAll(req.Body)
	return g.ParseWebhook(req, b)
}

var (
	repo = forge.Repo{ID: 42, FullName: "infra/images", CloneURL: "http://gitlab.example.com/infra/images.git",
		DefaultBranch: "main", WebURL: "http://gitlab.example.com/infra/images"}
	fork = forge.Repo{ID: 99, FullName: "bob/images", CloneURL: "http://gitlab.example.com/bob/images.git",
		DefaultBranch: "main", WebURL: "http://gitlab.example.com/bob/images"}
)

func mr(edit func(*forge.MergeRequest)) *forge.MergeRequest {
	m := &forge.MergeRequest{Number: 7, Title: "rocky9: newer kernel", HeadSHA: gitlabtest.HeadSHA,
		HeadBranch: "rocky9-kernel", TargetBranch: "main",
		SourceRepo: repo, State: "opened", WebURL: "http://gitlab.example.com/infra/images/-/merge_requests/7"}
	if edit != nil {
		edit(m)
	}
	return m
}

func TestParseWebhookPayloads(t *testing.T) {
	const id = "0b9d1f3e-8c1a-4f5e-9d7a-2b6c4e8f0a13"
	tests := []struct {
		name    string
		event   string
		fixture string
		edits   []gitlabtest.Edit
		want    forge.Event
	}{
		{"merge request opened", gitlabtest.MergeRequestHook, "mr_opened.json", nil, forge.Event{
			Type: forge.MergeRequestOpened, Actor: "alice", MR: mr(func(m *forge.MergeRequest) { m.Author = "alice" })}},
		{"merge request reopened (author unknown from the hook)", gitlabtest.MergeRequestHook, "mr_reopened.json", nil, forge.Event{
			Type: forge.MergeRequestOpened, Actor: "alice", MR: mr(nil)}},
		{"new commits pushed", gitlabtest.MergeRequestHook, "mr_updated_commits.json", nil, forge.Event{
			Type: forge.MergeRequestUpdated, Actor: "alice", MR: mr(nil), Before: gitlabtest.OldSHA, After: gitlabtest.HeadSHA}},
		{"title edited is ignored", gitlabtest.MergeRequestHook, "mr_updated_title.json", nil, forge.Event{
			Type: forge.Ignored, Actor: "alice", MR: mr(nil)}},
		{"closed", gitlabtest.MergeRequestHook, "mr_closed.json", nil, forge.Event{
			Type: forge.MergeRequestClosed, Actor: "alice", MR: mr(func(m *forge.MergeRequest) { m.State = "closed" })}},
		{"merged", gitlabtest.MergeRequestHook, "mr_merged.json", nil, forge.Event{
			Type: forge.MergeRequestMerged, Actor: "alice", MR: mr(func(m *forge.MergeRequest) {
				m.State, m.MergeCommit = "merged", gitlabtest.MergeSHA
			})}},
		{"draft", gitlabtest.MergeRequestHook, "mr_draft.json", nil, forge.Event{
			Type: forge.MergeRequestOpened, Actor: "alice", MR: mr(func(m *forge.MergeRequest) {
				m.Draft, m.Author, m.Title = true, "alice", "Draft: rocky9: newer kernel"
			})}},
		{"old GitLab marks drafts work_in_progress only", gitlabtest.MergeRequestHook, "mr_draft.json",
			[]gitlabtest.Edit{gitlabtest.Set("object_attributes.draft", nil)}, forge.Event{}},
		{"fork", gitlabtest.MergeRequestHook, "mr_fork.json", nil, forge.Event{
			Type: forge.MergeRequestOpened, Actor: "bob", MR: mr(func(m *forge.MergeRequest) {
				m.Author, m.FromFork, m.SourceRepo = "bob", true, fork
			})}},
		{"approval is ignored", gitlabtest.MergeRequestHook, "mr_opened.json",
			[]gitlabtest.Edit{gitlabtest.Set("object_attributes.action", "approved")}, forge.Event{
				Type: forge.Ignored, Actor: "alice", MR: mr(nil)}},
		{"note on a merge request", gitlabtest.NoteHook, "note_mr.json", nil, forge.Event{
			Type: forge.MergeRequestComment, Actor: "alice", MR: mr(nil),
			Comment: "Looks right to me.\n\n/build rocky9\n"}},
		{"note on an issue is ignored", gitlabtest.NoteHook, "note_issue.json", nil, forge.Event{
			Type: forge.Ignored, Actor: "bob"}},
		{"note on a commit is ignored", gitlabtest.NoteHook, "note_mr.json",
			[]gitlabtest.Edit{gitlabtest.Set("object_attributes.noteable_type", "Commit"), gitlabtest.Set("merge_request", nil)},
			forge.Event{Type: forge.Ignored, Actor: "alice"}},
		{"note on a snippet is ignored", gitlabtest.NoteHook, "note_mr.json",
			[]gitlabtest.Edit{gitlabtest.Set("object_attributes.noteable_type", "Snippet"), gitlabtest.Set("merge_request", nil)},
			forge.Event{Type: forge.Ignored, Actor: "alice"}},
		{"the bot's own note is ignored", gitlabtest.NoteHook, "note_mr.json",
			[]gitlabtest.Edit{gitlabtest.Set("user.username", "imagebot")}, forge.Event{
				Type: forge.Ignored, Actor: "imagebot", MR: mr(nil), Comment: "Looks right to me.\n\n/build rocky9\n"}},
		{"an edited note is ignored", gitlabtest.NoteHook, "note_mr.json",
			[]gitlabtest.Edit{gitlabtest.Set("object_attributes.action", "update")}, forge.Event{
				Type: forge.Ignored, Actor: "alice", MR: mr(nil), Comment: "Looks right to me.\n\n/build rocky9\n"}},
		{"push to the default branch", gitlabtest.PushHook, "push.json", nil, forge.Event{
			Type: forge.Push, Actor: "alice", Ref: "refs/heads/main", Before: gitlabtest.HeadSHA, After: gitlabtest.MergeSHA}},
		{"push deleting a branch", gitlabtest.PushHook, "push_branch_deleted.json", nil, forge.Event{
			Type: forge.Push, Actor: "alice", Ref: "refs/heads/rocky9-kernel", Before: gitlabtest.HeadSHA,
			After: "0000000000000000000000000000000000000000"}},
		{"tag push is ignored", "Tag Push Hook", "push.json", nil, forge.Event{Type: forge.Ignored}},
		{"pipeline hook is ignored", "Pipeline Hook", "push.json", nil, forge.Event{Type: forge.Ignored}},
	}
	g := newAdapter(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := gitlabtest.Payload(t, tt.fixture, tt.edits...)
			got, err := parse(t, g, tt.event, id, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.Type == "" { // the work_in_progress-only case
				if got.MR == nil || !got.MR.Draft {
					t.Errorf("work_in_progress=true without draft: MR %+v, want Draft", got.MR)
				}
				return
			}
			want := tt.want
			want.Forge, want.DeliveryID = "gitlab", id
			if want.Type != forge.Ignored || want.Actor != "" {
				want.Repo = repo
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", describe(got), describe(want))
			}
		})
	}
}

// describe prints an event with its MR inline, for readable failures.
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

func TestParseWebhookRefusesBadToken(t *testing.T) {
	g := newAdapter(t, "")
	body := gitlabtest.Payload(t, "note_mr.json")
	for name, token := range map[string]string{"wrong": "hook-s3creT", "empty": "", "prefix": "hook-s3cre", "longer": secret + "x"} {
		req := gitlabtest.Request(t, "http://bot/webhooks/gitlab", token, gitlabtest.NoteHook, "", body)
		if req.Header.Get("X-Gitlab-Token") != token {
			t.Fatalf("helper did not set the token")
		}
		if _, err := g.ParseWebhook(req, body); !errors.Is(err, forge.ErrUnauthorized) {
			t.Errorf("%s token: err = %v, want ErrUnauthorized", name, err)
		}
	}
	req := gitlabtest.Request(t, "http://bot/webhooks/gitlab", secret, gitlabtest.NoteHook, "", body)
	req.Header.Del("X-Gitlab-Token")
	if _, err := g.ParseWebhook(req, body); !errors.Is(err, forge.ErrUnauthorized) {
		t.Errorf("missing token: err = %v, want ErrUnauthorized", err)
	}
}

func TestParseWebhookBadPayloadIsAnError(t *testing.T) {
	g := newAdapter(t, "")
	_, err := parse(t, g, gitlabtest.NoteHook, "d1", []byte(`{"object_attributes": [}`))
	if err == nil || errors.Is(err, forge.ErrUnauthorized) {
		t.Errorf("err = %v, want a decode error", err)
	}
}

func TestDeliveryIDWithoutUUIDIsStable(t *testing.T) {
	g := newAdapter(t, "")
	body := gitlabtest.Payload(t, "note_mr.json")
	ids := map[string]bool{}
	for range 2 {
		req := gitlabtest.Request(t, "http://bot/webhooks/gitlab", secret, gitlabtest.NoteHook, "", body)
		req.Header.Del("X-Gitlab-Event-UUID")
		ev, err := g.ParseWebhook(req, body)
		if err != nil {
			t.Fatal(err)
		}
		ids[ev.DeliveryID] = true
	}
	if len(ids) != 1 {
		t.Errorf("the same body without a UUID got ids %v, want one", ids)
	}
}

func TestNewNeedsSecrets(t *testing.T) {
	if _, err := gitlab.New(gitlab.Config{Token: "t"}); err == nil {
		t.Error("no webhook secret accepted")
	}
	if _, err := gitlab.New(gitlab.Config{WebhookSecret: "s"}); err == nil {
		t.Error("no token accepted")
	}
}
