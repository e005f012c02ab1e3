package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
)

// Issue 11 item 4: a deny-listed user's refused /build is never replayed by
// a member's /ok-to-build.
func TestOkToBuildDoesNotReplayDenyListedCommand(t *testing.T) {
	gl := gitlabtest.New(t, apiToken)
	gl.SetAccess("mallory", gitlabtest.Reporter)
	gl.SetAccess("maria", gitlabtest.Maintainer)
	gl.SetAccess("eve", gitlabtest.Reporter)
	repo := newImagesRepo(t)
	sha := repo.commit(t, "first")
	setMR(gl, "mallory", sha)
	tb := startBotFor(t, gl, gl.URL, gitlabForge(t, gl), func(d *bot.Deps) { d.Trust.Deny = []string{"eve"} })

	tb.sendNote(t, repo, "eve", "/build tiny", sha)
	waitFor(t, "the refusal", time.Minute, func() bool { return strings.Contains(comment(t, gl), "refused") })
	tb.sendNote(t, repo, "maria", "/ok-to-build", sha)
	waitFor(t, "the approval", time.Minute, func() bool { return strings.Contains(comment(t, gl), "approved builds") })
	time.Sleep(time.Second)
	if bs, _ := tb.bot.RecentBuilds(context.Background(), 10); len(bs) != 0 {
		t.Fatalf("%d builds after approving a deny-listed user's /build, want 0:\n%s", len(bs), comment(t, gl))
	}
}

// Issue 11 item 5: /ok-to-build approves the head the approver's note event
// carries, not the one the API returns when the job runs (a push landed).
func TestOkToBuildApprovesTheEventHead(t *testing.T) {
	gl := gitlabtest.New(t, apiToken)
	gl.SetAccess("mallory", gitlabtest.Reporter)
	gl.SetAccess("maria", gitlabtest.Maintainer)
	repo := newImagesRepo(t)
	seen := repo.commit(t, "first")
	pushed := repo.commit(t, "second, pushed right after the approval")
	setMR(gl, "mallory", pushed) // what the API answers by the time the job runs
	tb := startBot(t, gl)

	tb.sendNote(t, repo, "maria", "/ok-to-build", seen)
	waitFor(t, "the approval", time.Minute, func() bool { return strings.Contains(comment(t, gl), "approved builds") })
	body := comment(t, gl)
	if !strings.Contains(body, "approved builds of "+seen[:8]) || strings.Contains(body, pushed[:8]) {
		t.Fatalf("approval is not bound to the commit the approver saw (%s):\n%s", seen[:8], body)
	}
}
