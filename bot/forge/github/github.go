// Package github is imagebot's GitHub adapter: it verifies and decodes
// GitHub webhooks (pull_request, issue_comment, push) and makes the few API
// calls the bot needs (issue comments, commit statuses, collaborator
// permission, pull request lookup) through go-github, with retries from
// forge/retry.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/retry"
)

// Name is the forge name in events and configuration.
const Name = "github"

// maxComment is GitHub's limit on a comment body (65,536 characters);
// counting bytes keeps us under it whatever the characters are.
const maxComment = 65536

// maxDescription is GitHub's limit on a commit status description.
const maxDescription = 140

// Config configures the adapter. Secrets come from the environment or
// files (see forge.Secret), never from a config file.
type Config struct {
	// BaseURL is the REST API root: "" means https://api.github.com/; for
	// GitHub Enterprise Server use https://HOST/api/v3/.
	BaseURL       string
	Token         string     // a token with repo (or contents, statuses, pull requests, issues) access
	App           *AppConfig // instead of Token: authenticate as a GitHub App (app.go)
	WebhookSecret string     // the webhook's secret
	BotUser       string     // the bot's login; its own comments are ignored
	// HTTPClient carries the requests; nil means a retrying client
	// (forge/retry) with a 30 s timeout per call.
	HTTPClient *http.Client
	Log        zerolog.Logger
}

// GitHub implements forge.Forge.
type GitHub struct {
	cfg    Config
	client *gh.Client
	app    *appAuth // nil: Token
	perms  *permCache
}

var _ forge.Forge = (*GitHub)(nil)

// New returns the adapter.
func New(cfg Config) (*GitHub, error) {
	if cfg.WebhookSecret == "" {
		return nil, errors.New("github: a webhook secret is required")
	}
	if cfg.Token == "" && cfg.App == nil {
		return nil, errors.New("github: an API token or a GitHub App is required")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = (&retry.Transport{Log: cfg.Log}).Client(30 * time.Second)
	}
	c := gh.NewClient(hc).WithAuthToken(cfg.Token)
	if cfg.BaseURL != "" {
		base := strings.TrimSuffix(cfg.BaseURL, "/") + "/"
		u, err := url.Parse(base)
		if err != nil || !u.IsAbs() {
			return nil, fmt.Errorf("github: base URL %q is not an absolute URL", cfg.BaseURL)
		}
		c.BaseURL = u
	}
	g := &GitHub{cfg: cfg, client: c, perms: newPermCache()}
	if cfg.App != nil {
		return g.useApp(*cfg.App, hc)
	}
	return g, nil
}

func (g *GitHub) Name() string { return Name }

// MaxCommentSize is the largest comment body GitHub accepts, in bytes.
func (g *GitHub) MaxCommentSize() int { return maxComment }

// CloneAuth is what git needs to fetch over https with the token.
// As an App it is the last installation token handed out; CloneAuthFor
// chooses by repository.
func (g *GitHub) CloneAuth() (user, token string) {
	if g.app != nil {
		return "x-access-token", g.app.lastToken()
	}
	return "x-access-token", g.cfg.Token
}

func ownerRepo(repo forge.Repo) (string, string, error) {
	owner, name, ok := strings.Cut(repo.FullName, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("repository %q is not owner/name", repo.FullName)
	}
	return owner, name, nil
}

func (g *GitHub) CreateComment(ctx context.Context, repo forge.Repo, mr int, body string) (int64, error) {
	owner, name, err := ownerRepo(repo)
	if err != nil {
		return 0, err
	}
	c, _, err := g.client.Issues.CreateComment(ctx, owner, name, mr, &gh.IssueComment{Body: &body})
	if err != nil {
		return 0, fmt.Errorf("comment on %s#%d: %w", repo.FullName, mr, err)
	}
	return c.GetID(), nil
}

func (g *GitHub) EditComment(ctx context.Context, repo forge.Repo, mr int, commentID int64, body string) error {
	owner, name, err := ownerRepo(repo)
	if err != nil {
		return err
	}
	if _, _, err := g.client.Issues.EditComment(ctx, owner, name, commentID, &gh.IssueComment{Body: &body}); err != nil {
		return fmt.Errorf("edit comment %d on %s#%d: %w", commentID, repo.FullName, mr, err)
	}
	return nil
}

