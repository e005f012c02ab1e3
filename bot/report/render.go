// Package report owns what imagebot writes on a merge request: the one bot
// comment (a table of the MR's builds with their current step, duration,
// artifacts with size, sha256 and link, a redacted log tail and a link to
// the full log), kept under the forge's size limit, and the commit status
// each build maps to. Delivery (create once, edit in place, throttled,
// retried from the outbox) is the bot's report job; this package renders.
package report

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner/redact"
)

// Marker starts every bot comment; it identifies the comment as imagebot's.
const Marker = "<!-- imagebot:report -->"

// File is one published artifact file.
type File struct {
	Name   string
	Size   int64
	SHA256 string
	URL    string
}

// Row is one image's latest build on the MR.
type Row struct {
	Image    string
	SHA      string
	Status   string // queued, running, succeeded, failed, cancelled, timed_out, interrupted
	Step     string
	Note     string // e.g. "interrupted, re-running"
	Error    string
	Started  time.Time
	Finished time.Time
	Files    []File
	LogTail  string
	LogURL   string
	BuildURL string
	// Details are what the finished build found in its image (nil while
	// it runs, or when nothing was learnt).
	Details *state.Details
}

// View is everything the comment shows.
type View struct {
	HeadSHA string
	Rows    []Row
	Notices []string // newest last
	Now     time.Time
	Secrets []string // values masked wherever they appear
}

var icons = map[string]string{
	"queued": "🕒", "running": "🔄", "succeeded": "✅", "failed": "❌",
	"cancelled": "⛔", "timed_out": "⏱️", "interrupted": "⚠️",
}

// Render writes the comment, at most max bytes: log tails are dropped first,
// then the package tables of the diffs (their summaries stay), then older
// notices, then the text is cut.
func Render(v View, max int) string {
	for _, opt := range []struct {
		tails, diffs bool
		notices      int
	}{{true, true, 5}, {false, true, 5}, {false, false, 5}, {false, false, 1}, {false, false, 0}} {
		s := render(v, opt.tails, opt.diffs, opt.notices)
		if len(s) <= max {
			return s
		}
	}
	s := render(v, false, false, 0)
	const cut = "\n\n… (cut to fit the forge's comment size limit)"
	if max <= len(cut) {
		return truncUTF8(s, max)
	}
	return truncUTF8(s, max-len(cut)) + cut
}

func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func render(v View, tails, diffs bool, notices int) string {
	var b strings.Builder
	b.WriteString(Marker + "\n### imagebot builds")
	if v.HeadSHA != "" {
		fmt.Fprintf(&b, " · head `%s`", forge.ShortSHA(v.HeadSHA))
	}
	b.WriteString("\n\n")
	if n := len(v.Notices); n > 0 && notices > 0 {
		from := n - notices
		if from < 0 {
			from = 0
		}
		for _, msg := range v.Notices[from:] {
			b.WriteString("> " + strings.ReplaceAll(msg, "\n", "\n> ") + "\n\n")
		}
	}
	if len(v.Rows) > 0 {
		b.WriteString("| image | status | step | duration | artifacts | contents |\n|---|---|---|---|---|---|\n")
		for _, r := range v.Rows {
			fmt.Fprintf(&b, "| **%s** %s | %s %s | %s | %s | %s | %s |\n", text(r.Image), code(forge.ShortSHA(r.SHA)), icons[r.Status], statusText(r),
				cell(r.Step), duration(r, v.Now), artifacts(r), summaryCell(r.Details))
		}
	}
	for _, r := range v.Rows {
		if r.Error != "" && (r.Status == "failed" || r.Status == "timed_out" || r.Status == "interrupted") {
			fmt.Fprintf(&b, "\n**%s** %s: %s", text(r.Image), strings.ReplaceAll(r.Status, "_", " "), text(oneLine(r.Error)))
			fmt.Fprintf(&b, " — fix and push, or comment `/retry`.\n")
		}
	}
	for _, r := range v.Rows {
		detailsBlock(&b, r, diffs)
	}
	for _, r := range v.Rows {
		if r.LogURL != "" || (tails && r.LogTail != "") {
			fmt.Fprintf(&b, "\n<details><summary>%s log", text(r.Image))
			if r.LogURL != "" {
				fmt.Fprintf(&b, " · [full log](%s)", r.LogURL)
			}
			b.WriteString("</summary>\n\n")
			if tails && r.LogTail != "" {
				b.WriteString("```\n" + strings.ReplaceAll(r.LogTail, "```", "ˋˋˋ") + "\n```\n")
			}
			b.WriteString("</details>\n")
		}
	}
	return redact.New(v.Secrets...).String(b.String())
}

func statusText(r Row) string {
	s := strings.ReplaceAll(r.Status, "_", " ")
	if r.Note != "" {
		s += " (" + text(oneLine(r.Note)) + ")"
	}
	if r.BuildURL != "" {
		s = "[" + s + "](" + r.BuildURL + ")"
	}
	return s
}

func duration(r Row, now time.Time) string {
	if r.Started.IsZero() {
		return ""
	}
	end := r.Finished
	if end.IsZero() {
		end = now
	}
	d := end.Sub(r.Started).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String()
}

func artifacts(r Row) string {
	var parts []string
	for _, f := range r.Files {
		parts = append(parts, fmt.Sprintf("[%s](%s) %s %s", text(f.Name), linkURL(f.URL), size(f.Size), code("sha256:"+f.SHA256)))
	}
	return strings.Join(parts, "<br>")
}

func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func cell(s string) string { return text(oneLine(s)) }

// linkURL keeps a link target one token: the addresses are the store's and
// the bot's own, but a space or parenthesis would still end the link.
func linkURL(u string) string {
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E", "|", "%7C", "\n", "").Replace(u)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if len(s) > 300 {
		s = truncUTF8(s, 300) + "…"
	}
	return s
}

// CommitState maps a build status to the commit status forges show.
func CommitState(status string) forge.State {
	switch status {
	case "queued":
		return forge.StatePending
	case "running":
		return forge.StateRunning
	case "succeeded":
		return forge.StateSuccess
	default:
		return forge.StateFailure
	}
}

// StatusContext is the commit status name of an image.
func StatusContext(image string) string { return "imagebot/" + image }

// StatusDescription is the short text beside a commit status.
func StatusDescription(r Row) string {
	d := strings.ReplaceAll(r.Status, "_", " ")
	if r.Step != "" && r.Status == "running" {
		d += ": " + oneLine(r.Step)
	}
	if r.Note != "" {
		d += " (" + oneLine(r.Note) + ")"
	}
	return truncUTF8(d, 139)
}
