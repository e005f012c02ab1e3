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
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
)

// stalledBuilder is a build host that stops making progress: its build
// never ends until its context is cancelled.
type stalledBuilder struct{ started, stopped chan struct{} }

func (s *stalledBuilder) Build(ctx context.Context, _ *catalog.Catalog, _ runner.Request, _ runner.EventFunc) (*runner.Result, error) {
	close(s.started)
	<-ctx.Done()
	close(s.stopped)
	return nil, ctx.Err()
}

// TestFleetReRunsABuildWhoseHostStoppedBeating: on PostgreSQL, a serve
// replica and two build hosts. Host A takes /build tiny, then stalls and
// its heartbeat stops (its next beat is due long after queue.lost_after);
// the sweep takes the build back, host B re-runs it and it succeeds, the
// comment says the host was lost, and host A, finding its claim gone when
// it finally beats, stops its build and records nothing.
func TestFleetReRunsABuildWhoseHostStoppedBeating(t *testing.T) {
	url := pgtest.Start(t)
	t.Setenv("IMAGEBOT_DATABASE_DRIVER", "postgres")
	t.Setenv("IMAGEBOT_DATABASE_URL", url)
	gl := gitlabtest.New(t, apiToken)
	gl.SetAccess("alice", gitlabtest.Developer)
	repo := newImagesRepo(t)
	sha := repo.commit(t, "x")
	setMR(gl, "alice", sha)
	const lostAfter = 4 * time.Second
	serve := startBotFor(t, gl, gl.URL, gitlabForge(t, gl), func(d *bot.Deps) {
		d.Builder = nil
		d.Config.Queue.LostAfter = lostAfter
	})
	stalled := &stalledBuilder{started: make(chan struct{}), stopped: make(chan struct{})}
	startBotFor(t, gl, gl.URL, gitlabForge(t, gl), func(d *bot.Deps) {
		d.BuildsOnly, d.Builder = true, stalled
		d.Config.Queue.Heartbeat = 3 * lostAfter // beats at the start, then too late
		d.Config.Queue.LostAfter = lostAfter
	})

	if code := send(t, serve.srv.URL, webhookSecret, gitlabtest.NoteHook, "", note(t, repo, "alice", "/build tiny", sha)); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d", code)
	}
	select {
	case <-stalled.started:
	case <-time.After(2 * time.Minute):
		t.Fatal("host A never started the build")
	}
	killed := time.Now()
	startBotFor(t, gl, gl.URL, gitlabForge(t, gl), func(d *bot.Deps) {
		d.BuildsOnly = true
		d.Config.Queue.Heartbeat = 500 * time.Millisecond
		d.Config.Queue.LostAfter = lostAfter
	})
	waitFor(t, "tiny re-run on host B and reported", 3*time.Minute, func() bool {
		return gl.LastStatus(sha, "imagebot/tiny").State == "success" && artifactRE.MatchString(comment(t, gl))
	})
	t.Logf("build re-run and reported %.1f s after host A stopped beating (lost_after %s)", time.Since(killed).Seconds(), lostAfter)
	if c := comment(t, gl); !strings.Contains(c, "build host lost, re-ran") {
		t.Errorf("comment does not say the build host was lost:\n%s", c)
	}
	select {
	case <-stalled.stopped:
	case <-time.After(time.Minute):
		t.Fatal("host A kept running a build another host took over")
	}
	time.Sleep(time.Second) // A's finish would have written by now
	bs, err := serve.bot.RecentBuilds(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].Status != "succeeded" || !strings.Contains(bs[0].Note, "build host lost") {
		t.Fatalf("builds after the failover: %+v", bs)
	}
}
