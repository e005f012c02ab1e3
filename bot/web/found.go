package web

import "fmt"

// Found is what a finished build found in its image, for its build page:
// the checks run in the booted artifact, hygiene findings and its packages
// against the release it was compared with. The bot fills it from the
// build's recorded details (already redacted); the template escapes it.
type Found struct {
	Checks   []FoundCheck
	Hygiene  []string // "check: detail"
	Packages int      // 0: the disk was not read offline
	Diff     string   // e.g. "+1 package against debian12-app 1.2.0"
	DiffNote string   // why there is no diff when one was expected
}

// FoundCheck is one check's result.
type FoundCheck struct {
	Name   string // "service ssh"
	Where  string // "debian12-app.yaml:7"
	Passed bool
	Detail string
}

// ChecksSummary is "9 passed" or "8 passed, 1 failed", as in the MR comment.
func (f *Found) ChecksSummary() string {
	failed := 0
	for _, c := range f.Checks {
		if !c.Passed {
			failed++
		}
	}
	if failed == 0 {
		return fmt.Sprintf("%d passed", len(f.Checks))
	}
	return fmt.Sprintf("%d passed, %d failed", len(f.Checks)-failed, failed)
}
