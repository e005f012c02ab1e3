package catalog

import (
	"fmt"
	"sort"
	"strings"

	"github.com/imagebot/imagebot/runner/markdown"
)

// Severity says whether a Diagnostic stops a build.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Diagnostic is one problem found in the images repository, located in a
// repository-relative file. Line and Column are 1-based; 0 means unknown
// (a missing file has no line).
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Image    string   `json:"image,omitempty"` // the image the problem belongs to, "" for the repository
}

// String renders "file:line:col: severity: message", leaving out unknown parts.
func (d Diagnostic) String() string {
	loc := d.File
	if loc == "" {
		loc = "."
	}
	if d.Line > 0 {
		loc += fmt.Sprintf(":%d", d.Line)
		if d.Column > 0 {
			loc += fmt.Sprintf(":%d", d.Column)
		}
	}
	return fmt.Sprintf("%s: %s: %s", loc, d.Severity, d.Message)
}

// Diagnostics is a list of problems.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool { return ds.Errors() > 0 }

// Errors counts the error diagnostics.
func (ds Diagnostics) Errors() int {
	n := 0
	for _, d := range ds {
		if d.Severity == SeverityError {
			n++
		}
	}
	return n
}

// Warnings counts the warning diagnostics.
func (ds Diagnostics) Warnings() int { return len(ds) - ds.Errors() }

// ForImage returns the diagnostics of one image (and none of the repository's own).
func (ds Diagnostics) ForImage(name string) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Image == name {
			out = append(out, d)
		}
	}
	return out
}

// Sort orders diagnostics by file, line, column, then message.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Message < b.Message
	})
}

// Error makes Diagnostics usable as an error: one line per diagnostic.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Err returns the diagnostics as an error when at least one is an error, else nil.
func (ds Diagnostics) Err() error {
	if !ds.HasErrors() {
		return nil
	}
	return ds
}

func errorAt(image string, p Pos, format string, args ...any) Diagnostic {
	return Diagnostic{File: p.File, Line: p.Line, Column: p.Column, Severity: SeverityError, Message: fmt.Sprintf(format, args...), Image: image}
}

func warningAt(image string, p Pos, format string, args ...any) Diagnostic {
	d := errorAt(image, p, format, args...)
	d.Severity = SeverityWarning
	return d
}

// Markdown renders the diagnostics as a fenced code block for a comment:
// messages quote file names, keys and values from the merge request, so
// the fence is longer than any backtick run in them (markdown.CodeBlock)
// and nothing they hold can close it.
func (ds Diagnostics) Markdown() string { return markdown.CodeBlock(ds.Error()) }
