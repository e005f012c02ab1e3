// Package command owns the merge-request command language: it finds the
// /build, /cancel, /retry, /ok-to-build and /help lines in a comment, parses
// them into values, and words the usage and "did you mean" replies. It knows
// nothing of forges, images on disk or who may run what.
package command

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Kind names a command.
type Kind string

const (
	Build     Kind = "build"
	Cancel    Kind = "cancel"
	Retry     Kind = "retry"
	OkToBuild Kind = "ok-to-build"
	Help      Kind = "help"
)

// kinds in the order the help text lists them.
var kinds = []Kind{Build, Cancel, Retry, OkToBuild, Help}

// Command is one parsed command line.
type Command struct {
	Kind Kind
	// Images named on /build or /cancel, in the order given, without
	// duplicates. Empty means "every image the MR changes" for /build and
	// "every build of this MR" for /cancel.
	Images []string
	Force  bool   // /build --force: build even if an identical artifact exists
	Only   string // /build --only <packer-source>: restrict the build to one source
	Line   int    // 1-based line of the comment the command was on
}

// String renders the command in its canonical form; Parse of that text gives
// the command back.
func (c Command) String() string {
	parts := []string{"/" + string(c.Kind)}
	parts = append(parts, c.Images...)
	if c.Force {
		parts = append(parts, "--force")
	}
	if c.Only != "" {
		parts = append(parts, "--only", c.Only)
	}
	return strings.Join(parts, " ")
}

// SyntaxError is a malformed command line. Its Usage is the usage text of
// the command, ready to be quoted back to the person who wrote it.
type SyntaxError struct {
	Line   int    // 1-based line in the comment
	Input  string // the line as written, trimmed
	Kind   Kind
	Reason string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d: %q: %s", e.Line, e.Input, e.Reason)
}

// Usage is the usage text of the command the line tried to be.
func (e *SyntaxError) Usage() string { return Usage(e.Kind) }

// Reply words the error for a merge-request comment: what was wrong and how
// the command is written.
// Input and Reason (which quotes the input) are untrusted: each goes out as
// a CodeSpan, so a comment cannot put mentions, links or images into it.
func (e *SyntaxError) Reply() string {
	return fmt.Sprintf("I could not read %s: %s\n\nUsage:\n```\n%s\n```", CodeSpan(e.Input), CodeSpan(e.Reason), e.Usage())
}

var usages = map[Kind]string{
	Build: "/build <image> [<image> ...] [--force] [--only <packer-source>]\n" +
		"/build            (no name: every image this merge request changes)",
	Cancel:    "/cancel [<image> ...]   (no name: every build of this merge request)",
	Retry:     "/retry            (the failed builds of this merge request, at its current head)",
	OkToBuild: "/ok-to-build      (a trusted member lets a fork's or an outsider's merge request build)",
	Help:      "/help",
}

// Usage returns the usage text of one command, or of all commands for "".
func Usage(k Kind) string {
	if u, ok := usages[k]; ok {
		return u
	}
	lines := make([]string, 0, len(kinds))
	for _, k := range kinds {
		lines = append(lines, usages[k])
	}
	return strings.Join(lines, "\n")
}

// HelpText is the reply to /help, in Markdown.
func HelpText() string {
	return "imagebot commands, one per line of a comment:\n```\n" + Usage("") + "\n```\n" +
		"`--force` builds even when an artifact of the same inputs exists; " +
		"`--only <packer-source>` builds one source of the template."
}

