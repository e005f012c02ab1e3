package bot_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/queue/pgtest"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/testenv"
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
// the sweep takes the build back, host B re-runs it ("slow": 8 s of TCG)
// and it succeeds, the comment says the host was lost. Host A, finding its
// claim gone when it finally beats (while B still builds), stops its build,
// records nothing and leaves the River job running for B.
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

	if code := send(t, serve.srv.URL, webhookSecret, gitlabtest.NoteHook, "", note(t, repo, "alice", "/build slow", sha)); code != http.StatusAccepted {
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
	select {
	case <-stalled.stopped:
	case <-time.After(time.Minute):
		t.Fatal("host A kept running a build another host took over")
	}
	time.Sleep(2 * time.Second) // A's finish and River's completion would have written by now
	bs, err := serve.bot.RecentBuilds(context.Background(), 5)
	if err != nil || len(bs) != 1 {
		t.Fatalf("builds: %+v, %v", bs, err)
	}
	if bs[0].Status == "running" {
		err := serve.bot.Queue().InTx(context.Background(), func(tx queue.Tx) error {
			job, err := tx.Job(context.Background(), bs[0].JobID)
			if err == nil && (job.State != rivertype.JobStateRunning || job.Attempt != 2) {
				t.Errorf("River job while host B builds, after host A gave up: %s attempt %d, want running attempt 2", job.State, job.Attempt)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	} else {
		t.Logf("host B finished before host A gave up (%s): the job fence was not exercised", bs[0].Status)
	}
	waitFor(t, "slow re-run on host B and reported", 3*time.Minute, func() bool {
		return gl.LastStatus(sha, "imagebot/slow").State == "success" && strings.Contains(comment(t, gl), "build host lost, re-ran")
	})
	t.Logf("build re-run and reported %.1f s after host A stopped beating (lost_after %s)", time.Since(killed).Seconds(), lostAfter)
	bs, err = serve.bot.RecentBuilds(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].Status != "succeeded" || !strings.Contains(bs[0].Note, "build host lost") {
		t.Fatalf("builds after the failover: %+v", bs)
	}
}

// TestFleetReRunsTheBuildOfASIGKILLedHost: on PostgreSQL, a serve replica
// (in process) and a real `imagebot runner` process. The runner is
// SIGKILLed (with its Packer and QEMU) while it builds "slow" (8 s of
// TCG); a second build host started after the kill re-runs it once
// queue.lost_after passed, and the MR comment ends right.
func TestFleetReRunsTheBuildOfASIGKILLedHost(t *testing.T) {
	packerBin := testenv.Tool(t, "packer")
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

	bin := buildImagebot(t)
	dir := t.TempDir()
	tmp, err := os.MkdirTemp("/tmp", "ibf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	logPath := filepath.Join(dir, "runner.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	host := exec.Command(bin, "runner", "--listen", freePort(t))
	host.Dir = dir
	host.Env = append(os.Environ(), "TMPDIR="+tmp, "IMAGEBOT_DATA_DIR="+filepath.Join(dir, "data"),
		"IMAGEBOT_GITLAB_TOKEN="+apiToken, "IMAGEBOT_GITLAB_WEBHOOK_SECRET="+webhookSecret,
		"IMAGEBOT_GITLAB_BASE_URL="+gl.URL, "IMAGEBOT_GITLAB_BOT_USER=imagebot",
		"IMAGEBOT_RUNNER_PACKER="+packerBin, "IMAGEBOT_RUNNER_ACCELERATOR=tcg",
		"IMAGEBOT_QUEUE_HEARTBEAT=1s", "IMAGEBOT_QUEUE_LOST_AFTER="+lostAfter.String())
	host.Stdout, host.Stderr = logf, logf
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = host.Process.Kill()
		_, _ = host.Process.Wait()
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("runner.log:\n%s", data)
		}
	})

	send(t, serve.srv.URL, webhookSecret, gitlabtest.NoteHook, "", note(t, repo, "alice", "/build slow", sha))
	waitFor(t, "slow running on the runner process", 3*time.Minute, func() bool {
		bs, _ := serve.bot.RecentBuilds(context.Background(), 5)
		return len(bs) == 1 && strings.Contains(bs[0].Step, "Waiting for shutdown")
	})
	groups := childGroups(host.Process.Pid)
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = host.Process.Wait()
	for _, g := range groups { // Packer and QEMU of the killed build
		_ = syscall.Kill(-g, syscall.SIGKILL)
	}
	killed := time.Now()
	startBotFor(t, gl, gl.URL, gitlabForge(t, gl), func(d *bot.Deps) {
		d.BuildsOnly = true
		d.Config.Queue.Heartbeat = 500 * time.Millisecond
		d.Config.Queue.LostAfter = lostAfter
	})
	waitFor(t, "slow re-run on the second host and the comment to end right", 3*time.Minute, func() bool {
		return gl.LastStatus(sha, "imagebot/slow").State == "success" && strings.Contains(comment(t, gl), "build host lost, re-ran")
	})
	t.Logf("comment ended right %.1f s after the SIGKILL (lost_after %s)", time.Since(killed).Seconds(), lostAfter)
	bs, err := serve.bot.RecentBuilds(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].Status != "succeeded" {
		t.Fatalf("builds after the failover: %+v", bs)
	}
}
