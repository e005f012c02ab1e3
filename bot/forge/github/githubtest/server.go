// Package githubtest plays GitHub for tests: an httptest server answering
// exactly the REST calls imagebot's GitHub adapter makes, checking every
// request (method, path, bearer token, API version, JSON body) and failing
// the test on anything else, recording comments and commit statuses for
// assertions, and injecting 5xx, 429 and rate-limit 403s. It also builds
// signed webhook deliveries from the payload fixtures in testdata/ (shaped
// like GitHub's documented payloads).
package githubtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/internal/fakeapi"
)

// Fault makes matching requests fail (Code, RetryAfter, Header, Times...).
type Fault = fakeapi.Fault

// Comment is an issue comment as the server holds it (ID, Body, History).
type Comment = fakeapi.Comment

// Status is one commit status call, in GitHub's terms (no "running").
type Status struct {
	Context, State, TargetURL, Description string
}

type prKey struct {
	repo   string
	number int
}

// Server is the fake GitHub. Create it with New.
type Server struct {
	URL   string // API root for github.Config.BaseURL
	Token string

	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	repos    map[string]int64  // full name -> id
	roles    map[string]string // lower-case login -> role_name; absent: no such user
	comments *fakeapi.Comments[prKey]
	statuses fakeapi.Statuses[Status]
	prs      map[prKey]forge.MergeRequest
	faults   fakeapi.Faults

	app      *App                                    // nil: only Token is accepted (app.go)
	gitRepos map[string]*fakeapi.Repo                // change.go: branches and commits per repository
	trees    map[string]map[string]map[string]string // repository -> tree sha -> files
	bodies   map[prKey]string                        // pull request bodies

	installs map[string]int64     // lower-case owner -> installation id
	tokens   map[string]instToken // installation tokens minted
	minted   int

	oauth   *fakeapi.OAuth  // nil until EnableOAuth (oauth.go)
	readers map[string]bool // "login\x00owner/name": may read that repository
	public  map[string]bool // public repositories
}

