package bot_test

import (
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
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/runner/notify"
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
