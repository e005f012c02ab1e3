// Package markdown owns quoting untrusted text (a comment's line, a
// template's diagnostics) into the Markdown of the bot's comments so that
// it stays literal: inside a code span or a fenced code block whose fence
// is longer than any backtick run of the text, so the text cannot close it
// and add mentions, links or images of its own.
package markdown

import "strings"

// maxSpan bounds what a code span quotes, in bytes.
const maxSpan = 200

// CodeSpan quotes s as one inline code span: control characters and line
// breaks become spaces (a span is one line), s is cut to 200 bytes, and the
// fence is one backtick longer than its longest backtick run.
func CodeSpan(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxSpan {
		cut := maxSpan
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	longest := LongestRun(s, '`')
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || longest > 0 {
		s = " " + s + " "
	}
	return fence + s + fence
}

// CodeBlock quotes s as a fenced code block (ending in a newline): the
// fence is at least three backticks and longer than any backtick run in s,
// so no line of s can close it (CommonMark: a closing fence is at least as
// long as the opening one). Control characters other than tab and line
// feed become spaces; CR LF and lone CR become line feeds.
func CodeBlock(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f:
			return ' '
		}
		return r
	}, s)
	fence := strings.Repeat("`", max(3, LongestRun(s, '`')+1))
	return fence + "\n" + strings.TrimSuffix(s, "\n") + "\n" + fence + "\n"
}

// LongestRun is the length of the longest run of c in s.
func LongestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}
