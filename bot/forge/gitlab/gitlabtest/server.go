// Package gitlabtest plays GitLab for tests: an httptest server answering
// exactly the API calls imagebot's GitLab adapter makes, checking every
// request (method, path, token, JSON body) and failing the test on anything
// else, recording notes and commit statuses for assertions, and injecting
// 500s and 429s. It also builds signed webhook deliveries from the payload
// fixtures in testdata/ (shaped like GitLab's documented payloads).
package gitlabtest

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

// Access levels as GitLab numbers them.
const (
	Guest      = 10
	Reporter   = 20
	Developer  = 30
	Maintainer = 40
	Owner      = 50
)

// Note is a merge-request note as the server holds it (ID, Body, History).
type Note = fakeapi.Comment

// Status is one commit status call, in GitLab's terms (state "failed").
type Status struct {
	Name, State, TargetURL, Description string
}

// Fault makes matching requests fail (Code, RetryAfter, Times...).
type Fault = fakeapi.Fault

type mrKey struct {
	project int64
	iid     int
}

type member struct {
	id       int64
	level    int // 0: not a member
	state    string
	projects map[string]int // level per project path (SetProjectAccess)
}

// Server is the fake GitLab. Create it with New.
type Server struct {
	URL   string // base URL for gitlab.Config.BaseURL
	Token string // the API token every request must carry

	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	projects map[int64]string // id -> path_with_namespace
	users    map[string]*member
	nextUser int64
	notes    *fakeapi.Comments[mrKey]
	statuses fakeapi.Statuses[Status]
	mrs      map[mrKey]forge.MergeRequest
	faults   fakeapi.Faults
	repos    map[int64]*fakeapi.Repo // change.go
	bodies   map[mrKey]string        // merge request descriptions
	oauth    *fakeapi.OAuth          // nil until EnableOAuth
	public   map[string]bool         // public project paths
}

