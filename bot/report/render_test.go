package report

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func view() View {
	t0 := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	return View{
		HeadSHA: "4c8d2a6f0b1e3d5c", Now: t0.Add(90 * time.Second), Secrets: []string{"glpat-SECRET"},
		Notices: []string{"@bob: `/build rocky` refused: unknown image rocky; did you mean rocky9?"},
		Rows: []Row{
			{Image: "rocky9", SHA: "4c8d2a6f0b1e", Status: "succeeded", Step: "publish", Started: t0, Finished: t0.Add(61 * time.Second),
				Files:   []File{{Name: "rocky9-1.0.0.qcow2", Size: 734003200, SHA256: strings.Repeat("ab", 32), URL: "https://s3/rocky9.qcow2"}},
				LogTail: "==> done with glpat-SECRET", LogURL: "https://s3/build.log"},
			{Image: "debian12", SHA: "4c8d2a6f0b1e", Status: "running", Step: "Waiting for SSH | port 22", Started: t0.Add(30 * time.Second)},
			{Image: "centos7", SHA: "4c8d2a6f0b1e", Status: "failed", Error: "provisioner.sh line 3: exit 1\nmore"},
		},
	}
}

func TestRenderShowsTableArtifactsNoticesAndMasksSecrets(t *testing.T) {
	out := Render(view(), 1<<20)
	for _, want := range []string{
		Marker, "head `4c8d2a6f`", "| **rocky9** `4c8d2a6f` | ✅ succeeded | publish | 1m1s |",
		"[rocky9-1.0.0.qcow2](https://s3/rocky9.qcow2) 700.0 MiB `sha256:" + strings.Repeat("ab", 32) + "`",
		"Waiting for SSH \\| port 22", "| 1m0s |", "did you mean rocky9?", "[full log](https://s3/build.log)",
		"**centos7** failed: provisioner.sh line 3: exit 1 …", "`/retry`", "<details>", "[REDACTED]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("comment lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "glpat-SECRET") {
		t.Errorf("comment holds a secret:\n%s", out)
	}
}

func TestRenderFitsTheForgeLimit(t *testing.T) {
	v := view()
	v.Rows[0].LogTail = strings.Repeat("ünïcode log line\n", 5000)
	full := Render(v, 1<<20)
	for _, max := range []int{len(full), 4000, 1500, 600, 100} {
		out := Render(v, max)
		if len(out) > max {
			t.Errorf("max %d: rendered %d bytes", max, len(out))
		}
		if !utf8.ValidString(out) {
			t.Errorf("max %d: cut inside a character", max)
		}
		if max >= 1500 && !strings.Contains(out, "rocky9-1.0.0.qcow2") {
			t.Errorf("max %d: the table was dropped before the log tail:\n%s", max, out)
		}
	}
}

func TestCommitState(t *testing.T) {
	for status, want := range map[string]string{"queued": "pending", "running": "running", "succeeded": "success",
		"failed": "failure", "cancelled": "failure", "timed_out": "failure", "interrupted": "failure"} {
		if got := string(CommitState(status)); got != want {
			t.Errorf("%s -> %s, want %s", status, got, want)
		}
	}
}
