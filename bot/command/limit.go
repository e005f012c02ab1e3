package command

import (
	"fmt"

	"github.com/imagebot/imagebot/runner/markdown"
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
// span that the text cannot close (runner/markdown, the one helper the
// bot's replies and the catalog's diagnostics share): inside it forges
// render no mention, link, image or HTML.
func CodeSpan(s string) string { return markdown.CodeSpan(s) }

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
