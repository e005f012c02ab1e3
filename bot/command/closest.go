package command

import (
	"fmt"
	"sort"
	"strings"
)

// Closest returns the known name nearest to name by edit distance (case
// folded), or "" when none is near enough to be a plausible typo: the
// distance must be at most a third of the longer name, and at least 1 is
// always allowed. Ties go to the name that sorts first.
func Closest(name string, known []string) string {
	best, bestDist := "", -1
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	for _, k := range sorted {
		d := distance(strings.ToLower(name), strings.ToLower(k))
		limit := max(len(name), len(k)) / 3
		if limit < 1 {
			limit = 1
		}
		if d > limit {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// UnknownImageError says a command named an image the catalog does not have.
type UnknownImageError struct {
	Name    string
	Closest string   // "" when nothing is close
	Known   []string // sorted
}

// UnknownImage builds the error for an image name not in known.
func UnknownImage(name string, known []string) *UnknownImageError {
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	return &UnknownImageError{Name: name, Closest: Closest(name, sorted), Known: sorted}
}

func (e *UnknownImageError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "unknown image %s", e.Name)
	if e.Closest != "" {
		fmt.Fprintf(&b, "; did you mean %s?", e.Closest)
	} else {
		b.WriteString(";")
	}
	if len(e.Known) == 0 {
		b.WriteString(" this repository has no images")
	} else {
		fmt.Fprintf(&b, " known images: %s", strings.Join(e.Known, ", "))
	}
	return b.String()
}

// distance is the Levenshtein edit distance of a and b, over bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
