package report

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner/imagediff"
)

func TestRenderDetails(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)
	diff := &imagediff.Diff{Image: "debian12-app", OldVersion: "1.2.0", NewVersion: "mr7-4c8d2a6f",
		Added:   []imagediff.Package{{Name: "jq", Arch: "amd64", Version: "1.6-2.1+deb12u1"}},
		Changed: []imagediff.Change{{Name: "curl", Arch: "amd64", OldVersion: "7.88.1-10", NewVersion: "7.88.1-10+deb12u8"}},
		Sizes:   []imagediff.SizeDelta{{Format: "qcow2", Old: 300 << 20, New: 301 << 20}}}
	for _, tc := range []struct {
		name    string
		row     Row
		want    []string
		notWant []string
	}{
		{name: "diff against the latest release",
			row: Row{Image: "debian12-app", Status: "succeeded", Details: &state.Details{Packages: 166, Diff: diff,
				Checks: []state.Check{{File: "debian12-app", Check: "service ssh", Passed: true}, {File: "debian12-app", Check: "port tcp:22", Passed: true}}}},
			want: []string{"| +1 ~1 packages<br>checks: 2 passed |",
				"<details><summary>changes against debian12-app 1.2.0: +1 ~1 packages</summary>",
				"| + | `jq` | `1.6-2.1+deb12u1` |", "| ~ | `curl` | `7.88.1-10` → `7.88.1-10+deb12u8` |", "| qcow2 | 300.0 MiB | 301.0 MiB | +1.0 MiB |"},
			notWant: []string{"failed"}},
		{name: "first build",
			row:  Row{Image: "debian12-app", Status: "succeeded", Details: &state.Details{Packages: 165}},
			want: []string{"| first build: 165 packages |"}, notWant: []string{"<details><summary>changes"}},
		{name: "failed check fails the build and is named",
			row: Row{Image: "debian12-app", Status: "failed", Error: "checks: 14 passed, 1 failed: port tcp:8080",
				Details: &state.Details{Packages: 165, Checks: append(make14(), state.Check{File: "failing-example", Line: 3, Check: "port tcp:8080", Detail: "not listening"})}},
			want: []string{"| ❌ failed |", "checks: 14 passed, 1 failed |",
				"**debian12-app** failed: checks\\: 14 passed, 1 failed\\: port tcp\\:8080"[:0] + "**debian12-app** failed: checks: 14 passed, 1 failed: port tcp:8080 — fix and push",
				"- ❌ check failed: `port tcp:8080` (`failing-example.yaml:3`): not listening"}},
		{name: "hygiene warnings listed",
			row: Row{Image: "debian12-app", Status: "succeeded", Details: &state.Details{Packages: 165,
				Hygiene: []state.Finding{{Check: "ssh-host-keys", Detail: "/etc/ssh/ssh_host_ed25519_key is baked into the image"}, {Check: "password", Detail: "root opens with the template's SSH password"}}}},
			want: []string{"hygiene: 2 findings |", "- ⚠️ hygiene warning: `ssh-host-keys`: /etc/ssh/ssh\\_host\\_ed25519\\_key is baked into the image",
				"- ⚠️ hygiene warning: `password`: root opens with the template's SSH password"}},
		{name: "cloud ids and skipped sources",
			row: Row{Image: "web", Status: "succeeded", Details: &state.Details{
				Cloud:   []state.CloudArtifact{{Source: "amazon-ebs.web", IDs: map[string]string{"us-west-2": "ami-0b2", "eu-west-1": "ami-0a1"}}},
				Skipped: []string{"amazon-ebs.web: this runner has no amazon capability"}}},
			want: []string{"- ☁️ `amazon-ebs.web`: eu-west-1 `ami-0a1`, us-west-2 `ami-0b2`",
				"- ⏭️ not built: amazon-ebs.web: this runner has no amazon capability"}},
		{name: "release without inventory",
			row:  Row{Image: "rocky9", Status: "succeeded", Details: &state.Details{DiffNote: "no package list: the disk could not be read offline"}},
			want: []string{"- no package list: the disk could not be read offline"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.row.SHA, tc.row.Started, tc.row.Finished = "4c8d2a6f0b1e", t0, t0.Add(time.Minute)
			out := Render(View{Rows: []Row{tc.row}, Now: t0}, 1<<20)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("comment lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("comment has %q:\n%s", w, out)
				}
			}
		})
	}
}

func make14() []state.Check {
	var cs []state.Check
	for i := 0; i < 14; i++ {
		cs = append(cs, state.Check{File: "debian12-app", Check: "command c", Passed: true})
	}
	return cs
}

