package forge_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github"
	"github.com/imagebot/imagebot/bot/forge/github/githubtest"
	"github.com/imagebot/imagebot/bot/forge/gitlab"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
)

// world is one adapter against its fake forge, with the fake's answers
// translated so one test can judge both.
type world struct {
	f        forge.Forge
	repo     forge.Repo
	comments func(mr int) []string
	status   func(sha, context string) string // the forge's own state word
	grant    func(user string, p forge.Permission)
}

const secret = "s3cret"

func worlds(t *testing.T) map[string]world {
	gl := gitlabtest.New(t, "gl-token")
	g, err := gitlab.New(gitlab.Config{BaseURL: gl.URL, Token: "gl-token", WebhookSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	gh := githubtest.New(t, "gh-token")
	h, err := github.New(github.Config{BaseURL: gh.URL, Token: "gh-token", WebhookSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	glLevels := map[forge.Permission]int{forge.PermissionRead: gitlabtest.Reporter, forge.PermissionWrite: gitlabtest.Developer,
		forge.PermissionMaintain: gitlabtest.Maintainer, forge.PermissionAdmin: gitlabtest.Owner}
	ghRoles := map[forge.Permission]string{forge.PermissionRead: "read", forge.PermissionWrite: "write",
		forge.PermissionMaintain: "maintain", forge.PermissionAdmin: "admin"}
	return map[string]world{
		"gitlab": {
			f: g, repo: forge.Repo{ID: gitlabtest.ProjectID, FullName: gitlabtest.ProjectPath},
			comments: func(mr int) []string {
				var out []string
				for _, n := range gl.Comments(gitlabtest.ProjectID, mr) {
					out = append(out, n.Body)
				}
				return out
			},
			status: func(sha, c string) string { return gl.LastStatus(sha, c).State },
			grant:  func(u string, p forge.Permission) { gl.SetAccess(u, glLevels[p]) },
		},
		"github": {
			f: h, repo: forge.Repo{ID: githubtest.RepoID, FullName: githubtest.RepoFullName},
			comments: func(mr int) []string {
				var out []string
				for _, c := range gh.Comments(githubtest.RepoFullName, mr) {
					out = append(out, c.Body)
				}
				return out
			},
			status: func(sha, c string) string { return gh.LastStatus(sha, c).State },
			grant:  func(u string, p forge.Permission) { gh.SetPermission(u, ghRoles[p]) },
		},
	}
}

// TestAdaptersBehaveAlike runs the same story through both adapters: a
// comment edited in place, a status through its life, permissions.
func TestAdaptersBehaveAlike(t *testing.T) {
	for name, w := range worlds(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if w.f.Name() != name {
				t.Errorf("Name() = %q", w.f.Name())
			}
			id, err := w.f.CreateComment(ctx, w.repo, 7, "queued")
			if err != nil {
				t.Fatal(err)
			}
			if err := w.f.EditComment(ctx, w.repo, 7, id, "done"); err != nil {
				t.Fatal(err)
			}
			if got := w.comments(7); len(got) != 1 || got[0] != "done" {
				t.Errorf("comments %q, want one, edited to done", got)
			}

			sha := gitlabtest.HeadSHA
			wantStates := map[forge.State][2]string{ // gitlab, github
				forge.StatePending: {"pending", "pending"}, forge.StateRunning: {"running", "pending"},
				forge.StateSuccess: {"success", "success"}, forge.StateFailure: {"failed", "failure"},
			}
			for _, st := range []forge.State{forge.StatePending, forge.StateRunning, forge.StateFailure, forge.StateRunning, forge.StateSuccess} {
				if err := w.f.SetStatus(ctx, w.repo, sha, forge.Status{Context: "imagebot/rocky9", State: st}); err != nil {
					t.Fatalf("%s: %v", st, err)
				}
				want := wantStates[st][0]
				if name == "github" {
					want = wantStates[st][1]
				}
				if got := w.status(sha, "imagebot/rocky9"); got != want {
					t.Errorf("after %s the forge shows %q, want %q", st, got, want)
				}
			}

			for _, p := range []forge.Permission{forge.PermissionRead, forge.PermissionWrite, forge.PermissionMaintain, forge.PermissionAdmin} {
				user := "user" + string(rune('a'+p))
				w.grant(user, p)
				if got, err := w.f.Permission(ctx, w.repo, user); err != nil || got != p {
					t.Errorf("Permission(%s) = %v, %v; want %v", user, got, err, p)
				}
			}
			if got, err := w.f.Permission(ctx, w.repo, "nobody-here"); err != nil || got != forge.PermissionNone {
				t.Errorf("unknown user: %v, %v", got, err)
			}
			if w.f.MaxCommentSize() < 60000 {
				t.Errorf("MaxCommentSize %d", w.f.MaxCommentSize())
			}
		})
	}
}

// TestBadSecretIsUnauthorizedOnBothForges: a delivery signed or tokened
// with another secret is ErrUnauthorized, whichever the forge.
func TestBadSecretIsUnauthorizedOnBothForges(t *testing.T) {
	w := worlds(t)
	glBody := gitlabtest.NoteOnMR(t, "alice", "/build rocky9")
	glReq := gitlabtest.Request(t, "http://bot/webhooks/gitlab", "not-"+secret, gitlabtest.NoteHook, "", glBody)
	ghBody := githubtest.CommentOnPR(t, "alice", "/build rocky9")
	ghReq := githubtest.Request(t, "http://bot/webhooks/github", "not-"+secret, "issue_comment", "", ghBody)
	for name, f := range map[string]forge.Forge{"gitlab": w["gitlab"].f, "github": w["github"].f} {
		req := glReq
		if name == "github" {
			req = ghReq
		}
		body, _ := io.ReadAll(req.Body)
		if _, err := f.ParseWebhook(req, body); !errors.Is(err, forge.ErrUnauthorized) {
			t.Errorf("%s: err = %v, want ErrUnauthorized", name, err)
		}
	}
}
