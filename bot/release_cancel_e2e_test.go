package bot_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
)

// Issue 11 item 9: when the push of a merge is handled first, the merged
// event and a /cancel on the merged MR do not cancel its release build.
func TestMergedEventDoesNotCancelTheRelease(t *testing.T) {
	repo := newRelRepo(t)
	// Hold the release build for a while so the merged event lands while it
	// runs: the merge commit gains a post-processor that sleeps.
	hcl := filepath.Join(repo.dir, "images/tiny/tiny.pkr.hcl")
	text, err := os.ReadFile(hcl)
	if err != nil {
		t.Fatal(err)
	}
	slow := strings.Replace(string(text), `sources = ["source.qemu.tiny"]`,
		`sources = ["source.qemu.tiny"]
  post-processor "shell-local" {
    inline = ["sleep 15"]
  }`, 1)
	if err := os.WriteFile(hcl, []byte(slow), 0o644); err != nil {
		t.Fatal(err)
	}
	relGit(t, repo.dir, "commit", "-q", "-a", "--amend", "--no-edit")
	repo.after = relGit(t, repo.dir, "rev-parse", "HEAD")
	rb := startRelBot(t, repo)
	deliver := func(event string, body []byte) {
		t.Helper()
		resp, err := http.DefaultClient.Do(gitlabtest.Request(t, rb.url+"/webhooks/gitlab", relSecret, event, "", body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s webhook answered %d", event, resp.StatusCode)
		}
	}
	deliver(gitlabtest.PushHook, gitlabtest.Payload(t, "push.json", gitlabtest.Set("before", repo.before),
		gitlabtest.Set("after", repo.after), gitlabtest.Set("checkout_sha", repo.after),
		gitlabtest.Set("project.git_http_url", repo.dir), gitlabtest.Set("repository.git_http_url", repo.dir)))
	waitUntil(t, "the release build to run", 2*time.Minute, func() bool {
		b := apiBuilds(t, rb.url)
		return len(b) == 1 && b[0].Status == "running"
	})
	rb.gl.SetAccess("alice", gitlabtest.Developer)

	deliver(gitlabtest.MergeRequestHook, gitlabtest.Payload(t, "mr_merged.json",
		gitlabtest.Set("object_attributes.merge_commit_sha", repo.after), gitlabtest.Set("project.git_http_url", repo.dir)))
	deliver(gitlabtest.NoteHook, gitlabtest.Payload(t, "note_mr.json", gitlabtest.Set("object_attributes.note", "/cancel"),
		gitlabtest.Set("user.username", "alice"), gitlabtest.Set("project.git_http_url", repo.dir)))

	waitUntil(t, "the release build to end", 4*time.Minute, func() bool {
		b := apiBuilds(t, rb.url)
		return len(b) == 1 && b[0].Done()
	})
	time.Sleep(time.Second) // let both event jobs finish
	if b := apiBuilds(t, rb.url)[0]; b.Status != "succeeded" {
		t.Fatalf("release build %s: %s (%s), want succeeded", b.ID, b.Status, b.Note)
	}
}
