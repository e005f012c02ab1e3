package bot_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/runner/testenv"
)

// TestBrowserWatchesARealBuildsLogGrow drives the whole stack: a trusted
// user comments `/build chatty` on an MR (GitLab's test server), the bot
// queues and runs a real Packer build whose provisioner prints a line every
// half second, and headless Chromium, on the build's page, sees the log grow
// while the build runs, then the build end as succeeded.
func TestBrowserWatchesARealBuildsLogGrow(t *testing.T) {
	chromium := testenv.Tool(t, "chromium")
	repo := newRelRepo(t)
	rb := startRelBot(t, repo)
	rb.gl.SetAccess("alice", gitlabtest.Developer)
	rb.gl.SetMergeRequest(gitlabtest.ProjectID, forge.MergeRequest{Number: 7, Title: "tiny: touch the provisioner", Author: "alice",
		HeadSHA: repo.head, HeadBranch: "feature", TargetBranch: "main", State: "opened"})
	note := gitlabtest.Payload(t, "note_mr.json",
		gitlabtest.Set("object_attributes.note", "/build chatty"), gitlabtest.Set("user.username", "alice"),
		gitlabtest.Set("project.git_http_url", repo.dir), gitlabtest.Set("merge_request.last_commit.id", repo.head),
		gitlabtest.Set("merge_request.source.git_http_url", repo.dir), gitlabtest.Set("merge_request.target.git_http_url", repo.dir))
	resp, err := http.DefaultClient.Do(gitlabtest.Request(t, rb.url+"/webhooks/gitlab", relSecret, gitlabtest.NoteHook, "", note))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	var id string
	waitUntil(t, "the chatty build to run", 2*time.Minute, func() bool {
		for _, b := range apiBuilds(t, rb.url) {
			if b.Image == "chatty" && b.Status == "running" {
				id = b.ID
				return true
			}
			if b.Image == "chatty" && b.Status != "queued" {
				t.Fatalf("chatty build %s before it was seen running: %+v", b.Status, b)
			}
		}
		return false
	})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(chromium), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.WindowSize(1280, 900))
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(rb.url+"/builds/"+id), chromedp.WaitVisible(chromedp.CSS("#log"))); err != nil {
		t.Fatal(err)
	}
	logText := func() string {
		s, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS("#log")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var first string
	waitUntil(t, "the first chatty lines on screen", time.Minute, func() bool { first = logText(); return strings.Contains(first, "chatty line 2 of") })
	head, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS("#build-head")))
	if err != nil || !strings.Contains(head, "running") {
		t.Errorf("the page did not show the build running while its log grew (%v): %s", err, head)
	}
	var later string
	waitUntil(t, "later chatty lines on screen", time.Minute, func() bool { later = logText(); return strings.Contains(later, "chatty line 8 of") })
	if len(later) <= len(first) || !strings.Contains(later, first[:strings.Index(first, "chatty line 2 of")]) {
		t.Errorf("the log did not grow in place: %d then %d bytes", len(first), len(later))
	}
	if shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)); err == nil {
		path := filepath.Join(t.ArtifactDir(), "real-build-running.png")
		os.WriteFile(path, shot, 0o644)
		t.Logf("screenshot: %s", path)
	}
	waitUntil(t, "the page to show the build succeeded", 2*time.Minute, func() bool {
		s, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS("#build-head")))
		return err == nil && strings.Contains(s, "succeeded")
	})
	if !strings.Contains(logText(), "chatty line 16 of 16") {
		t.Errorf("the finished log lacks its last line:\n%s", logText())
	}
}