// Everything the image or template controls is hostile: package names,
// versions, check names and details, hygiene details, cloud ids, skipped
// reasons, errors and steps must not add HTML, links, images, mentions,
// table cells or close the collapsed sections.
func TestRenderEscapesHostileContent(t *testing.T) {
	evil := "x`|</details></summary><img src=x onerror=alert(1)><script>a</script>[c](https://evil.example) ![i](https://evil.example/p.png) @all **b** \n# heading\n| a | b |"
	diff := &imagediff.Diff{Image: "app", OldVersion: "1.0.0",
		Added:   []imagediff.Package{{Name: evil, Version: evil}},
		Removed: []imagediff.Package{{Name: evil, Version: "1"}},
		Changed: []imagediff.Change{{Name: evil, OldVersion: evil, NewVersion: evil}},
		Kernel:  &imagediff.KernelDelta{Old: evil, New: evil}, OS: &imagediff.OSDelta{Old: evil, New: evil}}
	row := Row{Image: "app", SHA: "4c8d2a6f", Status: "failed", Step: evil, Note: evil, Error: evil,
		Files: []File{{Name: evil, URL: "https://s3/x (y)", SHA256: evil}},
		Details: &state.Details{Packages: 3, Diff: diff,
			Checks:   []state.Check{{File: evil, Check: evil, Detail: evil}},
			Hygiene:  []state.Finding{{Check: evil, Detail: evil}},
			Cloud:    []state.CloudArtifact{{Source: evil, IDs: map[string]string{evil: evil}}},
			Skipped:  []string{evil},
			DiffNote: evil}}
	out := Render(View{Rows: []Row{row}, Now: time.Now()}, 1<<20)
	// Inside a code span Markdown and HTML are literal, but a span must
	// not hold the characters that end it or its cell.
	// (An escaped backtick starts no span.)
	spans := regexp.MustCompile("`[^`\n]*`")
	unescaped := strings.ReplaceAll(out, "\\`", "ESCAPED-BACKTICK")
	for _, s := range spans.FindAllString(unescaped, -1) {
		if strings.ContainsAny(s, "|<>") {
			t.Errorf("code span holds a pipe or angle bracket: %s", s)
		}
	}
	plain := spans.ReplaceAllString(unescaped, "CODE")
	for _, bad := range []string{"<img", "<script", "</summary><img", "](https://evil", "@all", "\n# heading", "\n| a | b |", "**b**"} {
		if strings.Contains(plain, bad) {
			t.Errorf("hostile text got through as %q:\n%s", bad, out)
		}
	}
	if o, c := strings.Count(out, "<details>"), strings.Count(out, "</details>"); o != c || o != 1 {
		t.Errorf("<details> %d, </details> %d (want 1 each: the diff section):\n%s", o, c, out)
	}
	if o, c := strings.Count(out, "<summary>"), strings.Count(out, "</summary>"); o != c {
		t.Errorf("<summary> %d, </summary> %d:\n%s", o, c, out)
	}
	// Every table line of the comment has exactly its columns: no hostile
	// pipe splits a cell.
	unescapedPipe := regexp.MustCompile(`(^|[^\\])\|`)
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		n := len(unescapedPipe.FindAllString(line, -1))
		if strings.HasPrefix(line, "| image |") || strings.HasPrefix(line, "|---|---|---|---|---|---|") || strings.HasPrefix(line, "| **app**") {
			if n != 7 {
				t.Errorf("main table line has %d cell separators, want 7: %s", n, line)
			}
		}
	}
	// One line per item: a hostile newline starts no block of its own.
	for _, line := range strings.Split(out, "\n") {
		if (strings.HasPrefix(line, "#") && line != "### imagebot builds") || strings.HasPrefix(line, "<img") {
			t.Errorf("hostile line start: %q", line)
		}
	}
}

// A long diff gives way before the table and its summary: the package
// tables go first, the "+N packages" summary stays.
func TestRenderDropsDiffTablesToFit(t *testing.T) {
	d := &imagediff.Diff{Image: "app", OldVersion: "1.0.0"}
	for i := 0; i < 2000; i++ {
		d.Added = append(d.Added, imagediff.Package{Name: "pkg" + strings.Repeat("x", 20), Version: "1.0"})
	}
	v := View{Now: time.Now(), Rows: []Row{{Image: "app", SHA: "4c8d2a6f", Status: "succeeded", Details: &state.Details{Packages: 2100, Diff: d}}}}
	full := Render(v, 1<<22)
	out := Render(v, 4000)
	if len(full) <= 4000 || len(out) > 4000 {
		t.Fatalf("full %d, fitted %d bytes", len(full), len(out))
	}
	if !strings.Contains(out, "| +2000 packages |") || strings.Contains(out, "<details>") {
		t.Errorf("fitted comment:\n%s", out)
	}
}
