// Package gitlab is imagebot's GitLab adapter: it verifies and decodes
// GitLab webhooks (merge request, note and push hooks) and makes the few API
// calls the bot needs (MR notes, commit statuses, member access, MR lookup)
// through gitlab.com/gitlab-org/api/client-go, with retries from forge/retry.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/retry"
)

// Name is the forge name in events and configuration.
const Name = "gitlab"

// maxNote is GitLab's limit on a note body (1,000,000 characters); counting
// bytes keeps us under it whatever the characters are.
const maxNote = 1_000_000

// Config configures the adapter. Secrets come from the environment or
// files (see forge.Secret), never from a config file.
type Config struct {
	BaseURL       string // e.g. https://gitlab.example.com; "" means https://gitlab.com
	Token         string // API token of the bot user (api scope)
	WebhookSecret string // the webhook's "Secret token"
	BotUser       string // the bot's user name; its own notes are ignored
	// HTTPClient carries the requests; nil means a retrying client
	// (forge/retry) with a 30 s timeout per call.
	HTTPClient *http.Client
	Log        zerolog.Logger
}

// GitLab implements forge.Forge.
type GitLab struct {
	cfg    Config
	client *gl.Client

	cache *permCache // user name -> id, (project, user id) -> permission; bot/forge/gitlab/permcache.go
}

var _ forge.Forge = (*GitLab)(nil)

// New returns the adapter. A webhook secret is required: without one every
// webhook would be refused.
func New(cfg Config) (*GitLab, error) {
	if cfg.WebhookSecret == "" {
		return nil, errors.New("gitlab: a webhook secret is required")
	}
	if cfg.Token == "" {
		return nil, errors.New("gitlab: an API token is required")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = (&retry.Transport{Log: cfg.Log}).Client(30 * time.Second)
	}
	opts := []gl.ClientOptionFunc{gl.WithHTTPClient(hc), gl.WithoutRetries()}
	if cfg.BaseURL != "" {
		opts = append(opts, gl.WithBaseURL(strings.TrimSuffix(cfg.BaseURL, "/")+"/api/v4"))
	}
	c, err := gl.NewClient(cfg.Token, opts...)
	if err != nil {
		return nil, fmt.Errorf("gitlab client for %s: %w", cfg.BaseURL, err)
	}
	return &GitLab{cfg: cfg, client: c, cache: newPermCache()}, nil
}

func (g *GitLab) Name() string { return Name }

// MaxCommentSize is the largest note body GitLab accepts, in bytes.
func (g *GitLab) MaxCommentSize() int { return maxNote }

// CloneAuth is what git needs to fetch over https with the API token.
func (g *GitLab) CloneAuth() (user, token string) { return "oauth2", g.cfg.Token }

// pid addresses a project by id, or by path when the id is unknown.
func pid(repo forge.Repo) any {
	if repo.ID != 0 {
		return repo.ID
	}
	return repo.FullName
}

func (g *GitLab) CreateComment(ctx context.Context, repo forge.Repo, mr int, body string) (int64, error) {
	n, _, err := g.client.Notes.CreateMergeRequestNote(pid(repo), int64(mr),
		&gl.CreateMergeRequestNoteOptions{Body: &body}, gl.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("comment on %s!%d: %w", repo.FullName, mr, err)
	}
	return n.ID, nil
}

func (g *GitLab) EditComment(ctx context.Context, repo forge.Repo, mr int, commentID int64, body string) error {
	_, _, err := g.client.Notes.UpdateMergeRequestNote(pid(repo), int64(mr), commentID,
		&gl.UpdateMergeRequestNoteOptions{Body: &body}, gl.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("edit note %d on %s!%d: %w", commentID, repo.FullName, mr, err)
	}
	return nil
}

// states maps imagebot's states to GitLab's commit status states.
var states = map[forge.State]gl.BuildStateValue{
	forge.StatePending: gl.Pending,
	forge.StateRunning: gl.Running,
	forge.StateSuccess: gl.Success,
	forge.StateFailure: gl.Failed,
}

