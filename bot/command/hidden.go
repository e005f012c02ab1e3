package command

import "strings"

// hider tracks Markdown that readers don't see: HTML comments and collapsed
// <details> blocks (without "open"). Commands there are ignored: a command
// runs only when the people reading the merge request can see it.
type hider struct {
	comment bool // inside <!-- ... -->
	details int  // depth of collapsed <details>
}

// visible consumes one line and returns the part of it a reader sees, or
// "" when all of it is hidden.
func (h *hider) visible(line string) string {
	var out strings.Builder
	rest := line
	for rest != "" {
		if h.comment {
			i := strings.Index(rest, "-->")
			if i < 0 {
				return out.String()
			}
			h.comment, rest = false, rest[i+3:]
			continue
		}
		lower := strings.ToLower(rest)
		ci := strings.Index(lower, "<!--")
		di := strings.Index(lower, "<details")
		ei := strings.Index(lower, "</details")
		next := firstOf(ci, di, ei)
		if next < 0 {
			if h.details == 0 {
				out.WriteString(rest)
			}
			return out.String()
		}
		if h.details == 0 {
			out.WriteString(rest[:next])
		}
		switch next {
		case ci:
			h.comment, rest = true, rest[ci+4:]
		case di:
			end := strings.IndexByte(lower[di:], '>')
			tag := lower[di:]
			if end >= 0 {
				tag = lower[di : di+end]
			}
			if h.details > 0 || !strings.Contains(tag, " open") {
				h.details++
			}
			rest = skipTag(rest, di, end)
		case ei:
			if h.details > 0 {
				h.details--
			}
			rest = skipTag(rest, ei, strings.IndexByte(lower[ei:], '>'))
		}
	}
	return out.String()
}

func skipTag(s string, at, end int) string {
	if end < 0 {
		return ""
	}
	return s[at+end+1:]
}

// firstOf returns the smallest non-negative index, or -1.
func firstOf(is ...int) int {
	best := -1
	for _, i := range is {
		if i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}
