package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/access"
	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/notify"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
	"github.com/imagebot/imagebot/runner/store/local"
)

// TestServeMountsTheTrustedAPI: with api.callers configured, serve's HTTP
// plan (UI token set) lets a caller revoke with its own token, the
// revocation is written with the caller's name, and release.revoked
// reaches the notification sink through the bot's outbox.
func TestServeMountsTheTrustedAPI(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var got []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Header.Get(notify.EventHeader)+" "+string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	os.WriteFile(filepath.Join(dir, "hook"), []byte("whsec-serve-0123456789"), 0o600)
	os.WriteFile(filepath.Join(dir, "tok"), []byte("tok-release-bot-0123456789"), 0o600)
	cfgFile := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfgFile, []byte(`data_dir: `+dir+`
notifications:
  - {name: ops, type: webhook, url: "`+rcv.URL+`", secret_file: `+filepath.Join(dir, "hook")+`}
api:
  callers: [{name: release-bot, token_file: `+filepath.Join(dir, "tok")+`}]
`), 0o600)
	cfg, err := config.Load(cfgFile, []string{"IMAGEBOT_UI_TOKEN=ui-token-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := local.New(store.LocalConfig{Dir: filepath.Join(dir, "artifacts")})
	if err != nil {
		t.Fatal(err)
	}
	browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("rocky9", "1.2.0"), Digest: "sha256:x", GitSHA: "0a0a0a0a0a",
		Files: map[string][]byte{"rocky9-1.2.0.qcow2": []byte("disk")}})
	log := zerolog.Nop()
	ctx := context.Background()
	b, err := bot.New(ctx, bot.Deps{Config: cfg, Log: log, Store: st,
		Catalog: func(context.Context, string) (*catalog.Catalog, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	srv := bot.NewServer(b)
	mountTrusted(srv, b, cfg, st, log)
	plan := access.Plan(srv, cfg.Listen, cfg.UIListen, cfg.MetricsListen, cfg.UI.Token)
	hs := httptest.NewServer(plan[0].Handler)
	t.Cleanup(hs.Close)
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/api/revocations", strings.NewReader(`{"release":"rocky9@1.2.0","reason":"CVE-2026-3"}`))
	req.Header.Set("Authorization", "Bearer tok-release-bot-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"revoked_by": "release-bot"`) {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	if r, err := store.ReadRevocation(ctx, st, "rocky9", "1.2.0"); err != nil || r == nil || r.By != "release-bot" {
		t.Fatalf("revocation %+v, %v", r, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no notification arrived")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.HasPrefix(got[0], "release.revoked ") || !strings.Contains(got[0], `"reason":"CVE-2026-3"`) {
		t.Errorf("notification %s", got[0])
	}
}