// New starts a server for repository "infra/images" (id 880001, the
// fixtures' repository) that expects token. It stops when the test ends.
func New(t testing.TB, token string) *Server {
	s := &Server{
		Token: token, t: t,
		repos: map[string]int64{RepoFullName: RepoID}, roles: map[string]string{},
		comments: fakeapi.NewComments[prKey](1987660000), prs: map[prKey]forge.MergeRequest{},
		readers: map[string]bool{}, public: map[string]bool{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/"
	t.Cleanup(s.srv.Close)
	return s
}

// AddRepo makes another repository known.
func (s *Server) AddRepo(fullName string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[fullName] = id
}

// SetPermission gives user a role on every repository: "admin",
// "maintain", "write", "triage", "read" or "none" (a user who exists but is
// no collaborator). Users never set do not exist (404).
func (s *Server) SetPermission(user, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[strings.ToLower(user)] = role
}

// SetPullRequest sets what GET pulls/:number answers for repo ("owner/name").
// mr.SourceRepo with another ID and FullName makes it a fork's PR.
func (s *Server) SetPullRequest(repo string, mr forge.MergeRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prs[prKey{repo, mr.Number}] = mr
}

// Inject makes the next matching requests fail with f.Code.
func (s *Server) Inject(f Fault) { s.faults.Inject(f) }

// Calls lists "METHOD /path" of every request received, faults included.
func (s *Server) Calls() []string { return s.faults.Calls() }

// Comments returns the comments on a PR, oldest first (copies).
func (s *Server) Comments(repo string, number int) []Comment {
	return s.comments.List(prKey{repo, number})
}

// Statuses returns every status call for sha, in order.
func (s *Server) Statuses(sha string) []Status { return s.statuses.List(sha) }

// LastStatus is the current status with context on sha ("" State if none).
func (s *Server) LastStatus(sha, context string) Status {
	return s.statuses.Last(sha, func(st Status) bool { return st.Context == context })
}

var (
	reComments   = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$`)
	reComment    = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$`)
	reStatus     = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/statuses/([0-9a-f]{40})$`)
	rePermission = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/collaborators/([^/]+)/permission$`)
	rePull       = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/pulls/(\d+)$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if s.serveOAuth(w, r, path) {
		return
	}
	if s.app != nil && s.serveApp(w, r, path) {
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+s.Token && !s.installationTokenOK(got, path) {
		s.t.Errorf("githubtest: %s %s with Authorization %s, want the bot's bearer token", r.Method, path, fakeapi.Redact(got))
		fakeapi.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v != "2022-11-28" {
		s.t.Errorf("githubtest: %s %s with X-GitHub-Api-Version %q, want 2022-11-28", r.Method, path, v)
	}
	if a := r.Header.Get("Accept"); !strings.HasPrefix(a, "application/vnd.github") {
		s.t.Errorf("githubtest: %s %s with Accept %q, want application/vnd.github...", r.Method, path, a)
	}
	if r.URL.RawQuery != "" && !(r.Method == http.MethodGet && rePulls.MatchString(path)) {
		s.t.Errorf("githubtest: %s %s with unexpected query %q", r.Method, path, r.URL.RawQuery)
	}
	if s.faults.Serve(w, r) || s.serveChange(w, r, path) {
		return
	}
	var m []string
	switch {
	case r.Method == http.MethodPost && fakeapi.Match(reComments, path, &m):
		s.createComment(w, r, m)
	case r.Method == http.MethodPatch && fakeapi.Match(reComment, path, &m):
		s.editComment(w, r, m)
	case r.Method == http.MethodPost && fakeapi.Match(reStatus, path, &m):
		s.createStatus(w, r, m)
	case r.Method == http.MethodGet && fakeapi.Match(rePermission, path, &m):
		s.permission(w, m)
	case r.Method == http.MethodGet && fakeapi.Match(rePull, path, &m):
		s.pull(w, m)
	default:
		s.t.Errorf("githubtest: unexpected request %s %s", r.Method, r.URL.RequestURI())
		fakeapi.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
	}
}

// repo checks the repository exists and returns its full name.
func (s *Server) repo(w http.ResponseWriter, raw string) (string, bool) {
	name, _ := url.PathUnescape(raw)
	s.mu.Lock()
	_, ok := s.repos[name]
	s.mu.Unlock()
	if !ok {
		s.t.Errorf("githubtest: request for unknown repository %q", name)
		fakeapi.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
	}
	return name, ok
}

type commentBody struct {
	Body string `json:"body"`
}

func (s *Server) checkComment(w http.ResponseWriter, r *http.Request) (string, bool) {
	var b commentBody
	if !fakeapi.Decode(s.t, "githubtest", w, r, &b) {
		return "", false
	}
	if strings.TrimSpace(b.Body) == "" || len([]rune(b.Body)) > 65536 {
		s.t.Errorf("githubtest: %s %s: comment body of %d bytes (want 1..65536 characters)", r.Method, r.URL.Path, len(b.Body))
		fakeapi.WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
			"errors": []map[string]string{{"resource": "IssueComment", "code": "custom", "field": "body", "message": "body is too long (maximum is 65536 characters)"}}})
		return "", false
	}
	return b.Body, true
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request, m []string) {
	repo, ok := s.repo(w, m[1])
	if !ok {
		return
	}
	body, ok := s.checkComment(w, r)
	if !ok {
		return
	}
	n, _ := strconv.Atoi(m[2])
	k := prKey{repo, n}
	c := s.comments.Add(k, body)
	fakeapi.WriteJSON(w, http.StatusCreated, s.commentJSON(c, k))
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request, m []string) {
	repo, ok := s.repo(w, m[1])
	if !ok {
		return
	}
	body, ok := s.checkComment(w, r)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(m[2], 10, 64)
	k, c, ok := s.editAnywhere(repo, id, body)
	if !ok {
		s.t.Errorf("githubtest: edit of comment %d that is not on %s", id, repo)
		fakeapi.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	fakeapi.WriteJSON(w, http.StatusOK, s.commentJSON(c, k))
}

// editAnywhere edits comment id on whichever PR of repo holds it: GitHub
// addresses comments by id alone.
func (s *Server) editAnywhere(repo string, id int64, body string) (prKey, Comment, bool) {
	k, ok := s.comments.Thread(id)
	if !ok || k.repo != repo {
		return prKey{}, Comment{}, false
	}
	c, ok := s.comments.Edit(k, id, body)
	return k, c, ok
}

func (s *Server) commentJSON(c Comment, k prKey) map[string]any {
	return map[string]any{"id": c.ID, "node_id": "IC_" + strconv.FormatInt(c.ID, 10), "body": c.Body,
		"html_url":  fmt.Sprintf("https://github.com/%s/pull/%d#issuecomment-%d", k.repo, k.number, c.ID),
		"issue_url": fmt.Sprintf("%srepos/%s/issues/%d", s.URL, k.repo, k.number),
		"user":      map[string]any{"login": "imagebot", "id": 5099, "type": "User"}}
}

type statusBody struct {
	State       string  `json:"state"`
	TargetURL   *string `json:"target_url"`
	Description *string `json:"description"`
	Context     *string `json:"context"`
}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request, m []string) {
	if _, ok := s.repo(w, m[1]); !ok {
		return
	}
	var b statusBody
	if !fakeapi.Decode(s.t, "githubtest", w, r, &b) {
		return
	}
	st := Status{State: b.State, Context: fakeapi.Deref(b.Context), TargetURL: fakeapi.Deref(b.TargetURL), Description: fakeapi.Deref(b.Description)}
	var problems []string
	switch st.State {
	case "error", "failure", "pending", "success":
	default:
		problems = append(problems, fmt.Sprintf("state %q is not a GitHub state", st.State))
	}
	if st.Context == "" {
		problems = append(problems, "no context (it would show as \"default\")")
	}
	if b.TargetURL != nil {
		if u, err := url.Parse(st.TargetURL); err != nil || !u.IsAbs() {
			problems = append(problems, fmt.Sprintf("target_url %q is not an absolute URL", st.TargetURL))
		}
	}
	if n := len([]rune(st.Description)); n > 140 {
		problems = append(problems, fmt.Sprintf("description of %d characters (max 140)", n))
	}
	if len(problems) > 0 {
		s.t.Errorf("githubtest: status on %s: %s", m[2], strings.Join(problems, "; "))
		fakeapi.WriteJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Validation Failed: " + strings.Join(problems, "; ")})
		return
	}
	id := s.statuses.Add(m[2], st)
	fakeapi.WriteJSON(w, http.StatusCreated, map[string]any{"id": id, "state": st.State, "context": st.Context,
		"description": st.Description, "target_url": st.TargetURL})
}

