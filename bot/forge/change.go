package forge

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Change is a file change the bot proposes as a merge request (a cascade
// or scheduled-refresh bump of env.yaml versions).
type Change struct {
	Branch  string // source branch, e.g. "imagebot/cascade/base9-1.3.0"
	Target  string // "" means the repository's default branch
	Title   string
	Body    string // the merge request's description (Markdown)
	Message string // the commit message; "" means Title
	Files   []File // whole new contents of existing files
}

// File is one file of a Change.
type File struct {
	Path    string // repository-relative, e.g. "images/app/env.yaml"
	Content string
}

// branchRE is a conservative git branch name: no spaces, "..", "~^:?*[\\".
var branchRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$`)

// Check reports what makes the change unusable, before any call is made.
func (c Change) Check() error {
	var errs []error
	if !branchRE.MatchString(c.Branch) || strings.Contains(c.Branch, "..") || strings.HasSuffix(c.Branch, ".lock") ||
		strings.HasSuffix(c.Branch, "/") || strings.Contains(c.Branch, "//") {
		errs = append(errs, fmt.Errorf("change branch %q is not a usable branch name", c.Branch))
	}
	if c.Target != "" && c.Target == c.Branch {
		errs = append(errs, fmt.Errorf("change branch %q is its own target", c.Branch))
	}
	if strings.TrimSpace(c.Title) == "" {
		errs = append(errs, errors.New("change has no title"))
	}
	if len(c.Files) == 0 {
		errs = append(errs, errors.New("change has no files"))
	}
	seen := map[string]bool{}
	for _, f := range c.Files {
		switch {
		case f.Path == "" || path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || strings.HasPrefix(f.Path, "../"):
			errs = append(errs, fmt.Errorf("change file %q is not a clean repository-relative path", f.Path))
		case seen[f.Path]:
			errs = append(errs, fmt.Errorf("change file %q is given twice", f.Path))
		}
		seen[f.Path] = true
	}
	return errors.Join(errs...)
}

// CommitMessage is Message, or Title when there is none.
func (c Change) CommitMessage() string {
	if c.Message != "" {
		return c.Message
	}
	return c.Title
}