// SetStatus sets the commit status named st.Context. GitLab refuses to
// "transition" a status to the state it is already in; that is no error.
func (g *GitLab) SetStatus(ctx context.Context, repo forge.Repo, sha string, st forge.Status) error {
	state, ok := states[st.State]
	if !ok {
		return fmt.Errorf("status %s on %s: unknown state %q", st.Context, forge.ShortSHA(sha), st.State)
	}
	opt := &gl.SetCommitStatusOptions{State: state, Name: &st.Context}
	if st.TargetURL != "" {
		opt.TargetURL = &st.TargetURL
	}
	if st.Description != "" {
		d := forge.Truncate(st.Description, 255)
		opt.Description = &d
	}
	_, resp, err := g.client.Commits.SetCommitStatus(pid(repo), sha, opt, gl.WithContext(ctx))
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusBadRequest && strings.Contains(err.Error(), "Cannot transition status") {
			return nil
		}
		return fmt.Errorf("status %s=%s on %s@%s: %w", st.Context, st.State, repo.FullName, forge.ShortSHA(sha), err)
	}
	return nil
}

// Permission is user's access level on the project, counting access
// inherited from groups (the members/all endpoint).
func (g *GitLab) Permission(ctx context.Context, repo forge.Repo, user string) (forge.Permission, error) {
	id, err := g.userID(ctx, user)
	if err != nil || id == 0 {
		return forge.PermissionNone, err
	}
	project := fmt.Sprint(pid(repo))
	if p, ok := g.cache.perm(project, id); ok {
		return p, nil
	}
	p, err := g.permission(ctx, repo, user, id)
	if err == nil {
		g.cache.setPerm(project, id, p)
	}
	return p, err
}

func (g *GitLab) permission(ctx context.Context, repo forge.Repo, user string, id int64) (forge.Permission, error) {
	m, resp, err := g.client.ProjectMembers.GetInheritedProjectMember(pid(repo), id, gl.WithContext(ctx))
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return forge.PermissionNone, nil
	}
	if err != nil {
		return forge.PermissionNone, fmt.Errorf("access of %s on %s: %w", user, repo.FullName, err)
	}
	if m.State != "" && m.State != "active" {
		return forge.PermissionNone, nil // blocked, or awaiting a seat
	}
	return permissionOf(m.AccessLevel), nil
}

func permissionOf(level gl.AccessLevelValue) forge.Permission {
	switch {
	case level >= gl.OwnerPermissions:
		return forge.PermissionAdmin
	case level >= gl.MaintainerPermissions:
		return forge.PermissionMaintain
	case level >= gl.DeveloperPermissions:
		return forge.PermissionWrite
	case level >= gl.GuestPermissions:
		return forge.PermissionRead
	}
	return forge.PermissionNone
}

// userID finds a user's id by name (0 when there is no such user), cached
// for idTTL only: names change hands.
func (g *GitLab) userID(ctx context.Context, user string) (int64, error) {
	key := strings.ToLower(user)
	if id, ok := g.cache.id(key); ok {
		return id, nil
	}
	users, _, err := g.client.Users.ListUsers(&gl.ListUsersOptions{Username: &user}, gl.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("look up user %s: %w", user, err)
	}
	for _, u := range users {
		if strings.EqualFold(u.Username, user) {
			g.cache.setID(key, u.ID)
			return u.ID, nil
		}
	}
	return 0, nil
}

func (g *GitLab) GetMergeRequest(ctx context.Context, repo forge.Repo, mr int) (forge.MergeRequest, error) {
	m, _, err := g.client.MergeRequests.GetMergeRequest(pid(repo), int64(mr), nil, gl.WithContext(ctx))
	if err != nil {
		return forge.MergeRequest{}, fmt.Errorf("get %s!%d: %w", repo.FullName, mr, err)
	}
	out := forge.MergeRequest{
		Number: int(m.IID), Title: m.Title, HeadSHA: m.SHA,
		HeadBranch: m.SourceBranch, TargetBranch: m.TargetBranch,
		FromFork: m.SourceProjectID != m.TargetProjectID,
		Draft:    m.Draft, State: m.State, MergeCommit: m.MergeCommitSHA, WebURL: m.WebURL,
		SourceRepo: repo,
	}
	if m.Author != nil {
		out.Author = m.Author.Username
	}
	if out.FromFork {
		out.SourceRepo = forge.Repo{ID: m.SourceProjectID}
	}
	return out, nil
}
