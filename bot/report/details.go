package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner/imagediff"
)

// summaryCell is the table's "contents" cell: package diff summary, checks.
func summaryCell(d *state.Details) string {
	if d == nil {
		return ""
	}
	var parts []string
	switch {
	case d.Diff != nil:
		parts = append(parts, d.Diff.Summary()) // counts only: nothing of the image
	case d.Packages > 0:
		parts = append(parts, fmt.Sprintf("first build: %d packages", d.Packages))
	}
	if s := d.ChecksSummary(); s != "" {
		parts = append(parts, s)
	}
	if n := len(d.Hygiene); n > 0 {
		parts = append(parts, fmt.Sprintf("hygiene: %d %s", n, plural(n, "finding", "findings")))
	}
	return strings.Join(parts, "<br>")
}

// detailsBlock writes an image's section under the table; withDiff false
// leaves the package tables out (the comment is too long for them).
func detailsBlock(b *strings.Builder, r Row, withDiff bool) {
	d := r.Details
	if d.Empty() {
		return
	}
	fmt.Fprintf(b, "\n**%s**", text(r.Image))
	if s := summaryCell(d); s != "" {
		b.WriteString(" · " + strings.ReplaceAll(s, "<br>", " · "))
	}
	b.WriteString("\n")
	for _, c := range d.Checks {
		if c.Passed {
			continue
		}
		fmt.Fprintf(b, "- ❌ check failed: %s (%s)", code(c.Check), code(fmt.Sprintf("%s.yaml:%d", c.File, c.Line)))
		if c.Detail != "" {
			b.WriteString(": " + text(c.Detail))
		}
		b.WriteString("\n")
	}
	for _, f := range d.Hygiene {
		level := "warning"
		if f.Error {
			level = "error"
		}
		fmt.Fprintf(b, "- ⚠️ hygiene %s: %s: %s\n", level, code(f.Check), text(f.Detail))
	}
	for _, c := range d.Cloud {
		regions := make([]string, 0, len(c.IDs))
		for region := range c.IDs {
			regions = append(regions, region)
		}
		sort.Strings(regions)
		var ids []string
		for _, region := range regions {
			ids = append(ids, text(region)+" "+code(c.IDs[region]))
		}
		fmt.Fprintf(b, "- ☁️ %s: %s\n", code(c.Source), strings.Join(ids, ", "))
	}
	for _, s := range d.Skipped {
		fmt.Fprintf(b, "- ⏭️ not built: %s\n", text(s))
	}
	if d.DiffNote != "" {
		fmt.Fprintf(b, "- %s\n", text(d.DiffNote))
	}
	if d.Diff != nil && withDiff {
		var md strings.Builder
		if err := imagediff.Markdown(&md, defused(*d.Diff)); err == nil {
			b.WriteString("\n" + md.String())
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// defused is d with the texts imagediff.Markdown writes outside code spans
// (image, version, OS names: the OS name is the image's os-release) unable
// to mention anyone or link anywhere.
func defused(d imagediff.Diff) imagediff.Diff {
	d.Image, d.OldVersion, d.NewVersion = defuse(d.Image), defuse(d.OldVersion), defuse(d.NewVersion)
	if d.OS != nil {
		d.OS = &imagediff.OSDelta{Old: defuse(d.OS.Old), New: defuse(d.OS.New)}
	}
	if d.Kernel != nil {
		d.Kernel = &imagediff.KernelDelta{Old: defuse(d.Kernel.Old), New: defuse(d.Kernel.New)}
	}
	// Names and versions go in code spans, where forges find no mentions;
	// defused all the same, should a forge render a span in a summary.
	d.Added = defusePackages(d.Added)
	d.Removed = defusePackages(d.Removed)
	changed := make([]imagediff.Change, len(d.Changed))
	for i, c := range d.Changed {
		c.Name, c.OldVersion, c.NewVersion = defuse(c.Name), defuse(c.OldVersion), defuse(c.NewVersion)
		changed[i] = c
	}
	d.Changed = changed
	return d
}

func defusePackages(ps []imagediff.Package) []imagediff.Package {
	out := make([]imagediff.Package, len(ps))
	for i, p := range ps {
		p.Name, p.Version = defuse(p.Name), defuse(p.Version)
		out[i] = p
	}
	return out
}
