package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/bot/queue/pgtest"
	"github.com/imagebot/imagebot/runner/testenv"
)

// TestFleetSIGKILLedServeReplicaLeavesTheOtherAnsweringAndNothingReportedTwice:
// on PostgreSQL, serve replica A (a real `imagebot serve` process that
// builds nothing), serve replica B (in process) and a build host. /build
// slow goes to A; while the host builds it, A is SIGKILLed. The redelivery
// of that webhook to B is answered as a duplicate, a /build tiny to B is
// accepted, both builds succeed once, and GitLab sees one MR comment
// (edited, never created twice) and no status sent twice.
func TestFleetSIGKILLedServeReplicaLeavesTheOtherAnsweringAndNothingReportedTwice(t *testing.T) {
	testenv.Tool(t, "packer")
	url := pgtest.Start(t)
	t.Setenv("IMAGEBOT_DATABASE_DRIVER", "postgres")
	t.Setenv("IMAGEBOT_DATABASE_URL", url)
	gl := gitlabtest.New(t, apiToken)
	gl.SetAccess("alice", gitlabtest.Developer)
	repo := newImagesRepo(t)
	sha := repo.commit(t, "x")
	setMR(gl, "alice", sha)
	replicaB := startBotFor(t, gl, gl.URL, gitlabForge(t, gl), func(d *bot.Deps) { d.Builder = nil })
	startBotFor(t, gl, gl.URL, gitlabForge(t, gl), func(d *bot.Deps) { d.BuildsOnly = true })

	bin := buildImagebot(t)
	dir := t.TempDir()
	env := append(os.Environ(), "IMAGEBOT_DATA_DIR="+filepath.Join(dir, "data"),
		"IMAGEBOT_GITLAB_TOKEN="+apiToken, "IMAGEBOT_GITLAB_WEBHOOK_SECRET="+webhookSecret,
		"IMAGEBOT_GITLAB_BASE_URL="+gl.URL, "IMAGEBOT_GITLAB_BOT_USER=imagebot",
		"IMAGEBOT_REPORT_MIN_EDIT_INTERVAL=300ms", "IMAGEBOT_QUEUE_BUILD_WORKERS=0")
	replicaA := startServe(t, bin, dir, freePort(t), env)
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
			bs, _ := replicaB.bot.RecentBuilds(context.Background(), 10)
			t.Logf("builds: %+v\ncalls: %q\nriver jobs:\n%s\nreplica A serve.log:\n%s", bs, gl.Calls(), riverJobs(url), data)
		}
	})
	builds := func() map[string]bot.Build {
		bs, _ := replicaB.bot.RecentBuilds(context.Background(), 10)
		out := map[string]bot.Build{}
		for _, b := range bs {
			out[b.Image] = b
		}
		return out
	}

	delivery := gitlabtest.NewUUID()
	buildSlow := note(t, repo, "alice", "/build slow", sha)
	if code := send(t, replicaA.url, webhookSecret, gitlabtest.NoteHook, delivery, buildSlow); code != http.StatusAccepted {
		t.Fatalf("replica A answered the /build webhook %d, want 202", code)
	}
	waitFor(t, "slow running on the build host", 3*time.Minute, func() bool {
		return strings.Contains(builds()["slow"].Step, "Waiting for shutdown")
	})
	if err := replicaA.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = replicaA.cmd.Process.Wait()
	killed := time.Now()

	if code := send(t, replicaB.srv.URL, webhookSecret, gitlabtest.NoteHook, delivery, buildSlow); code != http.StatusOK {
		t.Errorf("replica B answered the redelivery %d, want 200 (duplicate)", code)
	}
	if code := send(t, replicaB.srv.URL, webhookSecret, gitlabtest.NoteHook, "", note(t, repo, "alice", "/build tiny", sha)); code != http.StatusAccepted {
		t.Fatalf("replica B answered /build tiny %d, want 202", code)
	}
	waitFor(t, "slow and tiny built and the comment to end right", 5*time.Minute, func() bool {
		c := comment(t, gl)
		return strings.Count(c, "✅") == 2 && artifactRE.MatchString(c) &&
			gl.LastStatus(sha, "imagebot/slow").State == "success" && gl.LastStatus(sha, "imagebot/tiny").State == "success"
	})
	t.Logf("both builds reported %.1f s after replica A was SIGKILLed", time.Since(killed).Seconds())
	time.Sleep(3 * time.Second) // a duplicate report would have reached GitLab by now

	bs := builds()
	if len(bs) != 2 || bs["slow"].Status != "succeeded" || bs["tiny"].Status != "succeeded" {
		t.Errorf("builds: %+v, want slow and tiny, each once, succeeded", bs)
	}
	if all, _ := replicaB.bot.RecentBuilds(context.Background(), 10); len(all) != 2 {
		t.Errorf("%d builds recorded, want 2 (the redelivery made a build)", len(all))
	}
	createNote := regexp.MustCompile(`^POST /api/v4/projects/[^/]+/merge_requests/\d+/notes$`)
	setStatus := regexp.MustCompile(`^POST /api/v4/projects/[^/]+/statuses/`)
	var creates, statusCalls int
	for _, c := range gl.Calls() {
		if createNote.MatchString(c) {
			creates++
		}
		if setStatus.MatchString(c) {
			statusCalls++
		}
	}
	if creates != 1 || len(gl.Comments(gitlabtest.ProjectID, gitlabtest.MRIID)) != 1 {
		t.Errorf("%d note creations, %d notes on the MR; want one comment, edited in place",
			creates, len(gl.Comments(gitlabtest.ProjectID, gitlabtest.MRIID)))
	}
	sts := gl.Statuses(sha)
	if statusCalls != len(sts) {
		t.Errorf("%d status calls but %d accepted: a status was sent twice (GitLab refuses a repeated state)", statusCalls, len(sts))
	}
	seen := map[string]bool{}
	for _, st := range sts {
		k := st.Name + "/" + st.State
		if seen[k] {
			t.Errorf("status %s reported twice: %+v", k, sts)
		}
		seen[k] = true
	}
}

// riverJobs lists River's jobs (kind, state, attempt, who took it) for a
// failure's log: a job left running by the killed replica shows here.
func riverJobs(url string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err.Error()
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id, kind, state, attempt, coalesce(array_to_string(attempted_by, ','), ''), args::text FROM river_job ORDER BY id`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id int64
		var attempt int
		var kind, state, by, args string
		if err := rows.Scan(&id, &kind, &state, &attempt, &by, &args); err != nil {
			return err.Error()
		}
		if len(args) > 120 {
			args = args[:120]
		}
		fmt.Fprintf(&b, "%d %s %s attempt %d by [%s] %s\n", id, kind, state, attempt, by, args)
	}
	return b.String()
}
