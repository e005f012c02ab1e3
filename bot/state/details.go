package state

import (
	"fmt"

	"github.com/imagebot/imagebot/runner/imagediff"
)

// Details is what a finished build found out about its image, shown under
// the table: the package diff against the image's latest release, the
// checks run in the booted artifact, hygiene findings, cloud artifact ids
// and the sources the runner passed over. Every string in it may come from
// the image or the template (hostile): the renderer escapes all of it.
type Details struct {
	// Packages is the number of packages in the build's inventory (0: the
	// disk was not read offline).
	Packages int `json:"packages,omitempty"`
	// Diff compares the build with Against; nil on a first build.
	Diff *imagediff.Diff `json:"diff,omitempty"`
	// DiffNote says why there is no diff when one was expected.
	DiffNote string          `json:"diff_note,omitempty"`
	Checks   []Check         `json:"checks,omitempty"`
	Hygiene  []Finding       `json:"hygiene,omitempty"`
	Cloud    []CloudArtifact `json:"cloud,omitempty"`
	Skipped  []string        `json:"skipped,omitempty"`
}

// Check is one env.yaml check's result.
type Check struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Check  string `json:"check"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail,omitempty"`
}

// Finding is one hygiene finding; Error under `hygiene: strict`.
type Finding struct {
	Check  string `json:"check"`
	Detail string `json:"detail"`
	Error  bool   `json:"error,omitempty"`
}

// CloudArtifact is one source's cloud image ids by region (AMI ids).
type CloudArtifact struct {
	Source string            `json:"source"`
	IDs    map[string]string `json:"ids"`
}

// Empty reports whether there is nothing to show.
func (d *Details) Empty() bool {
	return d == nil || (d.Packages == 0 && d.Diff == nil && d.DiffNote == "" && len(d.Checks) == 0 &&
		len(d.Hygiene) == 0 && len(d.Cloud) == 0 && len(d.Skipped) == 0)
}

// ChecksSummary is "checks: 14 passed, 1 failed" ("" when none ran).
func (d *Details) ChecksSummary() string {
	if d == nil || len(d.Checks) == 0 {
		return ""
	}
	failed := 0
	for _, c := range d.Checks {
		if !c.Passed {
			failed++
		}
	}
	s := fmt.Sprintf("checks: %d passed", len(d.Checks)-failed)
	if failed > 0 {
		s += fmt.Sprintf(", %d failed", failed)
	}
	return s
}
