package bot_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/bot/queue"
)

var artifactRE = regexp.MustCompile("\\[(tiny-0\\.1\\.0\\.qcow2)\\]\\((http[^)]+)\\) [^`]*`sha256:([0-9a-f]{64})`")

func TestGitLabBuildCommandBuildsPublishesAndReportsInOneComment(t *testing.T) {
	gl, repo, sha := aliceMR(t, "tiny: touch")
	tb := startBot(t, gl)
	if code := tb.sendNote(t, repo, "alice", "Looks good.\n/build tiny\n", sha); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d, want 202", code)
	}
	defer func() {
		if t.Failed() {
			t.Logf("calls: %v\nstatuses: %+v\ncomment:\n%s", gl.Calls(), gl.Statuses(sha), comment(t, gl))
			_ = tb.bot.Queue().InTx(context.Background(), func(tx queue.Tx) error {
				rows, err := tx.Query(context.Background(), `SELECT id, kind, state, attempt, scheduled_at, errors FROM river_job`)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var id, attempt int64
					var kind, state, sched string
					var errs any
					_ = rows.Scan(&id, &kind, &state, &attempt, &sched, &errs)
					t.Logf("job %d %s %s attempt %d at %s errors %s", id, kind, state, attempt, sched, errs)
				}
				return nil
			})
		}
	}()
	waitFor(t, "commit status imagebot/tiny success", 40*time.Second, func() bool {
		st := gl.LastStatus(sha, "imagebot/tiny")
		if st.State == "failed" {
			t.Fatalf("build failed; comment:\n%s", comment(t, gl))
		}
		return st.State == "success"
	})
	waitFor(t, "the comment to show the artifact", time.Minute, func() bool { return artifactRE.MatchString(comment(t, gl)) })
	body := comment(t, gl)
	m := artifactRE.FindStringSubmatch(body)
	data := fileBytes(t, m[2])
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != m[3] {
		t.Errorf("downloaded %s has sha256 %s, the comment says %s", m[1], got, m[3])
	}
	for _, want := range []string{"tiny", "succeeded", "full log", "KiB"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, apiToken) || strings.Contains(body, webhookSecret) {
		t.Errorf("comment holds a secret:\n%s", body)
	}
	var states []string
	for _, st := range gl.Statuses(sha) {
		states = append(states, st.State)
	}
	// A sub-second build may skip "pending" (edits are coalesced); the
	// order may not go backwards and must end in success.
	if got := strings.Join(states, ","); !regexp.MustCompile(`^(pending,)*(running,)*success$`).MatchString(got) {
		t.Errorf("statuses went %s, want pending/running then success", got)
	}
	if st := gl.LastStatus(sha, "imagebot/tiny"); !strings.HasPrefix(st.TargetURL, tb.cfg.PublicURL+"/builds/") {
		t.Errorf("status target %q does not link to the build", st.TargetURL)
	}
	if repo.fetches == 0 {
		t.Error("the bot never fetched the repository with the forge token")
	}
	if n := len(gl.Comments(gitlabtest.ProjectID, gitlabtest.MRIID)[0].History); n < 2 {
		t.Errorf("comment has %d versions, want it created once and edited as the build moved", n)
	}
}

// aliceMR starts a fake GitLab on which alice, a developer, has MR !7 open
// at a fresh commit (msg) of a new images repository.
func aliceMR(t *testing.T, msg string) (*gitlabtest.Server, *imagesRepo, string) {
	t.Helper()
	gl := gitlabtest.New(t, apiToken)
	gl.SetAccess("alice", gitlabtest.Developer)
	repo := newImagesRepo(t)
	sha := repo.commit(t, msg)
	setMR(gl, "alice", sha)
	return gl, repo, sha
}

// sendNote delivers user's comment on MR !7 at sha (a fresh delivery) and
// returns the status code.
func (tb *testBot) sendNote(t *testing.T, repo *imagesRepo, user, comment, sha string) int {
	t.Helper()
	return send(t, tb.srv.URL, webhookSecret, gitlabtest.NoteHook, "", note(t, repo, user, comment, sha))
}

// sendMR delivers the merge request fixture (e.g. "mr_closed.json") with
// its head at sha and returns the status code.
func (tb *testBot) sendMR(t *testing.T, repo *imagesRepo, fixture, sha string) int {
	t.Helper()
	return send(t, tb.srv.URL, webhookSecret, gitlabtest.MergeRequestHook, "", gitlabtest.Payload(t, fixture,
		gitlabtest.Set("object_attributes.last_commit.id", sha), gitlabtest.Set("project.git_http_url", repo.url)))
}

