package bot_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
)

// countingBuilder counts the builds that reach the runner (Packer runs).
type countingBuilder struct {
	bot.Builder
	n atomic.Int32
}

func (c *countingBuilder) Build(ctx context.Context, cat *catalog.Catalog, req runner.Request, on runner.EventFunc) (*runner.Result, error) {
	c.n.Add(1)
	return c.Builder.Build(ctx, cat, req, on)
}

// TestSecondMRWithTheSameInputsReusesTheFirstBuild: MR !7 builds tiny for
// real; MR !8, a docs-only change with the same inputs digest, asks for
// tiny too and gets the published build copied, with no Packer run, its
// comment naming the reused build and the same sha256, within seconds of
// the webhook; `/build tiny --force` then really builds.
func TestSecondMRWithTheSameInputsReusesTheFirstBuild(t *testing.T) {
	gl, repo, sha := aliceMR(t, "tiny: touch")
	counter := &countingBuilder{}
	tb := startBotFor(t, gl, gl.URL, gitlabForge(t, gl), func(d *bot.Deps) {
		counter.Builder = d.Builder
		d.Builder = counter
	})
	built := time.Now()
	if code := tb.sendNote(t, repo, "alice", "/build tiny\n", sha); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d", code)
	}
	waitFor(t, "MR !7's build to succeed", time.Minute, func() bool { return gl.LastStatus(sha, "imagebot/tiny").State == "success" })
	waitFor(t, "MR !7's comment to show the artifact", 30*time.Second, func() bool { return artifactRE.MatchString(comment(t, gl)) })
	t.Logf("webhook -> comment with the built result (fetch, validate, Packer, publish): %s", time.Since(built))
	first := artifactRE.FindStringSubmatch(comment(t, gl))

	// MR !8: a docs-only commit; tiny's inputs are unchanged.
	if err := os.WriteFile(filepath.Join(repo.dir, "NOTES.md"), []byte("notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sha8 := repo.commit(t, "docs: notes")
	gl.SetMergeRequest(gitlabtest.ProjectID, forge.MergeRequest{Number: 8, Title: "docs", Author: "alice", HeadSHA: sha8,
		HeadBranch: "docs", TargetBranch: "main", State: "opened"})
	body := gitlabtest.Payload(t, "note_mr.json",
		gitlabtest.Set("object_attributes.note", "/build tiny\n"), gitlabtest.Set("user.username", "alice"),
		gitlabtest.Set("merge_request.iid", 8), gitlabtest.Set("project.git_http_url", repo.url),
		gitlabtest.Set("merge_request.last_commit.id", sha8),
		gitlabtest.Set("merge_request.source.git_http_url", repo.url), gitlabtest.Set("merge_request.target.git_http_url", repo.url))
	start := time.Now()
	if code := send(t, tb.srv.URL, webhookSecret, gitlabtest.NoteHook, "", body); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d", code)
	}
	on8 := func() string {
		notes := gl.Comments(gitlabtest.ProjectID, 8)
		if len(notes) == 0 {
			return ""
		}
		return notes[0].Body
	}
	waitFor(t, "MR !8's comment to show the reused artifact", 30*time.Second, func() bool {
		return strings.Contains(on8(), "reused") && artifactRE.MatchString(on8())
	})
	took := time.Since(start)
	t.Logf("webhook -> comment with the reused result: %s", took)
	c8 := on8()
	got := artifactRE.FindStringSubmatch(c8)
	if got[3] != first[3] {
		t.Errorf("reused artifact sha256 %s, the first build's %s", got[3], first[3])
	}
	if want := "tiny@mr7-" + sha[:8]; !strings.Contains(c8, want) {
		t.Errorf("MR !8's comment does not name the reused build %s:\n%s", want, c8)
	}
	if got[2] == first[2] {
		t.Errorf("MR !8 links MR !7's file %s; want its own copy", got[2])
	}
	if data := fileBytes(t, got[2]); len(data) == 0 {
		t.Error("the reused copy is empty")
	}
	if n := counter.n.Load(); n != 1 {
		t.Errorf("%d Packer builds, want 1 (MR !8 reused)", n)
	}
	t.Logf("MR !8's comment:\n%s", c8)

	// --force builds for real.
	force := gitlabtest.Payload(t, "note_mr.json",
		gitlabtest.Set("object_attributes.note", "/build tiny --force\n"), gitlabtest.Set("user.username", "alice"),
		gitlabtest.Set("merge_request.iid", 8), gitlabtest.Set("project.git_http_url", repo.url),
		gitlabtest.Set("merge_request.last_commit.id", sha8),
		gitlabtest.Set("merge_request.source.git_http_url", repo.url), gitlabtest.Set("merge_request.target.git_http_url", repo.url))
	if code := send(t, tb.srv.URL, webhookSecret, gitlabtest.NoteHook, "", force); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d", code)
	}
	waitFor(t, "the forced build to run Packer", time.Minute, func() bool { return counter.n.Load() == 2 })
	waitFor(t, "the forced build's comment", time.Minute, func() bool {
		c := on8()
		return artifactRE.MatchString(c) && !strings.Contains(c, "reused")
	})
}
