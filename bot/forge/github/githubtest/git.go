package githubtest

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/imagebot/imagebot/bot/forge/internal/fakeapi"
)

// The Git data API calls OpenChange makes: read a branch and its commit,
// then create a tree, a commit and the branch (or move it, forced).

func (s *Server) getRef(w http.ResponseWriter, m []string) {
	repo, ok := s.repo(w, m[1])
	if !ok {
		return
	}
	branch, _ := url.PathUnescape(m[2])
	s.mu.Lock()
	g, _ := s.git(repo)
	s.mu.Unlock()
	c := g.Head(branch)
	if c == nil {
		s.t.Errorf("githubtest: GET of branch %q, which does not exist", branch)
		fakeapi.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	fakeapi.WriteJSON(w, http.StatusOK, refJSON(branch, c.SHA))
}

func refJSON(branch, sha string) map[string]any {
	return map[string]any{"ref": "refs/heads/" + branch, "object": map[string]any{"type": "commit", "sha": sha}}
}

func (s *Server) getCommit(w http.ResponseWriter, m []string) {
	repo, ok := s.repo(w, m[1])
	if !ok {
		return
	}
	s.mu.Lock()
	g, trees := s.git(repo)
	c := g.Lookup(m[2])
	if c != nil {
		trees[c.Tree] = c.Files
	}
	s.mu.Unlock()
	if c == nil {
		s.t.Errorf("githubtest: GET of unknown commit %s", m[2])
		fakeapi.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	fakeapi.WriteJSON(w, http.StatusOK, map[string]any{"sha": c.SHA, "message": c.Message, "tree": map[string]any{"sha": c.Tree}})
}

type treeBody struct {
	BaseTree string `json:"base_tree"`
	Tree     []struct {
		Path    string  `json:"path"`
		Mode    string  `json:"mode"`
		Type    string  `json:"type"`
		Content *string `json:"content"`
	} `json:"tree"`
}

func (s *Server) createTree(w http.ResponseWriter, r *http.Request, m []string) {
	repo, ok := s.repo(w, m[1])
	if !ok {
		return
	}
	var b treeBody
	if !fakeapi.Decode(s.t, "githubtest", w, r, &b) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, trees := s.git(repo)
	base, ok := trees[b.BaseTree]
	if !ok {
		s.unprocessable(w, "base_tree %q is not a tree this repository has shown", b.BaseTree)
		return
	}
	files := map[string]string{}
	for k, v := range base {
		files[k] = v
	}
	for _, e := range b.Tree {
		if e.Mode != "100644" || e.Type != "blob" || e.Content == nil || e.Path == "" {
			s.unprocessable(w, "tree entry %+v: want a 100644 blob with content", e)
			return
		}
		files[e.Path] = *e.Content
	}
	var parts []string
	for _, k := range sortedKeys(files) {
		parts = append(parts, k+"\x00"+files[k])
	}
	sha := fakeapi.Digest(parts...)
	trees[sha] = files
	fakeapi.WriteJSON(w, http.StatusCreated, map[string]any{"sha": sha, "truncated": false})
}

type commitBody struct {
	Message string   `json:"message"`
	Tree    string   `json:"tree"`
	Parents []string `json:"parents"`
}

func (s *Server) createCommit(w http.ResponseWriter, r *http.Request, m []string) {
	repo, ok := s.repo(w, m[1])
	if !ok {
		return
	}
	var b commitBody
	if !fakeapi.Decode(s.t, "githubtest", w, r, &b) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, trees := s.git(repo)
	files, ok := trees[b.Tree]
	switch {
	case !ok:
		s.unprocessable(w, "tree %q does not exist", b.Tree)
		return
	case len(b.Parents) != 1 || g.Lookup(b.Parents[0]) == nil:
		s.unprocessable(w, "parents %v: want one existing commit", b.Parents)
		return
	case strings.TrimSpace(b.Message) == "":
		s.unprocessable(w, "commit without a message")
		return
	}
	c := g.Snapshot(b.Parents[0], b.Message, files)
	fakeapi.WriteJSON(w, http.StatusCreated, map[string]any{"sha": c.SHA, "message": c.Message, "tree": map[string]any{"sha": b.Tree},
		"parents": []map[string]any{{"sha": b.Parents[0]}}})
}

type refBody struct {
	Ref string `json:"ref"`
	SHA string `json:"sha"`
}

func (s *Server) createRef(w http.ResponseWriter, r *http.Request, m []string) {
	repo, ok := s.repo(w, m[1])
	if !ok {
		return
	}
	var b refBody
	if !fakeapi.Decode(s.t, "githubtest", w, r, &b) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, _ := s.git(repo)
	branch, ok := strings.CutPrefix(b.Ref, "refs/heads/")
	switch {
	case !ok || g.Lookup(b.SHA) == nil:
		s.unprocessable(w, "ref %q at %q: want refs/heads/NAME at an existing commit", b.Ref, b.SHA)
		return
	case g.Head(branch) != nil:
		// What GitHub answers; the adapter then moves the branch.
		fakeapi.WriteJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Reference already exists"})
		return
	}
	g.SetBranch(branch, b.SHA)
	fakeapi.WriteJSON(w, http.StatusCreated, refJSON(branch, b.SHA))
}

type updateRefBody struct {
	SHA   string `json:"sha"`
	Force *bool  `json:"force"`
}

func (s *Server) updateRef(w http.ResponseWriter, r *http.Request, m []string) {
	repo, ok := s.repo(w, m[1])
	if !ok {
		return
	}
	var b updateRefBody
	if !fakeapi.Decode(s.t, "githubtest", w, r, &b) {
		return
	}
	branch, _ := url.PathUnescape(m[2])
	s.mu.Lock()
	defer s.mu.Unlock()
	g, _ := s.git(repo)
	if g.Head(branch) == nil || g.Lookup(b.SHA) == nil || b.Force == nil || !*b.Force {
		s.unprocessable(w, "update of %s to %s: want an existing branch, an existing commit and force (it is not a fast-forward)", branch, b.SHA)
		return
	}
	g.SetBranch(branch, b.SHA)
	fakeapi.WriteJSON(w, http.StatusOK, refJSON(branch, b.SHA))
}