// Parse finds the commands in a comment body. It returns every well-formed
// command and, when some command lines are malformed, an error joining one
// *SyntaxError per bad line (use errors.As, or SyntaxErrors, to get them).
// Lines in fenced or indented code blocks, quoted lines, and text inside
// HTML comments or collapsed <details> blocks are not commands.
func Parse(body string) ([]Command, error) {
	var cmds []Command
	var errs []error
	fence := ""
	var hide hider
	for i, raw := range strings.Split(body, "\n") {
		line := strings.TrimRight(raw, " \t\r")
		if fence == "" {
			line = hide.visible(line) // HTML comments, collapsed <details>
		}
		if fence != "" {
			if closesFence(line, fence) {
				fence = ""
			}
			continue
		}
		if f := opensFence(line); f != "" {
			fence = f
			continue
		}
		if indentedCode(line) {
			continue
		}
		text := strings.TrimLeft(line, " ")
		if !strings.HasPrefix(text, "/") {
			continue // prose, quotes ("> /build") and everything else
		}
		fields := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		if len(fields) == 0 {
			continue
		}
		kind, ok := lookup(fields[0])
		if !ok {
			continue // "/builds", "/lgtm": not ours
		}
		cmd, err := parseArgs(kind, fields[1:])
		if err != nil {
			errs = append(errs, &SyntaxError{Line: i + 1, Input: text, Kind: kind, Reason: err.Error()})
			continue
		}
		cmd.Line = i + 1
		cmds = append(cmds, cmd)
	}
	return cmds, errors.Join(errs...)
}

// SyntaxErrors unpacks the error Parse returned.
func SyntaxErrors(err error) []*SyntaxError {
	if err == nil {
		return nil
	}
	var out []*SyntaxError
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			out = append(out, SyntaxErrors(e)...)
		}
		return out
	}
	var se *SyntaxError
	if errors.As(err, &se) {
		out = append(out, se)
	}
	return out
}

func lookup(word string) (Kind, bool) {
	for _, k := range kinds {
		if word == "/"+string(k) {
			return k, true
		}
	}
	return "", false
}

func parseArgs(kind Kind, args []string) (Command, error) {
	cmd := Command{Kind: kind}
	switch kind {
	case Retry, OkToBuild, Help:
		if len(args) > 0 {
			return cmd, fmt.Errorf("/%s takes no arguments, got %q", kind, strings.Join(args, " "))
		}
		return cmd, nil
	}
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case kind == Build && a == "--force":
			cmd.Force = true
		case kind == Build && (a == "--only" || strings.HasPrefix(a, "--only=")):
			val, hasEq := strings.CutPrefix(a, "--only=")
			if !hasEq {
				if i+1 >= len(args) {
					return cmd, errors.New("--only needs a packer source name")
				}
				i++
				val = args[i]
			}
			if cmd.Only != "" {
				return cmd, errors.New("--only given twice")
			}
			if err := checkName(val, "packer source"); err != nil {
				return cmd, err
			}
			cmd.Only = val
		case strings.HasPrefix(a, "-"):
			return cmd, fmt.Errorf("unknown option %q for /%s", a, kind)
		default:
			if err := checkName(a, "image name"); err != nil {
				return cmd, err
			}
			if !seen[a] {
				seen[a] = true
				cmd.Images = append(cmd.Images, a)
			}
		}
	}
	return cmd, nil
}

// checkName admits what an image directory or a Packer source name can be:
// letters, digits, '.', '_' and '-', not starting with '-' or '.'.
func checkName(s, what string) error {
	if s == "" {
		return fmt.Errorf("empty %s", what)
	}
	if len(s) > 100 {
		return fmt.Errorf("%s %.20q... is too long", what, s)
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '_' || (i > 0 && (r == '-' || r == '.'))
		if !ok {
			return fmt.Errorf("%q is not a valid %s (letters, digits, '.', '_', '-')", s, what)
		}
	}
	return nil
}

// opensFence returns the fence marker ("```", "~~~~", ...) if the line opens
// a fenced code block, else "".
func opensFence(line string) string {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return ""
	}
	for _, c := range []byte{'`', '~'} {
		n := 0
		for n < len(t) && t[n] == c {
			n++
		}
		if n >= 3 {
			return t[:n]
		}
	}
	return ""
}

func closesFence(line, fence string) bool {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 || !strings.HasPrefix(t, fence) {
		return false
	}
	return strings.Trim(t, fence[:1]) == ""
}

// indentedCode reports a Markdown indented code line (four spaces or a tab).
func indentedCode(line string) bool {
	return strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "    ")
}
