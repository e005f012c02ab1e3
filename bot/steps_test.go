package bot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
)

func TestRealBuildRecordsItsStepTimelineInOrder(t *testing.T) {
	gl := gitlabtest.New(t, apiToken)
	gl.SetAccess("alice", gitlabtest.Developer)
	repo := newImagesRepo(t)
	sha := repo.commit(t, "slow: touch")
	setMR(gl, "alice", sha)
	tb := startBot(t, gl)
	if code := send(t, tb.srv.URL, webhookSecret, gitlabtest.NoteHook, "", note(t, repo, "alice", "/build slow", sha)); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d, want 202", code)
	}
	ctx := context.Background()
	var id string
	waitFor(t, "the slow build to end", 2*time.Minute, func() bool {
		bs, err := tb.bot.RecentBuilds(ctx, 5)
		if err != nil || len(bs) == 0 || !bs[0].Done() {
			return false
		}
		if bs[0].Status != "succeeded" {
			t.Fatalf("build %s: %s", bs[0].Status, bs[0].Error)
		}
		id = bs[0].ID
		return true
	})

	resp, err := http.Get(tb.srv.URL + "/api/builds/" + id)
	if err != nil {
		t.Fatal(err)
	}
	var got bot.Build
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, s := range got.Steps {
		names = append(names, s.Name)
		if i > 0 && s.Started.Before(got.Steps[i-1].Started) {
			t.Errorf("step %d %q started before the step it follows", i, s.Name)
		}
	}
	t.Logf("steps: %q", names)
	// The bot's phases around the runner's own step events, in order.
	joined := strings.Join(names, "|")
	if len(names) < 4 || names[0] != "fetch" || names[1] != "validate" || names[len(names)-1] != "publish" {
		t.Fatalf("steps %q, want fetch, validate, the runner's steps, publish", names)
	}
	if !strings.Contains(joined, "Waiting for shutdown") {
		t.Errorf("steps %q lack the runner's step %q", names, "Waiting for shutdown")
	}

	// The page's timeline: each step ends where the next starts, the last
	// where the build ended.
	wb, err := tb.bot.WebBuilds().Build(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(wb.Steps) != len(names) {
		t.Fatalf("page timeline has %d steps, the build recorded %d", len(wb.Steps), len(names))
	}
	for i, s := range wb.Steps {
		if s.Finished.IsZero() || s.Finished.Before(s.Started) || s.Failed {
			t.Errorf("page step %d %+v: want finished after it started, not failed", i, s)
		}
	}
	if last := wb.Steps[len(wb.Steps)-1]; !last.Finished.Equal(wb.Finished) {
		t.Errorf("last step finished %s, the build %s", last.Finished, wb.Finished)
	}
}
