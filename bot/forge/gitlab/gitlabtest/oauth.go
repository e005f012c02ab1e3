package gitlabtest

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/bot/forge/internal/fakeapi"
)

// OAuthApp is an OAuth application registered on the fake GitLab.
type OAuthApp = fakeapi.OAuthApp

// EnableOAuth registers app and serves GitLab's documented OAuth 2
// authorization-code flow with PKCE (GET /oauth/authorize, POST
// /oauth/token) and, for the access tokens it issues, GET /api/v4/user and
// GET /api/v4/projects/:id (404 unless the user can read the project).
// Approve says who signs in.
func (s *Server) EnableOAuth(t testing.TB, app OAuthApp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth = fakeapi.NewOAuth(t, fakeapi.OAuthStyle{Who: "gitlabtest", RequireResponseType: true,
		RequireGrantType: true, PKCE: true, TokenType: "Bearer"}, app)
}

// Approve makes user the person who signs in and approves the next
// authorizations ("" denies them).
func (s *Server) Approve(user string) { s.oauth.Approve(user) }

// SetProjectAccess makes user a member of one project (path) at level.
func (s *Server) SetProjectAccess(user, project string, level int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.user(user)
	if m.projects == nil {
		m.projects = map[string]int{}
	}
	m.projects[project] = level
}

// SetPublic makes a project (path) public: anyone signed in can read it.
func (s *Server) SetPublic(project string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.public == nil {
		s.public = map[string]bool{}
	}
	s.public[project] = true
}

var reProject = regexp.MustCompile(`^/api/v4/projects/([^/]+)$`)

// serveOAuth answers the OAuth endpoints and requests made with a user's
// access token; false when r is neither (a request of the bot's token).
func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request, path string) bool {
	if s.oauth == nil {
		return false
	}
	switch {
	case path == "/oauth/authorize":
		s.oauth.Authorize(w, r)
		return true
	case path == "/oauth/token":
		s.oauth.Token(w, r)
		return true
	case !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "):
		return false
	}
	user, ok := s.oauth.UserOf(r)
	if !ok {
		s.t.Errorf("gitlabtest: %s %s with an access token the server did not issue", r.Method, path)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return true
	}
	var m []string
	switch {
	case r.Method == http.MethodGet && path == "/api/v4/user":
		s.mu.Lock()
		id := s.user(user).id
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "username": user, "name": user, "state": "active"})
	case r.Method == http.MethodGet && match(reProject, path, &m):
		s.projectForUser(w, user, m[1])
	default:
		s.t.Errorf("gitlabtest: unexpected request with a user's token: %s %s", r.Method, r.URL.RequestURI())
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not Found"})
	}
	return true
}

// projectForUser is GET /projects/:id as user sees it: the project when it
// is public or user is a member (of it, or of every project), else 404
// (GitLab does not tell a private project from a missing one).
func (s *Server) projectForUser(w http.ResponseWriter, user, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := strings.ReplaceAll(raw, "%2F", "/")
	var id int64
	for pid, p := range s.projects {
		if p == path || raw == strconv.FormatInt(pid, 10) {
			id, path = pid, p
		}
	}
	m := s.user(user)
	if id == 0 || !(s.public[path] || m.state == "active" && (m.level > 0 || m.projects[path] > 0)) {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Project Not Found"})
		return
	}
	vis := "private"
	if s.public[path] {
		vis = "public"
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "path_with_namespace": path, "visibility": vis})
}