func countJobs(t *testing.T, q *queue.Queue, kind string) int64 {
	t.Helper()
	var n int64
	err := q.InTx(context.Background(), func(tx queue.Tx) error {
		return queue.QueryRow(context.Background(), tx, `SELECT count(*) FROM river_job WHERE kind = $1`, []any{kind}, &n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhookWithBadTokenIs401AndQueuesNothing(t *testing.T) {
	gl := gitlabtest.New(t, apiToken)
	repo := newImagesRepo(t)
	sha := repo.commit(t, "x")
	tb := startBot(t, gl)
	for _, secret := range []string{"wrong", "", webhookSecret + "x"} {
		if code := send(t, tb.srv.URL, secret, gitlabtest.NoteHook, "", note(t, repo, "alice", "/build tiny", sha)); code != http.StatusUnauthorized {
			t.Errorf("token %q: answered %d, want 401", secret, code)
		}
	}
	if n := countJobs(t, tb.bot.Queue(), "imagebot_event"); n != 0 {
		t.Errorf("%d event jobs queued after refused webhooks, want 0", n)
	}
	if calls := gl.Calls(); len(calls) != 0 {
		t.Errorf("the bot called the forge after refused webhooks: %v", calls)
	}
}

func TestSameDeliveryTwiceBuildsOnce(t *testing.T) {
	gl, repo, sha := aliceMR(t, "x")
	tb := startBot(t, gl)
	body := note(t, repo, "alice", "/build tiny", sha)
	id := gitlabtest.NewUUID()
	if code := send(t, tb.srv.URL, webhookSecret, gitlabtest.NoteHook, id, body); code != http.StatusAccepted {
		t.Fatalf("first delivery answered %d, want 202", code)
	}
	if code := send(t, tb.srv.URL, webhookSecret, gitlabtest.NoteHook, id, body); code != http.StatusOK {
		t.Fatalf("repeated delivery answered %d, want 200 (duplicate)", code)
	}
	waitFor(t, "imagebot/tiny success", 3*time.Minute, func() bool { return gl.LastStatus(sha, "imagebot/tiny").State == "success" })
	// A new delivery asking for the same image at the same commit and inputs is not queued again.
	if code := send(t, tb.srv.URL, webhookSecret, gitlabtest.NoteHook, "", body); code != http.StatusAccepted {
		t.Fatalf("third delivery answered %d, want 202", code)
	}
	waitFor(t, "the 'already built' notice", time.Minute, func() bool { return strings.Contains(comment(t, gl), "already built") })
	if n := countJobs(t, tb.bot.Queue(), "imagebot_event"); n != 2 {
		t.Errorf("%d event jobs, want 2 (the repeated delivery stored once)", n)
	}
	if n := countJobs(t, tb.bot.Queue(), "imagebot_build"); n != 1 {
		t.Errorf("%d build jobs, want 1", n)
	}
	bs, err := tb.bot.RecentBuilds(context.Background(), 10)
	if err != nil || len(bs) != 1 {
		t.Fatalf("builds = %d (%v), want 1", len(bs), err)
	}
}

func TestUntrustedAuthorRefusedUntilOkToBuildAndAgainAfterPush(t *testing.T) {
	gl := gitlabtest.New(t, apiToken)
	gl.SetAccess("mallory", gitlabtest.Reporter)
	gl.SetAccess("maria", gitlabtest.Maintainer)
	repo := newImagesRepo(t)
	sha1 := repo.commit(t, "first")
	setMR(gl, "mallory", sha1)
	tb := startBot(t, gl)

	tb.sendNote(t, repo, "mallory", "/build tiny", sha1)
	waitFor(t, "the refusal", time.Minute, func() bool { return strings.Contains(comment(t, gl), "refused") })
	if body := comment(t, gl); !strings.Contains(body, "mallory") || !strings.Contains(body, "/ok-to-build") {
		t.Errorf("refusal does not say who and how to proceed:\n%s", body)
	}
	if bs, _ := tb.bot.RecentBuilds(context.Background(), 10); len(bs) != 0 {
		t.Fatalf("%d builds queued for an untrusted author, want 0", len(bs))
	}
	// A maintainer approves this head: the refused /build runs.
	tb.sendNote(t, repo, "maria", "/ok-to-build", sha1)
	waitFor(t, "the approved build to succeed", 2*time.Minute, func() bool { return gl.LastStatus(sha1, "imagebot/tiny").State == "success" })

	// A new push: the approval was for the old head, so the author is refused again.
	sha2 := repo.commit(t, "second")
	setMR(gl, "mallory", sha2)
	tb.sendMR(t, repo, "mr_updated_commits.json", sha2)
	tb.sendNote(t, repo, "mallory", "/build tiny", sha2)
	waitFor(t, "the second refusal", time.Minute, func() bool {
		return strings.Count(comment(t, gl), "refused") >= 2 || strings.Contains(comment(t, gl), "was for "+sha1[:8])
	})
	time.Sleep(time.Second)
	bs, err := tb.bot.RecentBuilds(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.SHA == sha2 {
			t.Errorf("build %s queued at the new head %s without approval", b.ID, sha2[:8])
		}
	}
	if len(bs) != 1 {
		t.Errorf("%d builds, want the one approved", len(bs))
	}
}

func TestCancelStopsARunningBuild(t *testing.T) {
	gl, repo, sha := aliceMR(t, "x")
	tb := startBot(t, gl)
	tb.sendNote(t, repo, "alice", "/build hang", sha)
	waitFor(t, "the hang build to wait for its machine", 2*time.Minute, func() bool {
		bs, _ := tb.bot.RecentBuilds(context.Background(), 1)
		return len(bs) == 1 && strings.Contains(bs[0].Step, "Waiting for shutdown")
	})
	start := time.Now()
	tb.sendNote(t, repo, "alice", "/cancel", sha)
	waitFor(t, "the build to be cancelled", 3*time.Minute, func() bool {
		bs, _ := tb.bot.RecentBuilds(context.Background(), 1)
		return bs[0].Status == "cancelled"
	})
	t.Logf("cancelled %s after /cancel", time.Since(start).Round(time.Millisecond))
	waitFor(t, "the failed status and the comment", time.Minute, func() bool {
		return gl.LastStatus(sha, "imagebot/hang").State == "failed" && strings.Contains(comment(t, gl), "cancelled")
	})
	if n := countJobs(t, tb.bot.Queue(), "imagebot_build"); n != 1 {
		t.Errorf("%d build jobs, want 1", n)
	}
}

func TestNewPushCancelsOldHeadBuildsAndCloseCancelsQueued(t *testing.T) {
	gl, repo, sha1 := aliceMR(t, "first")
	tb := startBot(t, gl)
	// hang runs (one build slot), slow waits behind it.
	tb.sendNote(t, repo, "alice", "/build hang slow", sha1)
	byImage := func() map[string]string {
		bs, _ := tb.bot.RecentBuilds(context.Background(), 10)
		m := map[string]string{}
		for _, b := range bs {
			m[b.Image+"@"+b.SHA[:8]] = b.Status
		}
		return m
	}
	waitFor(t, "hang running", 2*time.Minute, func() bool { return byImage()["hang@"+sha1[:8]] == "running" })
	sha2 := repo.commit(t, "second")
	tb.sendMR(t, repo, "mr_updated_commits.json", sha2)
	waitFor(t, "both builds of the old head cancelled", 2*time.Minute, func() bool {
		m := byImage()
		return m["hang@"+sha1[:8]] == "cancelled" && m["slow@"+sha1[:8]] == "cancelled"
	})
	waitFor(t, "the comment to say superseded", time.Minute, func() bool { return strings.Contains(comment(t, gl), "superseded") })

	// At the new head: hang runs, slow is queued; closing the MR cancels the queued one only.
	setMR(gl, "alice", sha2)
	tb.sendNote(t, repo, "alice", "/build hang slow", sha2)
	waitFor(t, "hang running at the new head", 2*time.Minute, func() bool { return byImage()["hang@"+sha2[:8]] == "running" })
	tb.sendMR(t, repo, "mr_closed.json", sha2)
	waitFor(t, "the queued build cancelled by the close", time.Minute, func() bool { return byImage()["slow@"+sha2[:8]] == "cancelled" })
	if got := byImage()["hang@"+sha2[:8]]; got != "running" {
		t.Errorf("the running build is %s after the close, want still running (only queued builds are cancelled)", got)
	}
	tb.sendNote(t, repo, "alice", "/cancel hang", sha2)
	waitFor(t, "hang cancelled", 2*time.Minute, func() bool { return byImage()["hang@"+sha2[:8]] == "cancelled" })
}

func TestReportSurvivesAForgeOutage(t *testing.T) {
	gl, repo, sha := aliceMR(t, "x")
	// More failures than the adapter's own retries: the first delivery
	// attempt of the report fails for good and the outbox must retry it.
	gl.Inject(gitlabtest.Fault{Method: "POST", PathContains: "/notes", Code: http.StatusBadGateway, Times: 8})
	tb := startBot(t, gl)
	tb.sendNote(t, repo, "alice", "/build tiny", sha)
	waitFor(t, "the report delivered after the outage", 2*time.Minute, func() bool {
		return artifactRE.MatchString(comment(t, gl)) && gl.LastStatus(sha, "imagebot/tiny").State == "success"
	})
	var failed int
	for _, c := range gl.Calls() {
		if strings.HasPrefix(c, "POST") && strings.HasSuffix(c, "/notes") {
			failed++
		}
	}
	if failed < 9 {
		t.Errorf("%d comment creations, want the 8 failures and then the delivery", failed)
	}
	var attempts int64
	_ = tb.bot.Queue().InTx(context.Background(), func(tx queue.Tx) error {
		return queue.QueryRow(context.Background(), tx, `SELECT max(attempt) FROM river_job WHERE kind = 'imagebot_report'`, nil, &attempts)
	})
	if attempts < 2 {
		t.Errorf("report jobs ran at most %d times, want a retry after the failed delivery", attempts)
	}
}