// New starts a server for project 42 "infra/images" (the fixtures' project)
// that expects token. It stops when the test ends.
func New(t testing.TB, token string) *Server {
	s := &Server{
		Token: token, t: t,
		projects: map[int64]string{42: "infra/images"},
		users:    map[string]*member{}, nextUser: 100,
		notes: fakeapi.NewComments[mrKey](9000), mrs: map[mrKey]forge.MergeRequest{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// AddProject makes another project known.
func (s *Server) AddProject(id int64, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects[id] = path
}

// SetAccess makes user a member of every project at level (Developer, ...);
// 0 makes the user exist without membership.
func (s *Server) SetAccess(user string, level int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.user(user)
	m.level, m.state = level, "active"
}

// Block marks user's membership blocked (it then grants nothing).
func (s *Server) Block(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user(user).state = "blocked"
}

func (s *Server) user(name string) *member {
	m, ok := s.users[strings.ToLower(name)]
	if !ok {
		s.nextUser++
		m = &member{id: s.nextUser, state: "active"}
		s.users[strings.ToLower(name)] = m
	}
	return m
}

// SetMergeRequest sets what GET merge_requests/:iid answers for project.
// mr.SourceRepo.ID, when set and different, makes it a fork's MR.
func (s *Server) SetMergeRequest(project int64, mr forge.MergeRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mrs[mrKey{project, mr.Number}] = mr
}

// Inject makes the next matching requests fail with f.Code.
func (s *Server) Inject(f Fault) { s.faults.Inject(f) }

// Comments returns the notes on an MR, oldest first (copies).
func (s *Server) Comments(project int64, mr int) []Note { return s.notes.List(mrKey{project, mr}) }

// Statuses returns every status call for sha, in order.
func (s *Server) Statuses(sha string) []Status { return s.statuses.List(sha) }

// LastStatus is the current status named name on sha ("" State if none).
func (s *Server) LastStatus(sha, name string) Status {
	return s.statuses.Last(sha, func(st Status) bool { return st.Name == name })
}

// Calls lists "METHOD /path" of every request received, faults included.
func (s *Server) Calls() []string { return s.faults.Calls() }

var (
	reNotes     = regexp.MustCompile(`^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes$`)
	reNote      = regexp.MustCompile(`^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)$`)
	reStatus    = regexp.MustCompile(`^/api/v4/projects/([^/]+)/statuses/([0-9a-f]{7,64})$`)
	reMemberAll = regexp.MustCompile(`^/api/v4/projects/([^/]+)/members/all/(\d+)$`)
	reMR        = regexp.MustCompile(`^/api/v4/projects/([^/]+)/merge_requests/(\d+)$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if s.serveOAuth(w, r, path) {
		return
	}
	if got := r.Header.Get("Private-Token"); got != s.Token {
		s.t.Errorf("gitlabtest: %s %s with token %s, want the bot's token", r.Method, path, fakeapi.Redact(got))
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return
	}
	if a := r.Header.Get("Accept"); a != "application/json" {
		s.t.Errorf("gitlabtest: %s %s with Accept %q, want application/json", r.Method, path, a)
	}
	if r.URL.RawQuery != "" && path != "/api/v4/users" && !(r.Method == http.MethodGet && reMRs.MatchString(path)) {
		s.t.Errorf("gitlabtest: %s %s with unexpected query %q", r.Method, path, r.URL.RawQuery)
	}
	if s.faults.Serve(w, r) {
		return
	}
	var m []string
	switch {
	case r.Method == http.MethodPost && match(reNotes, path, &m):
		s.createNote(w, r, m)
	case r.Method == http.MethodPut && match(reNote, path, &m):
		s.editNote(w, r, m)
	case r.Method == http.MethodPost && match(reStatus, path, &m):
		s.setStatus(w, r, m)
	case r.Method == http.MethodGet && path == "/api/v4/users":
		s.listUsers(w, r)
	case r.Method == http.MethodGet && match(reMemberAll, path, &m):
		s.memberAll(w, m)
	case r.Method == http.MethodGet && match(reMR, path, &m):
		s.getMR(w, m)
	case r.Method == http.MethodPost && match(reCommits, path, &m):
		s.createCommit(w, r, m)
	case r.Method == http.MethodGet && match(reMRs, path, &m):
		s.listMRs(w, r, m)
	case r.Method == http.MethodPost && match(reMRs, path, &m):
		s.createMR(w, r, m)
	default:
		s.t.Errorf("gitlabtest: unexpected request %s %s", r.Method, r.URL.RequestURI())
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not Found"})
	}
}

// project resolves a numeric id or a URL-encoded path.
func (s *Server) project(w http.ResponseWriter, raw string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, err := strconv.ParseInt(raw, 10, 64); err == nil {
		if _, ok := s.projects[id]; ok {
			return id, true
		}
	} else if p, err := url.PathUnescape(raw); err == nil {
		for id, path := range s.projects {
			if path == p {
				return id, true
			}
		}
	}
	s.t.Errorf("gitlabtest: request for unknown project %q", raw)
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Project Not Found"})
	return 0, false
}

type noteBody struct {
	Body string `json:"body"`
}

func (s *Server) checkNote(w http.ResponseWriter, r *http.Request) (string, bool) {
	var b noteBody
	if !s.decode(w, r, &b) {
		return "", false
	}
	if strings.TrimSpace(b.Body) == "" || len(b.Body) > 1_000_000 {
		s.t.Errorf("gitlabtest: %s %s: note body of %d bytes (want 1..1000000)", r.Method, r.URL.Path, len(b.Body))
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string][]string{"note": {"is too long (maximum is 1000000 characters)"}}})
		return "", false
	}
	return b.Body, true
}

func (s *Server) createNote(w http.ResponseWriter, r *http.Request, m []string) {
	pid, ok := s.project(w, m[1])
	if !ok {
		return
	}
	body, ok := s.checkNote(w, r)
	if !ok {
		return
	}
	iid, _ := strconv.Atoi(m[2])
	n := s.notes.Add(mrKey{pid, iid}, body)
	writeJSON(w, http.StatusCreated, noteJSON(n, iid))
}

func (s *Server) editNote(w http.ResponseWriter, r *http.Request, m []string) {
	pid, ok := s.project(w, m[1])
	if !ok {
		return
	}
	body, ok := s.checkNote(w, r)
	if !ok {
		return
	}
	iid, _ := strconv.Atoi(m[2])
	id, _ := strconv.ParseInt(m[3], 10, 64)
	n, ok := s.notes.Edit(mrKey{pid, iid}, id, body)
	if !ok {
		s.t.Errorf("gitlabtest: edit of note %d that is not on !%d", id, iid)
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not found"})
		return
	}
	writeJSON(w, http.StatusOK, noteJSON(n, iid))
}

func noteJSON(n Note, iid int) map[string]any {
	return map[string]any{"id": n.ID, "body": n.Body, "noteable_type": "MergeRequest", "noteable_iid": iid,
		"system": false, "author": map[string]any{"id": 1, "username": "imagebot"}}
}

type statusBody struct {
	State       string  `json:"state"`
	Name        *string `json:"name"`
	TargetURL   *string `json:"target_url"`
	Description *string `json:"description"`
}

var gitlabStates = map[string]string{"pending": "enqueue", "running": "run", "success": "succeed", "failed": "drop", "canceled": "cancel"}

func (s *Server) setStatus(w http.ResponseWriter, r *http.Request, m []string) {
	if _, ok := s.project(w, m[1]); !ok {
		return
	}
	var b statusBody
	if !s.decode(w, r, &b) {
		return
	}
	st := Status{State: b.State, Name: fakeapi.Deref(b.Name), TargetURL: fakeapi.Deref(b.TargetURL), Description: fakeapi.Deref(b.Description)}
	var problems []string
	if _, ok := gitlabStates[st.State]; !ok {
		problems = append(problems, fmt.Sprintf("state %q is not a GitLab state", st.State))
	}
	if st.Name == "" {
		problems = append(problems, "no name (it would show as \"default\")")
	}
	if b.TargetURL != nil {
		if u, err := url.Parse(st.TargetURL); err != nil || !u.IsAbs() {
			problems = append(problems, fmt.Sprintf("target_url %q is not an absolute URL", st.TargetURL))
		}
	}
	if len(st.Description) > 255 {
		problems = append(problems, fmt.Sprintf("description of %d bytes (max 255)", len(st.Description)))
	}
	if len(problems) > 0 {
		s.t.Errorf("gitlabtest: status on %s: %s", m[2], strings.Join(problems, "; "))
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": strings.Join(problems, "; ")})
		return
	}
	prev := s.statuses.Last(m[2], func(old Status) bool { return old.Name == st.Name }).State
	if prev == st.State {
		// What GitLab really answers when the state does not change.
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"message": fmt.Sprintf("Cannot transition status via :%s from :%s", gitlabStates[st.State], prev)})
		return
	}
	id := s.statuses.Add(m[2], st)
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "sha": m[2], "status": st.State,
		"name": st.Name, "target_url": st.TargetURL, "description": st.Description})
}

func (s *Server) getMR(w http.ResponseWriter, m []string) {
	pid, ok := s.project(w, m[1])
	if !ok {
		return
	}
	iid, _ := strconv.Atoi(m[2])
	s.mu.Lock()
	mr, ok := s.mrs[mrKey{pid, iid}]
	s.mu.Unlock()
	if !ok {
		s.t.Errorf("gitlabtest: GET of merge request !%d the test did not set", iid)
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not found"})
		return
	}
	src := pid
	if mr.SourceRepo.ID != 0 {
		src = mr.SourceRepo.ID
	}
	state := mr.State
	if state == "" {
		state = "opened"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": 1000 + iid, "iid": iid, "project_id": pid, "title": mr.Title, "state": state,
		"source_branch": mr.HeadBranch, "target_branch": mr.TargetBranch,
		"source_project_id": src, "target_project_id": pid, "draft": mr.Draft, "work_in_progress": mr.Draft,
		"sha": mr.HeadSHA, "merge_commit_sha": fakeapi.Nullable(mr.MergeCommit), "web_url": mr.WebURL,
		"author": map[string]any{"id": 11, "username": mr.Author, "name": mr.Author},
	})
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return fakeapi.Decode(s.t, "gitlabtest", w, r, v)
}

func match(re *regexp.Regexp, path string, m *[]string) bool { return fakeapi.Match(re, path, m) }

func writeJSON(w http.ResponseWriter, code int, v any) { fakeapi.WriteJSON(w, code, v) }
