package command

import (
	"fmt"
	"strings"
)

// DefaultMaxPerComment is how many commands one comment may carry when the
// configuration does not say.
const DefaultMaxPerComment = 10

// Limit merges duplicate commands (same canonical text; the first is kept)
// and keeps at most max of the rest (max <= 0 means DefaultMaxPerComment).
// dropped counts the commands beyond max: the bot refuses them with one line
// (see LimitNotice) instead of one reply, or one permission lookup, each.
func Limit(cmds []Command, max int) (kept []Command, dropped int) {
	if max <= 0 {
		max = DefaultMaxPerComment
	}
	seen := map[string]bool{}
	for _, c := range cmds {
		key := c.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		if len(kept) == max {
			dropped++
			continue
		}
		kept = append(kept, c)
	}
	return kept, dropped
}

// LimitNotice is the one line refusing the commands Limit dropped.
func LimitNotice(dropped, max int) string {
	if max <= 0 {
		max = DefaultMaxPerComment
	}
	return fmt.Sprintf("%d more command(s) in this comment were not run: at most %d per comment.", dropped, max)
}

// CodeSpan quotes untrusted text for a Markdown reply as one inline code
// span that the text cannot close: the fence is one backtick longer than
// the longest run inside, line breaks and control characters become spaces,
// and it is cut at 200 bytes. Inside a code span forges render no mention,
// link, image or HTML.
func CodeSpan(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		cut := 200
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || longest > 0 {
		s = " " + s + " "
	}
	return fence + s + fence
}

// maxErrorReplies bounds the syntax-error replies to one comment.
const maxErrorReplies = 3

// FirstErrors is SyntaxErrors cut to the first few: a comment of a thousand
// bad lines gets three explanations, not a thousand.
func FirstErrors(err error) []*SyntaxError {
	ses := SyntaxErrors(err)
	if len(ses) > maxErrorReplies {
		ses = ses[:maxErrorReplies]
	}
	return ses
}
