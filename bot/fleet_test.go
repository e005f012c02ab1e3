package bot_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/bot/queue/pgtest"
)

// TestFleetOnPostgresServeQueuesRunnerBuildsAndCancelReachesIt runs the
// production shape: a bot replica that builds nothing and a build host
// (imagebot runner's mode) sharing one PostgreSQL queue.
func TestFleetOnPostgresServeQueuesRunnerBuildsAndCancelReachesIt(t *testing.T) {
	url := pgtest.Start(t)
	t.Setenv("IMAGEBOT_DATABASE_DRIVER", "postgres")
	t.Setenv("IMAGEBOT_DATABASE_URL", url)
	gl := gitlabtest.New(t, apiToken)
	gl.SetAccess("alice", gitlabtest.Developer)
	repo := newImagesRepo(t)
	sha := repo.commit(t, "x")
	setMR(gl, "alice", sha)
	serve := startBotFor(t, gl, gl.URL, gitlabForge(t, gl), func(d *bot.Deps) { d.Builder = nil })
	host := startBotFor(t, gl, gl.URL, gitlabForge(t, gl), func(d *bot.Deps) { d.BuildsOnly = true })

	if code := send(t, serve.srv.URL, webhookSecret, gitlabtest.NoteHook, "", note(t, repo, "alice", "/build tiny", sha)); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d", code)
	}
	waitFor(t, "tiny built on the build host and reported", 3*time.Minute, func() bool {
		return gl.LastStatus(sha, "imagebot/tiny").State == "success" && artifactRE.MatchString(comment(t, gl))
	})
	if m := artifactRE.FindStringSubmatch(comment(t, gl)); !strings.HasPrefix(m[2], host.srv.URL) {
		t.Errorf("artifact link %s is not the build host's store", m[2])
	}

	send(t, serve.srv.URL, webhookSecret, gitlabtest.NoteHook, "", note(t, repo, "alice", "/build hang", sha))
	status := func() string {
		bs, _ := serve.bot.RecentBuilds(context.Background(), 5)
		for _, b := range bs {
			if b.Image == "hang" {
				return b.Status + "/" + b.Step
			}
		}
		return ""
	}
	waitFor(t, "hang running on the build host", 2*time.Minute, func() bool { return strings.Contains(status(), "Waiting for shutdown") })
	send(t, serve.srv.URL, webhookSecret, gitlabtest.NoteHook, "", note(t, repo, "alice", "/cancel hang", sha))
	waitFor(t, "the cancel to reach the build host", 2*time.Minute, func() bool { return strings.HasPrefix(status(), "cancelled") })
}
