package githubtest

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/internal/fakeapi"
)

// DefaultBranch is every fake repository's default branch.
const DefaultBranch = "main"

var (
	rePulls     = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/pulls$`)
	reGetRef    = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/git/ref/heads/(.+)$`)
	reRefs      = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/git/refs$`)
	reRef       = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/git/refs/heads/(.+)$`)
	reGitCommit = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/git/commits/([0-9a-f]{40})$`)
	reCommits   = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/git/commits$`)
	reTrees     = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/git/trees$`)
)

// git is a repository's content: branches and commits (fakeapi.Repo) and
// the trees made through the API. The caller holds s.mu.
func (s *Server) git(name string) (*fakeapi.Repo, map[string]map[string]string) {
	if s.gitRepos == nil {
		s.gitRepos, s.trees = map[string]*fakeapi.Repo{}, map[string]map[string]map[string]string{}
	}
	r, ok := s.gitRepos[name]
	if !ok {
		r = fakeapi.NewRepo(DefaultBranch, map[string]string{})
		s.gitRepos[name], s.trees[name] = r, map[string]map[string]string{}
	}
	return r, s.trees[name]
}

// SetFile writes a file on a branch of repo (test setup).
func (s *Server) SetFile(repo, branch, path, content string) {
	s.mu.Lock()
	r, _ := s.git(repo)
	s.mu.Unlock()
	r.SetFile(branch, path, content)
}

// Files returns a branch's files (nil when there is no such branch).
func (s *Server) Files(repo, branch string) map[string]string {
	s.mu.Lock()
	r, _ := s.git(repo)
	s.mu.Unlock()
	return r.Files(branch)
}

// PullRequests returns repo's pull requests, by number.
func (s *Server) PullRequests(repo string) []forge.MergeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []forge.MergeRequest
	for k, pr := range s.prs {
		if k.repo == repo {
			out = append(out, pr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// Body is the body a pull request was opened with.
func (s *Server) Body(repo string, number int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[prKey{repo, number}]
}

// Merge merges an open pull request opened through the API.
func (s *Server) Merge(repo string, number int) forge.MergeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := prKey{repo, number}
	pr, ok := s.prs[k]
	if !ok || pr.State != "opened" {
		s.t.Errorf("githubtest: merge of #%d, which is not open", number)
		return pr
	}
	r, _ := s.git(repo)
	sha, err := r.Merge(pr.HeadBranch, pr.TargetBranch, fmt.Sprintf("Merge pull request #%d", number))
	if err != nil {
		s.t.Error(err)
		return pr
	}
	pr.State, pr.MergeCommit = "merged", sha
	s.prs[k] = pr
	return pr
}

// serveChange answers the calls of OpenChange; false when r is none of them.
func (s *Server) serveChange(w http.ResponseWriter, r *http.Request, path string) bool {
	var m []string
	switch {
	case r.Method == http.MethodGet && fakeapi.Match(rePulls, path, &m):
		s.listPulls(w, r, m)
	case r.Method == http.MethodPost && fakeapi.Match(rePulls, path, &m):
		s.createPull(w, r, m)
	case r.Method == http.MethodGet && fakeapi.Match(reGetRef, path, &m):
		s.getRef(w, m)
	case r.Method == http.MethodGet && fakeapi.Match(reGitCommit, path, &m):
		s.getCommit(w, m)
	case r.Method == http.MethodPost && fakeapi.Match(reTrees, path, &m):
		s.createTree(w, r, m)
	case r.Method == http.MethodPost && fakeapi.Match(reCommits, path, &m):
		s.createCommit(w, r, m)
	case r.Method == http.MethodPost && fakeapi.Match(reRefs, path, &m):
		s.createRef(w, r, m)
	case r.Method == http.MethodPatch && fakeapi.Match(reRef, path, &m):
		s.updateRef(w, r, m)
	default:
		return false
	}
	return true
}

func (s *Server) unprocessable(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.t.Errorf("githubtest: %s", msg)
	fakeapi.WriteJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": msg})
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request, m []string) {
	repo, ok := s.repo(w, m[1])
	if !ok {
		return
	}
	q := r.URL.Query()
	for k := range q {
		if k != "state" && k != "head" && k != "base" {
			s.t.Errorf("githubtest: GET pulls with unexpected parameter %q", k)
		}
	}
	owner, branch, ok := strings.Cut(q.Get("head"), ":")
	if !ok || owner != strings.Split(repo, "/")[0] {
		s.t.Errorf("githubtest: GET pulls with head %q, want owner:branch", q.Get("head"))
	}
	out := []map[string]any{}
	for _, pr := range s.PullRequests(repo) {
		open := pr.State == "opened"
		if (q.Get("state") != "open" || open) && pr.HeadBranch == branch && (q.Get("base") == "" || q.Get("base") == pr.TargetBranch) {
			out = append(out, s.pullJSON(repo, pr))
		}
	}
	fakeapi.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) pullJSON(repo string, pr forge.MergeRequest) map[string]any {
	state := "open"
	if pr.State != "opened" {
		state = "closed"
	}
	return map[string]any{"number": pr.Number, "state": state, "title": pr.Title, "html_url": pr.WebURL,
		"merged": pr.State == "merged", "merge_commit_sha": fakeapi.Nullable(pr.MergeCommit),
		"user": map[string]any{"login": pr.Author, "type": "Bot"},
		"head": map[string]any{"ref": pr.HeadBranch, "sha": pr.HeadSHA}, "base": map[string]any{"ref": pr.TargetBranch}}
}

type pullBody struct {
	Title string `json:"title"`
	Head  string `json:"head"`
	Base  string `json:"base"`
	Body  string `json:"body"`
}

func (s *Server) createPull(w http.ResponseWriter, r *http.Request, m []string) {
	repo, ok := s.repo(w, m[1])
	if !ok {
		return
	}
	var b pullBody
	if !fakeapi.Decode(s.t, "githubtest", w, r, &b) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, _ := s.git(repo)
	next := 1
	for k, pr := range s.prs {
		if k.repo != repo {
			continue
		}
		if pr.Number >= next {
			next = pr.Number + 1
		}
		if pr.State == "opened" && pr.HeadBranch == b.Head && pr.TargetBranch == b.Base {
			s.unprocessable(w, "A pull request already exists for %s:%s.", strings.Split(repo, "/")[0], b.Head)
			return
		}
	}
	head := g.Head(b.Head)
	if strings.TrimSpace(b.Title) == "" || head == nil || g.Head(b.Base) == nil || b.Head == b.Base {
		s.unprocessable(w, "pull request %q from %q into %q: a title and two different existing branches are required", b.Title, b.Head, b.Base)
		return
	}
	pr := forge.MergeRequest{Number: next, Title: b.Title, Author: "imagebot[bot]", HeadSHA: head.SHA, HeadBranch: b.Head,
		TargetBranch: b.Base, State: "opened", WebURL: fmt.Sprintf("https://github.com/%s/pull/%d", repo, next)}
	s.prs[prKey{repo, next}] = pr
	if s.bodies == nil {
		s.bodies = map[prKey]string{}
	}
	s.bodies[prKey{repo, next}] = b.Body
	fakeapi.WriteJSON(w, http.StatusCreated, s.pullJSON(repo, pr))
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
