package imagediff

import (
	"fmt"
	"io"
	"strings"
)

// Markdown writes the collapsed MR-comment section "changes against
// <image> <version>": a <details> block with the summary in its title and
// tables of added, removed and changed packages, the kernel and the sizes.
// Package names and versions come from the image: they are escaped for
// Markdown and HTML so a hostile package name cannot change the comment.
func Markdown(w io.Writer, d Diff) error {
	var b strings.Builder
	fmt.Fprintf(&b, "<details><summary>changes against %s %s: %s</summary>\n\n",
		esc(d.Image), esc(d.OldVersion), esc(d.Summary()))
	if d.OS != nil {
		fmt.Fprintf(&b, "**OS:** %s → %s\n\n", esc(d.OS.Old), esc(d.OS.New))
	}
	if d.Kernel != nil {
		fmt.Fprintf(&b, "**kernel:** %s → %s\n\n", code(d.Kernel.Old), code(d.Kernel.New))
	}
	if len(d.Added)+len(d.Removed)+len(d.Changed) > 0 {
		b.WriteString("| | package | version |\n|---|---|---|\n")
		for _, p := range d.Added {
			fmt.Fprintf(&b, "| + | %s | %s |\n", code(p.Name), code(p.Version))
		}
		for _, p := range d.Removed {
			fmt.Fprintf(&b, "| − | %s | %s |\n", code(p.Name), code(p.Version))
		}
		for _, c := range d.Changed {
			arrow := "→"
			if c.Downgrade {
				arrow = "→ (downgrade)"
			}
			fmt.Fprintf(&b, "| ~ | %s | %s %s %s |\n", code(c.Name), code(c.OldVersion), arrow, code(c.NewVersion))
		}
		b.WriteString("\n")
	}
	if len(d.Sizes) > 0 {
		b.WriteString("| artifact | before | after | change |\n|---|---|---|---|\n")
		for _, s := range d.Sizes {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", esc(s.Format), Bytes(s.Old), Bytes(s.New), signedBytes(s.Delta()))
		}
		b.WriteString("\n")
	}
	b.WriteString("</details>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Text writes the diff for a terminal.
func Text(w io.Writer, d Diff) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s -> %s: %s\n", d.Image, d.OldVersion, d.NewVersion, d.Summary())
	if d.OS != nil {
		fmt.Fprintf(&b, "os      %s -> %s\n", d.OS.Old, d.OS.New)
	}
	if d.Kernel != nil {
		fmt.Fprintf(&b, "kernel  %s -> %s\n", d.Kernel.Old, d.Kernel.New)
	}
	for _, p := range d.Added {
		fmt.Fprintf(&b, "+ %s %s\n", p.Name, p.Version)
	}
	for _, p := range d.Removed {
		fmt.Fprintf(&b, "- %s %s\n", p.Name, p.Version)
	}
	for _, c := range d.Changed {
		fmt.Fprintf(&b, "~ %s %s -> %s\n", c.Name, c.OldVersion, c.NewVersion)
	}
	for _, s := range d.Sizes {
		fmt.Fprintf(&b, "size %-6s %s -> %s (%s)\n", s.Format, Bytes(s.Old), Bytes(s.New), signedBytes(s.Delta()))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Bytes formats a size in binary units (MiB with one decimal above 1 MiB).
func Bytes(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	var s string
	switch {
	case n >= 1<<30:
		s = fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		s = fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		s = fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		s = fmt.Sprintf("%d B", n)
	}
	if neg {
		return "-" + s
	}
	return s
}

func signedBytes(n int64) string {
	if n > 0 {
		return "+" + Bytes(n)
	}
	return Bytes(n)
}

var mdEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "\\|", "*", "\\*", "_", "\\_",
	"[", "\\[", "]", "\\]", "`", "\\`", "\n", " ", "\r", " ",
)

func esc(s string) string { return mdEscaper.Replace(s) }

// code puts s in a code span; backticks, pipes and newlines are replaced so
// it stays one span in one table cell.
func code(s string) string {
	if s == "" {
		return "—"
	}
	s = strings.NewReplacer("`", "'", "|", "¦", "\n", " ", "\r", " ", "<", "‹", ">", "›").Replace(s)
	return "`" + s + "`"
}
