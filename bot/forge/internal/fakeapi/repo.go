package fakeapi

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
)

// Repo is a fake repository's branches: each branch a commit, each commit
// a full snapshot of files. Both test servers keep change commits in it.
type Repo struct {
	mu       sync.Mutex
	branches map[string]string  // name -> commit sha
	commits  map[string]*Commit // sha -> commit
}

// Commit is one commit of a fake repository.
type Commit struct {
	SHA     string
	Parent  string
	Message string
	Files   map[string]string
	Tree    string // a digest of Files, the commit's tree sha
}

// NewRepo returns a repository whose branch def has files.
func NewRepo(def string, files map[string]string) *Repo {
	r := &Repo{branches: map[string]string{}, commits: map[string]*Commit{}}
	r.branches[def] = r.add("", "initial", files).SHA
	return r
}

// Digest is a sha1-shaped hex digest of parts, for fake object ids.
func Digest(parts ...string) string { return digest(parts...) }

func digest(parts ...string) string {
	h := sha1.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func treeOf(files map[string]string) string {
	var parts []string
	for _, p := range sortedKeys(files) {
		parts = append(parts, p, files[p])
	}
	return digest(parts...)
}

func (r *Repo) add(parent, message string, files map[string]string) *Commit {
	c := &Commit{Parent: parent, Message: message, Files: files, Tree: treeOf(files)}
	c.SHA = digest(parent, message, c.Tree, fmt.Sprint(len(r.commits)))
	r.commits[c.SHA] = c
	return c
}

// SetFile writes a file on a branch as a new commit (test setup).
func (r *Repo) SetFile(branch, path, content string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.commits[r.branches[branch]]
	files := map[string]string{}
	parent := ""
	if old != nil {
		parent = old.SHA
		for k, v := range old.Files {
			files[k] = v
		}
	}
	files[path] = content
	r.branches[branch] = r.add(parent, "set "+path, files).SHA
}

// Head is a branch's commit (nil when there is no such branch).
func (r *Repo) Head(branch string) *Commit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.commits[r.branches[branch]]
}

// Lookup is a commit by sha (nil when unknown).
func (r *Repo) Lookup(sha string) *Commit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.commits[sha]
}

// Files returns a copy of a branch's files (nil when there is no such branch).
func (r *Repo) Files(branch string) map[string]string {
	c := r.Head(branch)
	if c == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range c.Files {
		out[k] = v
	}
	return out
}

// Commit makes a commit on parent with files changed; it does not move a branch.
func (r *Repo) Commit(parent, message string, changed map[string]string) *Commit {
	r.mu.Lock()
	defer r.mu.Unlock()
	files := map[string]string{}
	if p := r.commits[parent]; p != nil {
		for k, v := range p.Files {
			files[k] = v
		}
	}
	for k, v := range changed {
		files[k] = v
	}
	return r.add(parent, message, files)
}

// SetBranch points a branch at a commit.
func (r *Repo) SetBranch(name, sha string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.branches[name] = sha
}

// Merge merges source into target as git would, file by file: target's
// files plus every file source changed since their merge base (a conflict,
// both sides changing a file differently, is an error). It returns the
// merge commit's sha.
func (r *Repo) Merge(source, target, message string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	src, dst := r.commits[r.branches[source]], r.commits[r.branches[target]]
	if src == nil || dst == nil {
		return "", fmt.Errorf("merge %s into %s: no such branch", source, target)
	}
	onTarget := map[string]bool{}
	for c := dst; c != nil; c = r.commits[c.Parent] {
		onTarget[c.SHA] = true
	}
	base := src
	for base != nil && !onTarget[base.SHA] {
		base = r.commits[base.Parent]
	}
	var baseFiles map[string]string
	if base != nil {
		baseFiles = base.Files
	}
	files := map[string]string{}
	for k, v := range dst.Files {
		files[k] = v
	}
	for k, v := range src.Files {
		if old, ok := baseFiles[k]; ok && old == v {
			continue // unchanged on source
		}
		if cur, ok := dst.Files[k]; ok && cur != baseFiles[k] && cur != v {
			return "", fmt.Errorf("merge %s into %s: both changed %s", source, target, k)
		}
		files[k] = v
	}
	c := r.add(dst.SHA, message, files)
	r.branches[target] = c.SHA
	return c.SHA, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Snapshot makes a commit on parent whose files are exactly files; it
// does not move a branch.
func (r *Repo) Snapshot(parent, message string, files map[string]string) *Commit {
	r.mu.Lock()
	defer r.mu.Unlock()
	copied := map[string]string{}
	for k, v := range files {
		copied[k] = v
	}
	return r.add(parent, message, copied)
}
