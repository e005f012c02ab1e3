package bot_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/runner/cascade"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/notify"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
)

// TestReleaseNotificationArrivesSignedAndIsRetried: a merge releases tiny
// (real Packer build); the webhook sink's receiver fails the first
// delivery with a 500, the outbox retries, and the second delivery of the
// same event (same id) arrives with a signature the receiver verifies.
func TestReleaseNotificationArrivesSignedAndIsRetried(t *testing.T) {
	const secret = "whsec-release-0123456789"
	var mu sync.Mutex
	type delivery struct {
		body []byte
		h    http.Header
	}
	var got []delivery
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{b, r.Header.Clone()})
		first := len(got) == 1
		mu.Unlock()
		if first {
			http.Error(w, "receiver down", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	secretFile := filepath.Join(t.TempDir(), "hook-secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	repo := newRelRepo(t)
	rb := startRelBot(t, repo, func(c *config.Config) {
		c.Notifications = []notify.SinkConfig{{Name: "ops", Type: "webhook", URL: rcv.URL + "/hook", SecretFile: secretFile,
			Events: []notify.Kind{notify.ReleasePublished, notify.BuildFailed}}}
	})
	push := gitlabtest.Payload(t, "push.json", gitlabtest.Set("before", repo.before), gitlabtest.Set("after", repo.after),
		gitlabtest.Set("checkout_sha", repo.after), gitlabtest.Set("project.git_http_url", repo.dir),
		gitlabtest.Set("repository.git_http_url", repo.dir))
	resp, err := http.DefaultClient.Do(gitlabtest.Request(t, rb.url+"/webhooks/gitlab", relSecret, gitlabtest.PushHook, "", push))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitUntil(t, "the notification to be delivered after a failure", 5*time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	first, second := got[0], got[1]
	if err := notify.Verify([]byte(secret), second.body, second.h.Get(notify.SignatureHeader)); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if first.h.Get(notify.DeliveryHeader) != second.h.Get(notify.DeliveryHeader) || second.h.Get(notify.EventHeader) != "release.published" {
		t.Errorf("headers %v then %v", first.h, second.h)
	}
	var ev notify.Event
	if err := json.Unmarshal(second.body, &ev); err != nil || ev.Image != "tiny" || ev.Version != "0.1.0" ||
		!strings.HasSuffix(ev.URL, "/images/tiny/0.1.0") {
		t.Fatalf("event %s: %v", second.body, err)
	}
	if strings.Contains(string(second.body), secret) || strings.Contains(string(second.body), relToken) {
		t.Error("a secret is in the notification")
	}
}

// TestABaseReleaseThroughTheBotOpensOneBumpMergeRequest: tinykid (base:
// tiny) was released at 1.0.0 on tiny 0.0.9; merging a change to tiny
// releases tiny 0.1.0 (real build), and the bot opens exactly one bump
// merge request on GitLab's test server moving tinykid to 1.0.1; the API
// and the page mark tinykid outdated.
func TestABaseReleaseThroughTheBotOpensOneBumpMergeRequest(t *testing.T) {
	var kidEnv string
	repo := newRelRepo(t, func(dir string) {
		kid := filepath.Join(dir, "images/tinykid")
		os.MkdirAll(kid, 0o755)
		for _, f := range []string{"env.yaml", "provisioner.sh", "tiny.pkr.hcl"} {
			b, err := os.ReadFile(filepath.Join(dir, "images/tiny", f))
			if err != nil {
				t.Fatal(err)
			}
			s := strings.ReplaceAll(string(b), "tiny", "tinykid")
			if f == "env.yaml" {
				s = strings.Replace(s, "version: 0.1.0", "version: 1.0.0", 1) + "base: tiny\n"
				kidEnv = s
			}
			os.WriteFile(filepath.Join(kid, strings.ReplaceAll(f, "tiny", "tinykid")), []byte(s), 0o755)
		}
	})
	rb := startRelBot(t, repo, func(c *config.Config) { c.Cascade.Enabled = true })
	rb.gl.SetFile(gitlabtest.ProjectID, "main", "images/tinykid/env.yaml", kidEnv)
	for _, m := range [][2]string{{"tiny", "0.0.9"}, {"tinykid", "1.0.0"}} {
		browsetest.Publish(t, rb.st, browsetest.Build{Ref: store.Release(m[0], m[1]), Digest: "sha256:old", GitSHA: "0ld0ld0ld0",
			Files: map[string][]byte{m[0] + "-" + m[1] + ".qcow2": []byte("old")},
			Modify: func(mf *manifest.Manifest) {
				if m[0] == "tinykid" {
					mf.BaseImage = &manifest.BaseImage{Image: "tiny", Version: "0.0.9"}
				}
			}})
	}
	push := gitlabtest.Payload(t, "push.json", gitlabtest.Set("before", repo.before), gitlabtest.Set("after", repo.after),
		gitlabtest.Set("checkout_sha", repo.after), gitlabtest.Set("project.git_http_url", repo.dir),
		gitlabtest.Set("repository.git_http_url", repo.dir))
	resp, err := http.DefaultClient.Do(gitlabtest.Request(t, rb.url+"/webhooks/gitlab", relSecret, gitlabtest.PushHook, "", push))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitUntil(t, "the cascade merge request", 5*time.Minute, func() bool {
		for _, mr := range rb.gl.MergeRequests(gitlabtest.ProjectID) {
			if strings.HasPrefix(mr.HeadBranch, "imagebot/cascade/") {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second) // a second one would have come by now
	mrs := rb.gl.MergeRequests(gitlabtest.ProjectID)
	var opened []forge.MergeRequest
	for _, mr := range mrs {
		if strings.HasPrefix(mr.HeadBranch, "imagebot/cascade/") {
			opened = append(opened, mr)
		}
	}
	if len(opened) != 1 || opened[0].HeadBranch != "imagebot/cascade/tiny-0.1.0" || opened[0].Title != "Rebuild tinykid on tiny 0.1.0" {
		t.Fatalf("merge requests %+v", mrs)
	}
	files := rb.gl.Files(gitlabtest.ProjectID, opened[0].HeadBranch)
	if want := strings.Replace(kidEnv, "version: 1.0.0", "version: 1.0.1", 1); files["images/tinykid/env.yaml"] != want {
		t.Fatalf("bumped env.yaml:\n%s\nwant:\n%s", files["images/tinykid/env.yaml"], want)
	}
	resp, err = http.Get(rb.url + "/api/images/tinykid")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct {
		Outdated *struct {
			BuiltOn    string `json:"built_on"`
			BaseLatest string `json:"base_latest"`
		} `json:"outdated"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || l.Outdated == nil || l.Outdated.BuiltOn != "0.0.9" || l.Outdated.BaseLatest != "0.1.0" {
		t.Fatalf("API: %+v, %v", l.Outdated, err)
	}
	if page := string(fileBytes(t, rb.url+"/images/")); !strings.Contains(page, `tinykid <span class="badge wait">outdated</span>`) {
		t.Error("the catalog page does not mark tinykid outdated")
	}

	// Merging the bump (its commit on main, then the push webhook) releases
	// tinykid 1.0.1 on tiny 0.1.0 through the ordinary flow (real build).
	os.WriteFile(filepath.Join(repo.dir, "images/tinykid/env.yaml"), []byte(files["images/tinykid/env.yaml"]), 0o755)
	relGit(t, repo.dir, "commit", "-q", "-am", opened[0].Title)
	merged := relGit(t, repo.dir, "rev-parse", "HEAD")
	push = gitlabtest.Payload(t, "push.json", gitlabtest.Set("before", repo.after), gitlabtest.Set("after", merged),
		gitlabtest.Set("checkout_sha", merged), gitlabtest.Set("project.git_http_url", repo.dir),
		gitlabtest.Set("repository.git_http_url", repo.dir))
	resp, err = http.DefaultClient.Do(gitlabtest.Request(t, rb.url+"/webhooks/gitlab", relSecret, gitlabtest.PushHook, "", push))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitUntil(t, "tinykid 1.0.1 released", 5*time.Minute, func() bool {
		ref, err := store.Latest(context.Background(), rb.st, "tinykid")
		return err == nil && ref.Version == "1.0.1"
	})
	out, err := cascade.Check(context.Background(), rb.st)
	if err != nil || len(out) != 0 {
		t.Fatalf("still outdated after the bump was released: %+v, %v", out, err)
	}
}

// TestADueRefreshOpensItsMergeRequestOnce: tiny has refresh: weekly and its
// last release is older than the next Monday; the scheduler's tick then
// opens one bump merge request, and the following ticks open none.
func TestADueRefreshOpensItsMergeRequestOnce(t *testing.T) {
	var env string
	repo := newRelRepo(t, func(dir string) {
		p := filepath.Join(dir, "images/tiny/env.yaml")
		b, _ := os.ReadFile(p)
		env = string(b) + "refresh: weekly\n"
		os.WriteFile(p, []byte(env), 0o644)
	})
	rb := startRelBot(t, repo, func(c *config.Config) {
		c.Cascade.Enabled = true
		c.Cascade.Tick = time.Hour
		c.Cascade.Repositories = []config.RefreshRepo{{Forge: "gitlab", Repo: "infra/images", CloneURL: repo.dir, Branch: "main"}}
	})
	rb.gl.SetFile(gitlabtest.ProjectID, "main", "images/tiny/env.yaml", env)
	browsetest.Publish(t, rb.st, browsetest.Build{Ref: store.Release("tiny", "0.1.0"), Digest: "sha256:x", GitSHA: "0a0a0a0a0a",
		Files: map[string][]byte{"tiny-0.1.0.qcow2": []byte("disk")}})
	ctx := context.Background()
	later := time.Now().Add(8 * 24 * time.Hour) // a Monday 00:00 UTC has passed since the release
	for i, want := range []int{1, 0, 0} {
		if got := rb.b.RefreshTick(ctx, later.Add(time.Duration(i)*10*time.Minute)); got != want {
			t.Fatalf("tick %d opened %d, want %d", i, got, want)
		}
	}
	var refresh []forge.MergeRequest
	for _, mr := range rb.gl.MergeRequests(gitlabtest.ProjectID) {
		if strings.HasPrefix(mr.HeadBranch, "imagebot/refresh/tiny-") {
			refresh = append(refresh, mr)
		}
	}
	if len(refresh) != 1 || !strings.Contains(refresh[0].Title, "Refresh tiny: scheduled rebuild (weekly)") {
		t.Fatalf("refresh merge requests %+v", refresh)
	}
	if got := rb.gl.Files(gitlabtest.ProjectID, refresh[0].HeadBranch)["images/tiny/env.yaml"]; got != strings.Replace(env, "version: 0.1.0", "version: 0.1.1", 1) {
		t.Fatalf("bumped env.yaml:\n%s", got)
	}
}

// hookReceiver is a webhook notification sink's receiver that verifies
// every delivery's signature.
type hookReceiver struct {
	srv    *httptest.Server
	secret string
	file   string
	mu     sync.Mutex
	events []notify.Event
	bad    int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{secret: "whsec-receiver-0123456789"}
	h.file = filepath.Join(t.TempDir(), "secret")
	os.WriteFile(h.file, []byte(h.secret), 0o600)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev notify.Event
		h.mu.Lock()
		defer h.mu.Unlock()
		if notify.Verify([]byte(h.secret), b, r.Header.Get(notify.SignatureHeader)) != nil || json.Unmarshal(b, &ev) != nil {
			h.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.events = append(h.events, ev)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) configure(c *config.Config) {
	c.Notifications = append(c.Notifications, notify.SinkConfig{Name: "hook", Type: "webhook", URL: h.srv.URL, SecretFile: h.file})
}

// wait waits for a verified event of kind about image@version.
func (h *hookReceiver) wait(t *testing.T, kind notify.Kind, image, version string) {
	t.Helper()
	waitUntil(t, string(kind)+" of "+image+"@"+version, time.Minute, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, ev := range h.events {
			if ev.Kind == kind && ev.Image == image && ev.Version == version {
				return true
			}
		}
		return false
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bad > 0 {
		t.Errorf("%d deliveries did not verify", h.bad)
	}
}