// SetStatus sets the commit status st.Context. GitHub has no "running"
// state: running is pending with a description saying so.
func (g *GitHub) SetStatus(ctx context.Context, repo forge.Repo, sha string, st forge.Status) error {
	owner, name, err := ownerRepo(repo)
	if err != nil {
		return err
	}
	desc := st.Description
	var state string
	switch st.State {
	case forge.StatePending, forge.StateSuccess, forge.StateFailure:
		state = string(st.State)
	case forge.StateRunning:
		state = "pending"
		if !strings.HasPrefix(strings.ToLower(desc), "running") {
			desc = strings.TrimSuffix("running: "+desc, ": ")
		}
	default:
		return fmt.Errorf("status %s on %s: unknown state %q", st.Context, forge.ShortSHA(sha), st.State)
	}
	status := &gh.RepoStatus{State: &state, Context: &st.Context}
	if desc != "" {
		desc = forge.Truncate(desc, maxDescription)
		status.Description = &desc
	}
	if st.TargetURL != "" {
		status.TargetURL = &st.TargetURL
	}
	if _, _, err := g.client.Repositories.CreateStatus(ctx, owner, name, sha, status); err != nil {
		return fmt.Errorf("status %s=%s on %s@%s: %w", st.Context, st.State, repo.FullName, forge.ShortSHA(sha), err)
	}
	return nil
}

// permissionLevel is the collaborator permission answer; go-github v60
// lacks role_name, which tells maintain and triage apart.
type permissionLevel struct {
	Permission string `json:"permission"`
	RoleName   string `json:"role_name"`
}

// Permission is user's permission on the repository (admin, maintain,
// write, triage, read); a user who is no collaborator has none. Answers
// are reused for permTTL across events; a failed lookup forgets the user.
func (g *GitHub) Permission(ctx context.Context, repo forge.Repo, user string) (forge.Permission, error) {
	if p, ok := g.perms.get(repo.FullName, user); ok {
		return p, nil
	}
	p, err := g.lookupPermission(ctx, repo, user)
	if err != nil {
		g.perms.forget(repo.FullName, user)
		return forge.PermissionNone, err
	}
	g.perms.set(repo.FullName, user, p)
	return p, nil
}

func (g *GitHub) lookupPermission(ctx context.Context, repo forge.Repo, user string) (forge.Permission, error) {
	owner, name, err := ownerRepo(repo)
	if err != nil {
		return forge.PermissionNone, err
	}
	u := fmt.Sprintf("repos/%s/%s/collaborators/%s/permission",
		url.PathEscape(owner), url.PathEscape(name), url.PathEscape(user))
	req, err := g.client.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return forge.PermissionNone, fmt.Errorf("permission of %s on %s: %w", user, repo.FullName, err)
	}
	var lvl permissionLevel
	resp, err := g.client.Do(ctx, req, &lvl)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return forge.PermissionNone, nil // no such user
	}
	if err != nil {
		return forge.PermissionNone, fmt.Errorf("permission of %s on %s: %w", user, repo.FullName, err)
	}
	// A custom role's name says nothing to us; its base permission does.
	if p := permissionOf(lvl.RoleName); p != forge.PermissionNone {
		return p, nil
	}
	return permissionOf(lvl.Permission), nil
}

func permissionOf(role string) forge.Permission {
	switch role {
	case "admin":
		return forge.PermissionAdmin
	case "maintain":
		return forge.PermissionMaintain
	case "write", "push":
		return forge.PermissionWrite
	case "triage", "read", "pull":
		return forge.PermissionRead
	}
	return forge.PermissionNone // "none", "" and custom role names
}

func (g *GitHub) GetMergeRequest(ctx context.Context, repo forge.Repo, mr int) (forge.MergeRequest, error) {
	owner, name, err := ownerRepo(repo)
	if err != nil {
		return forge.MergeRequest{}, err
	}
	pr, _, err := g.client.PullRequests.Get(ctx, owner, name, mr)
	if err != nil {
		return forge.MergeRequest{}, fmt.Errorf("get %s#%d: %w", repo.FullName, mr, err)
	}
	return mrOf(pr, repo), nil
}
