package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/web"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/notify"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
	"github.com/imagebot/imagebot/runner/store/local"
)

const (
	releaseToken = "tok-release-bot-0123456789"
	bobToken     = "tok-bob-9876543210"
)

type trusted struct {
	t      *testing.T
	url    string
	st     store.Store
	mu     sync.Mutex
	events []notify.Event
}

func newTrusted(t *testing.T) *trusted {
	st, err := local.New(store.LocalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tr := &trusted{t: t, st: st}
	pub := func(image, version string, base *manifest.BaseImage) {
		browsetest.Publish(t, st, browsetest.Build{Ref: store.Release(image, version), Digest: "sha256:" + version, GitSHA: "0a1b2c3d",
			Files:  map[string][]byte{image + "-" + version + ".qcow2": []byte(image + version)},
			Modify: func(m *manifest.Manifest) { m.BaseImage = base }})
	}
	pub("base9", "1.0.0", nil)
	pub("base9", "1.1.0", nil)
	pub("rocky9", "1.2.0", &manifest.BaseImage{Image: "base9", Version: "1.0.0"})
	pub("rocky9", "1.3.0", &manifest.BaseImage{Image: "base9", Version: "1.1.0"})
	api := &web.TrustedAPI{Store: st, Log: zerolog.Nop(), Repository: "https://git.test/infra/images", PageURL: "https://imagebot.test",
		Callers: []web.Caller{{Name: "release-bot", Token: releaseToken}, {Name: "bob", Token: bobToken}},
		Policy:  &store.ChannelPolicy{Channels: map[string][]string{"stable": {"release-bot"}, "*": {"*"}}},
		Notify: func(_ context.Context, evs []notify.Event) error {
			tr.mu.Lock()
			defer tr.mu.Unlock()
			tr.events = append(tr.events, evs...)
			return nil
		}}
	mux := http.NewServeMux()
	for _, p := range web.TrustedRoutes {
		mux.Handle(p, api)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tr.url = srv.URL
	return tr
}

func (tr *trusted) post(path, token, body string) (int, string) {
	tr.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, tr.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tr.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestTrustedCallersRevokeAndPromote: only configured tokens get in, the
// caller's name (never the body) is who acted, a revocation with
// descendants revokes the release built on it and queues one signed-ready
// event each, and the channel policy is enforced on promotions.
func TestTrustedCallersRevokeAndPromote(t *testing.T) {
	tr := newTrusted(t)
	body := `{"release":"base9@1.1.0","reason":"CVE-2026-7","descendants":true}`
	for _, tc := range []struct {
		token, body string
		code        int
		want        string
	}{
		{"", body, 401, "bearer token is required"},
		{"tok-wrong", body, 401, "bearer token is required"},
		{releaseToken, `{"release":"base9@1.1.0","reason":"x","by":"mallory"}`, 400, `unknown field \"by\"`},
		{releaseToken, `{"release":"base9@1.1.0"}`, 400, "reason: say why"},
		{releaseToken, `{"release":"base9","reason":"x"}`, 400, "want image@version"},
		{releaseToken, `{"release":"base9@7.0.0","reason":"x"}`, 404, `release \"base9@7.0.0\"`},
	} {
		if code, got := tr.post("/api/revocations", tc.token, tc.body); code != tc.code || !strings.Contains(got, tc.want) {
			t.Errorf("token %q body %s: %d %s, want %d %q", tc.token, tc.body, code, got, tc.code, tc.want)
		}
	}
	if revs, _ := store.Revocations(context.Background(), tr.st, "base9"); len(revs) != 0 {
		t.Fatalf("a refused request revoked %v", revs)
	}

	// Promote before revoking: bob may move candidate, not stable.
	if code, got := tr.post("/api/promotions", bobToken, `{"release":"rocky9@1.3.0","channel":"stable"}`); code != 403 || !strings.Contains(got, "bob may not move channel stable of rocky9") {
		t.Errorf("bob moving stable: %d %s", code, got)
	}
	if code, got := tr.post("/api/promotions", releaseToken, `{"release":"rocky9@1.3.0","channel":"stable"}`); code != 200 || !strings.Contains(got, `"by": "release-bot"`) {
		t.Errorf("release-bot moving stable: %d %s", code, got)
	}

	code, got := tr.post("/api/revocations", bobToken, body)
	var ans struct {
		Revoked  []store.Revocation `json:"revoked"`
		Channels []store.Channel    `json:"channels_moved"`
	}
	if code != 200 || json.Unmarshal([]byte(got), &ans) != nil || len(ans.Revoked) != 2 || ans.Revoked[0].By != "bob" ||
		ans.Revoked[1].Image != "rocky9" || len(ans.Channels) != 1 || ans.Channels[0].Version != "" {
		t.Fatalf("revoke: %d %s", code, got)
	}
	tr.mu.Lock()
	evs := tr.events
	tr.mu.Unlock()
	if len(evs) != 2 || evs[1].Image != "rocky9" || evs[1].Kind != notify.ReleaseRevoked || evs[1].URL != "https://imagebot.test/images/rocky9/1.3.0" {
		t.Fatalf("events %+v", evs)
	}
	if code, got := tr.post("/api/promotions", releaseToken, `{"release":"rocky9@1.3.0","channel":"stable"}`); code != 409 || !strings.Contains(got, "revoked by bob") {
		t.Errorf("promoting a revoked release: %d %s", code, got)
	}
	if code, got := tr.post("/api/revocations", releaseToken, body); code != 200 || !strings.Contains(got, `"already_revoked": [`) {
		t.Errorf("revoking again: %d %s", code, got)
	}
}

func TestTrustedAPIWithoutCallersRefusesEverything(t *testing.T) {
	st, _ := local.New(store.LocalConfig{Dir: t.TempDir()})
	srv := httptest.NewServer(&web.TrustedAPI{Store: st, Log: zerolog.Nop()})
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/revocations", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer ")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
