package gitlabtest

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/internal/fakeapi"
)

// DefaultBranch is every fake project's default branch.
const DefaultBranch = "main"

var (
	reCommits = regexp.MustCompile(`^/api/v4/projects/([^/]+)/repository/commits$`)
	reMRs     = regexp.MustCompile(`^/api/v4/projects/([^/]+)/merge_requests$`)
)

// repo is a project's repository, made on first use with an empty main.
// The caller holds s.mu.
func (s *Server) repo(project int64) *fakeapi.Repo {
	if s.repos == nil {
		s.repos = map[int64]*fakeapi.Repo{}
	}
	r, ok := s.repos[project]
	if !ok {
		r = fakeapi.NewRepo(DefaultBranch, map[string]string{})
		s.repos[project] = r
	}
	return r
}

// SetFile writes a file on a branch of project (test setup).
func (s *Server) SetFile(project int64, branch, path, content string) {
	s.mu.Lock()
	r := s.repo(project)
	s.mu.Unlock()
	r.SetFile(branch, path, content)
}

// Files returns a branch's files (nil when there is no such branch).
func (s *Server) Files(project int64, branch string) map[string]string {
	s.mu.Lock()
	r := s.repo(project)
	s.mu.Unlock()
	return r.Files(branch)
}

// MergeRequests returns project's merge requests, by number.
func (s *Server) MergeRequests(project int64) []forge.MergeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []forge.MergeRequest
	for k, mr := range s.mrs {
		if k.project == project {
			out = append(out, mr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// Merge merges an open merge request opened through the API: the target
// branch gets the source's files. It returns the merged request.
func (s *Server) Merge(project int64, iid int) forge.MergeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := mrKey{project, iid}
	mr, ok := s.mrs[k]
	if !ok || mr.State != "opened" {
		s.t.Errorf("gitlabtest: merge of !%d, which is not open", iid)
		return mr
	}
	sha, err := s.repo(project).Merge(mr.HeadBranch, mr.TargetBranch, "Merge branch '"+mr.HeadBranch+"'")
	if err != nil {
		s.t.Error(err)
		return mr
	}
	mr.State, mr.MergeCommit = "merged", sha
	s.mrs[k] = mr
	return mr
}

type commitBody struct {
	Branch        string         `json:"branch"`
	CommitMessage string         `json:"commit_message"`
	StartBranch   *string        `json:"start_branch"`
	Actions       []commitAction `json:"actions"`
	Force         *bool          `json:"force"`
}

type commitAction struct {
	Action   string  `json:"action"`
	FilePath string  `json:"file_path"`
	Content  *string `json:"content"`
}

// createCommit is POST /projects/:id/repository/commits, checked as GitLab
// checks it: a start branch that exists, an existing branch only with
// force, update actions on files that exist.
func (s *Server) createCommit(w http.ResponseWriter, r *http.Request, m []string) {
	pid, ok := s.project(w, m[1])
	if !ok {
		return
	}
	var b commitBody
	if !s.decode(w, r, &b) {
		return
	}
	s.mu.Lock()
	repo := s.repo(pid)
	s.mu.Unlock()
	var problems []string
	start := b.Branch
	if b.StartBranch != nil {
		start = *b.StartBranch
	}
	base := repo.Head(start)
	switch {
	case b.Branch == "" || strings.TrimSpace(b.CommitMessage) == "" || len(b.Actions) == 0:
		problems = append(problems, "branch, commit_message and actions are required")
	case base == nil:
		problems = append(problems, fmt.Sprintf("start branch %q does not exist", start))
	case repo.Head(b.Branch) != nil && b.Branch != start && (b.Force == nil || !*b.Force):
		problems = append(problems, fmt.Sprintf("A branch called '%s' already exists", b.Branch))
	}
	changed := map[string]string{}
	for _, a := range b.Actions {
		exists := false
		if base != nil {
			_, exists = base.Files[a.FilePath]
		}
		switch {
		case a.Action != "update":
			problems = append(problems, fmt.Sprintf("action %q: imagebot only updates files", a.Action))
		case a.Content == nil:
			problems = append(problems, fmt.Sprintf("update of %s without content", a.FilePath))
		case !exists:
			problems = append(problems, fmt.Sprintf("A file with this name doesn't exist: %s", a.FilePath))
		default:
			changed[a.FilePath] = *a.Content
		}
	}
	if len(problems) > 0 {
		s.t.Errorf("gitlabtest: commit on %s: %s", b.Branch, strings.Join(problems, "; "))
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": strings.Join(problems, "; ")})
		return
	}
	c := repo.Commit(base.SHA, b.CommitMessage, changed)
	repo.SetBranch(b.Branch, c.SHA)
	writeJSON(w, http.StatusCreated, map[string]any{"id": c.SHA, "short_id": c.SHA[:8], "title": b.CommitMessage,
		"message": b.CommitMessage, "parent_ids": []string{base.SHA}})
}

// listMRs is GET /projects/:id/merge_requests?state=&source_branch=&target_branch=.
func (s *Server) listMRs(w http.ResponseWriter, r *http.Request, m []string) {
	pid, ok := s.project(w, m[1])
	if !ok {
		return
	}
	q := r.URL.Query()
	for k := range q {
		if k != "state" && k != "source_branch" && k != "target_branch" {
			s.t.Errorf("gitlabtest: GET merge_requests with unexpected parameter %q", k)
		}
	}
	if q.Get("source_branch") == "" {
		s.t.Errorf("gitlabtest: GET merge_requests without source_branch would list every merge request")
	}
	out := []map[string]any{}
	for _, mr := range s.MergeRequests(pid) {
		if (q.Get("state") == "" || q.Get("state") == mr.State) && q.Get("source_branch") == mr.HeadBranch &&
			(q.Get("target_branch") == "" || q.Get("target_branch") == mr.TargetBranch) {
			out = append(out, mrJSON(pid, mr))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type mrBody struct {
	Title              string `json:"title"`
	Description        string `json:"description"`
	SourceBranch       string `json:"source_branch"`
	TargetBranch       string `json:"target_branch"`
	RemoveSourceBranch *bool  `json:"remove_source_branch"`
}

// createMR is POST /projects/:id/merge_requests; a second open merge
// request from the same branch is refused as GitLab refuses it (409).
func (s *Server) createMR(w http.ResponseWriter, r *http.Request, m []string) {
	pid, ok := s.project(w, m[1])
	if !ok {
		return
	}
	var b mrBody
	if !s.decode(w, r, &b) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repo(pid)
	next := 1
	for k, mr := range s.mrs {
		if k.project != pid {
			continue
		}
		if mr.Number >= next {
			next = mr.Number + 1
		}
		if mr.State == "opened" && mr.HeadBranch == b.SourceBranch && mr.TargetBranch == b.TargetBranch {
			s.t.Errorf("gitlabtest: a second open merge request from %s", b.SourceBranch)
			writeJSON(w, http.StatusConflict, map[string]any{"message": []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", mr.Number)}})
			return
		}
	}
	head, target := repo.Head(b.SourceBranch), repo.Head(b.TargetBranch)
	if strings.TrimSpace(b.Title) == "" || head == nil || target == nil || b.SourceBranch == b.TargetBranch {
		s.t.Errorf("gitlabtest: merge request %q from %q into %q: title, and two different existing branches, are required", b.Title, b.SourceBranch, b.TargetBranch)
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "invalid merge request"})
		return
	}
	mr := forge.MergeRequest{Number: next, Title: b.Title, Author: "imagebot", HeadSHA: head.SHA, HeadBranch: b.SourceBranch,
		TargetBranch: b.TargetBranch, State: "opened", WebURL: fmt.Sprintf("https://gitlab.example.test/%s/-/merge_requests/%d", s.projects[pid], next)}
	s.mrs[mrKey{pid, next}] = mr
	if s.bodies == nil {
		s.bodies = map[mrKey]string{}
	}
	s.bodies[mrKey{pid, next}] = b.Description
	writeJSON(w, http.StatusCreated, mrJSON(pid, mr))
}

// Description is the description a merge request was opened with.
func (s *Server) Description(project int64, iid int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[mrKey{project, iid}]
}

func mrJSON(pid int64, mr forge.MergeRequest) map[string]any {
	return map[string]any{"id": 1000 + mr.Number, "iid": mr.Number, "project_id": pid, "title": mr.Title, "state": mr.State,
		"source_branch": mr.HeadBranch, "target_branch": mr.TargetBranch, "source_project_id": pid, "target_project_id": pid,
		"sha": mr.HeadSHA, "merge_commit_sha": fakeapi.Nullable(mr.MergeCommit), "web_url": mr.WebURL,
		"author": map[string]any{"id": 1, "username": mr.Author}}
}
