package report

import "strings"

// Package names, versions, check details, hygiene findings, Packer step
// lines and error texts come from the image or the template under review:
// an attacker's MR. Everything of theirs goes through text or code, so it
// cannot close a <details> block, add HTML, links, images, headings, table
// cells or @mentions to the comment.

const maxField = 300 // bytes of one field shown

// textEscaper escapes Markdown punctuation with backslashes and HTML with
// entities, and folds lines.
var textEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "|", `\|`, "~", `\~`,
	// A zero-width space keeps @user, @all and bare URLs inert: forges
	// find mentions and autolinks in the rendered text, after escapes.
	"@", "@\u200b", "//", "/\u200b/",
	"\r\n", " ", "\n", " ", "\r", " ", "\t", " ",
)

// text escapes s for a line of Markdown: one line, at most maxField bytes.
func text(s string) string {
	return textEscaper.Replace(clip(strings.TrimSpace(s)))
}

// codeEscaper keeps a code span one span on one line: no backtick ends it,
// no pipe splits a table cell.
// Angle brackets are replaced too: inside an HTML block (a <details>
// summary) a forge may not parse the span as code.
var codeEscaper = strings.NewReplacer("`", "'", "|", "¦", "<", "‹", ">", "›", "@", "@\u200b", "\r\n", " ", "\n", " ", "\r", " ")

// code puts s in a code span (forges render nothing inside one).
func code(s string) string {
	s = codeEscaper.Replace(clip(strings.TrimSpace(s)))
	if s == "" {
		return "—"
	}
	return "`" + s + "`"
}

func clip(s string) string {
	if len(s) > maxField {
		return truncUTF8(s, maxField) + "…"
	}
	return s
}

// defuse breaks mentions and autolinks in text another escaper (runner/
// imagediff's) escapes for Markdown but not for them.
var defuser = strings.NewReplacer("@", "@\u200b", "//", "/\u200b/")

func defuse(s string) string { return defuser.Replace(s) }
