package access

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// User is who signed in, as the forge names them.
type User struct {
	ID    int64  `json:"id"`
	Login string `json:"login"`
}

// Provider is a forge's OAuth 2 sign-in: where to send the browser, and
// what a signed-in user's token may read.
type Provider interface {
	// Name is the forge's name ("gitlab", "github").
	Name() string
	// OAuth2 is the authorization-code configuration (RedirectURL set by Login).
	OAuth2() *oauth2.Config
	// PKCE says whether the forge verifies a code challenge (RFC 7636).
	PKCE() bool
	// User is the token's owner.
	User(ctx context.Context, c *http.Client) (User, error)
	// CanRead says whether the token's owner may read repo (the forge's
	// path, "group/project" or "owner/name").
	CanRead(ctx context.Context, c *http.Client, repo string) (bool, error)
}

// ProviderConfig is an OAuth application on a forge.
type ProviderConfig struct {
	// WebURL is where browsers sign in: https://gitlab.example.com,
	// https://github.com (default for GitHub).
	WebURL string
	// APIURL is the REST root: for GitLab WebURL + /api/v4/ (default); for
	// GitHub https://api.github.com/ (default) or https://HOST/api/v3/.
	APIURL       string
	ClientID     string
	ClientSecret string
	// Scopes asked for; default read_api (GitLab), repo (GitHub: an OAuth
	// app can read private repositories only with repo).
	Scopes []string
}

func (c ProviderConfig) check(forge string) error {
	if c.ClientID == "" || c.ClientSecret == "" {
		return fmt.Errorf("ui.oauth (%s): client_id and a client secret are required", forge)
	}
	for _, u := range []string{c.WebURL, c.APIURL} {
		if p, err := url.Parse(u); err != nil || !p.IsAbs() {
			return fmt.Errorf("ui.oauth (%s): %q is not an absolute URL", forge, u)
		}
	}
	return nil
}

// GitLab signs in with a GitLab OAuth application (documented at
// https://docs.gitlab.com/api/oauth2/): authorization code with PKCE, scope
// read_api; GET /user names the user, GET /projects/:path answers 404 for a
// project the user cannot read.
func GitLab(c ProviderConfig) (Provider, error) {
	c.WebURL = strings.TrimSuffix(c.WebURL, "/")
	if c.APIURL == "" {
		c.APIURL = c.WebURL + "/api/v4/"
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"read_api"}
	}
	if err := c.check("gitlab"); err != nil {
		return nil, err
	}
	return &gitlab{c: c}, nil
}

type gitlab struct{ c ProviderConfig }

func (g *gitlab) Name() string { return "gitlab" }
func (g *gitlab) PKCE() bool   { return true }
func (g *gitlab) OAuth2() *oauth2.Config {
	return &oauth2.Config{ClientID: g.c.ClientID, ClientSecret: g.c.ClientSecret, Scopes: g.c.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: g.c.WebURL + "/oauth/authorize", TokenURL: g.c.WebURL + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams}}
}

func (g *gitlab) User(ctx context.Context, c *http.Client) (User, error) {
	var u struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	}
	if _, err := getJSON(ctx, c, apiURL(g.c.APIURL, "user"), nil, &u); err != nil {
		return User{}, err
	}
	return User{ID: u.ID, Login: u.Username}, nil
}

func (g *gitlab) CanRead(ctx context.Context, c *http.Client, repo string) (bool, error) {
	return getJSON(ctx, c, apiURL(g.c.APIURL, "projects/"+url.PathEscape(repo)), nil, nil)
}

// GitHub signs in with a GitHub OAuth app (documented at
// https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps):
// the web application flow; GET /user names the user, GET
// /repos/{owner}/{repo} answers 404 for a repository the user cannot read.
func GitHub(c ProviderConfig) (Provider, error) {
	if c.WebURL == "" {
		c.WebURL = "https://github.com"
	}
	c.WebURL = strings.TrimSuffix(c.WebURL, "/")
	if c.APIURL == "" {
		c.APIURL = "https://api.github.com/"
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"repo"}
	}
	if err := c.check("github"); err != nil {
		return nil, err
	}
	return &github{c: c}, nil
}

type github struct{ c ProviderConfig }

var githubHeaders = map[string]string{"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}

func (g *github) Name() string { return "github" }
func (g *github) PKCE() bool   { return false }
func (g *github) OAuth2() *oauth2.Config {
	return &oauth2.Config{ClientID: g.c.ClientID, ClientSecret: g.c.ClientSecret, Scopes: g.c.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: g.c.WebURL + "/login/oauth/authorize", TokenURL: g.c.WebURL + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams}}
}

func (g *github) User(ctx context.Context, c *http.Client) (User, error) {
	var u struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
	}
	if _, err := getJSON(ctx, c, apiURL(g.c.APIURL, "user"), githubHeaders, &u); err != nil {
		return User{}, err
	}
	return User{ID: u.ID, Login: u.Login}, nil
}

func (g *github) CanRead(ctx context.Context, c *http.Client, repo string) (bool, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || strings.Contains(name, "/") {
		return false, fmt.Errorf("repository %q is not owner/name", repo)
	}
	return getJSON(ctx, c, apiURL(g.c.APIURL, "repos/"+url.PathEscape(owner)+"/"+url.PathEscape(name)), githubHeaders, nil)
}

func apiURL(root, path string) string { return strings.TrimSuffix(root, "/") + "/" + path }

// getJSON GETs u and decodes its JSON into v (when not nil): true for 200,
// false for 404 (both forges' answer for what the token may not see), an
// error otherwise.
func getJSON(ctx context.Context, c *http.Client, u string, headers map[string]string, v any) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "application/json")
	for k, val := range headers {
		req.Header.Set(k, val)
	}
	resp, err := c.Do(req)
	if err != nil {
		return false, fmt.Errorf("GET %s: %w", req.URL.Path, err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, 1<<20)
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	case resp.StatusCode != http.StatusOK:
		return false, fmt.Errorf("GET %s: %s", req.URL.Path, resp.Status)
	case v == nil:
		return true, nil
	}
	if err := json.NewDecoder(body).Decode(v); err != nil {
		return false, fmt.Errorf("GET %s: %w", req.URL.Path, err)
	}
	return true, nil
}
