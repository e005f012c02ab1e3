package bot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/gitlab"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/runner/catalog"
)

// BenchmarkGitLabWebhook measures the whole webhook path in-process:
// verify, decode, record the delivery and enqueue its event job (one
// commit per batch), answer. Parallel callers share commits.
func BenchmarkGitLabWebhook(b *testing.B) {
	cfg := botConfig(b, b.TempDir(), "http://127.0.0.1:9")
	work := false
	cfg.Queue.Work = &work
	g, err := gitlab.New(gitlab.Config{BaseURL: "http://127.0.0.1:9", Token: apiToken, WebhookSecret: webhookSecret, Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	bt, err := bot.New(context.Background(), bot.Deps{Config: cfg, Log: zerolog.Nop(), Forges: map[string]forge.Forge{"gitlab": g},
		Catalog: func(context.Context, string) (*catalog.Catalog, error) { return nil, nil }})
	if err != nil {
		b.Fatal(err)
	}
	defer bt.Close(context.Background())
	h := bot.NewServer(bt)
	body := gitlabtest.Payload(b, "note_mr.json")
	b.ReportAllocs()
	b.SetParallelism(32) // many deliveries in flight, as under load
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := gitlabtest.Request(b, "http://bot/webhooks/gitlab", webhookSecret, gitlabtest.NoteHook, "", body)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusAccepted {
				b.Errorf("answered %d", rec.Code)
			}
		}
	})
}
