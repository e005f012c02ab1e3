package githubtest

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/bot/forge/internal/fakeapi"
)

// OAuthApp is an OAuth app registered on the fake GitHub.
type OAuthApp = fakeapi.OAuthApp

// EnableOAuth registers app and serves GitHub's documented OAuth app web
// flow (GET /login/oauth/authorize, POST /login/oauth/access_token, which
// answers form-encoded unless JSON is accepted, and 200 with an "error"
// field for a bad code) on this server (github.com and api.github.com in
// one), and, for the access tokens it issues, GET /user and GET
// /repos/{owner}/{repo} (404 unless the user can read the repository).
func (s *Server) EnableOAuth(t testing.TB, app OAuthApp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth = fakeapi.NewOAuth(t, fakeapi.OAuthStyle{Who: "githubtest", ErrorsAs200: true,
		TokenType: "bearer", FormUnlessJSON: true}, app)
}

// Approve makes user the person who signs in and approves the next
// authorizations ("" denies them).
func (s *Server) Approve(user string) { s.oauth.Approve(user) }

// SetRepoReader lets user read one repository ("owner/name").
func (s *Server) SetRepoReader(user, repo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readers[strings.ToLower(user)+"\x00"+repo] = true
}

// SetPublicRepo makes a repository public.
func (s *Server) SetPublicRepo(repo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.public[repo] = true
}

var reRepo = regexp.MustCompile(`^/repos/([^/]+/[^/]+)$`)

// serveOAuth answers the OAuth endpoints and requests made with a user's
// access token; false when r is neither.
func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request, path string) bool {
	if s.oauth == nil {
		return false
	}
	switch path {
	case "/login/oauth/authorize":
		s.oauth.Authorize(w, r)
		return true
	case "/login/oauth/access_token":
		s.oauth.Token(w, r)
		return true
	}
	user, ok := s.oauth.UserOf(r)
	if !ok {
		return false // the bot's token, or an installation token
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v != "2022-11-28" {
		s.t.Errorf("githubtest: %s %s with X-GitHub-Api-Version %q, want 2022-11-28", r.Method, path, v)
	}
	var m []string
	switch {
	case r.Method == http.MethodGet && path == "/user":
		fakeapi.WriteJSON(w, http.StatusOK, map[string]any{"login": user, "id": 6000 + len(user), "type": "User"})
	case r.Method == http.MethodGet && fakeapi.Match(reRepo, path, &m):
		s.repoForUser(w, user, m[1])
	default:
		s.t.Errorf("githubtest: unexpected request with a user's token: %s %s", r.Method, r.URL.RequestURI())
		fakeapi.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
	}
	return true
}

// repoForUser is GET /repos/{owner}/{repo} as user sees it: 404 for a
// private repository user cannot read, as GitHub answers.
func (s *Server) repoForUser(w http.ResponseWriter, user, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, known := s.repos[name]
	role := s.roles[strings.ToLower(user)]
	collaborator := role != "" && role != "none"
	if !known || !(s.public[name] || collaborator || s.readers[strings.ToLower(user)+"\x00"+name]) {
		fakeapi.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	fakeapi.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "full_name": name, "private": !s.public[name],
		"permissions": map[string]bool{"pull": true, "push": collaborator && role != "read" && role != "triage"}})
}