// bases maps a role to the permission field GitHub reports beside role_name.
var bases = map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none"}

func (s *Server) permission(w http.ResponseWriter, m []string) {
	if _, ok := s.repo(w, m[1]); !ok {
		return
	}
	login, _ := url.PathUnescape(m[2])
	s.mu.Lock()
	role, ok := s.roles[strings.ToLower(login)]
	s.mu.Unlock()
	if !ok {
		fakeapi.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	base, known := bases[role]
	if !known {
		base = "write" // a custom role on the write base
	}
	fakeapi.WriteJSON(w, http.StatusOK, map[string]any{"permission": base, "role_name": role,
		"user": map[string]any{"login": login, "id": 6000 + len(login), "type": "User"}})
}

func (s *Server) pull(w http.ResponseWriter, m []string) {
	repo, ok := s.repo(w, m[1])
	if !ok {
		return
	}
	n, _ := strconv.Atoi(m[2])
	s.mu.Lock()
	mr, ok := s.prs[prKey{repo, n}]
	baseID := s.repos[repo]
	s.mu.Unlock()
	if !ok {
		s.t.Errorf("githubtest: GET of pull request #%d the test did not set", n)
		fakeapi.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	headRepo := map[string]any{"id": baseID, "full_name": repo, "clone_url": "https://github.com/" + repo + ".git",
		"html_url": "https://github.com/" + repo, "default_branch": "main"}
	if mr.SourceRepo.ID != 0 && mr.SourceRepo.ID != baseID {
		headRepo = map[string]any{"id": mr.SourceRepo.ID, "full_name": mr.SourceRepo.FullName, "clone_url": mr.SourceRepo.CloneURL,
			"html_url": mr.SourceRepo.WebURL, "default_branch": mr.SourceRepo.DefaultBranch}
	}
	state, merged := "open", false
	switch mr.State {
	case "closed":
		state = "closed"
	case "merged":
		state, merged = "closed", true
	}
	fakeapi.WriteJSON(w, http.StatusOK, map[string]any{
		"number": n, "state": state, "title": mr.Title, "draft": mr.Draft, "merged": merged,
		"merge_commit_sha": fakeapi.Nullable(mr.MergeCommit), "html_url": mr.WebURL,
		"user": map[string]any{"login": mr.Author, "type": "User"},
		"head": map[string]any{"ref": mr.HeadBranch, "sha": mr.HeadSHA, "repo": headRepo},
		"base": map[string]any{"ref": mr.TargetBranch, "sha": "1f2e3d4c5b6a79880716253443526170f8e9d0c1",
			"repo": map[string]any{"id": baseID, "full_name": repo}},
	})
}
