package gitlab_test

import (
	"io"
	"testing"

	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
)

// FuzzParseWebhook: any body with a good token decodes or errors, never panics.
func FuzzParseWebhook(f *testing.F) {
	for _, name := range []string{"mr_opened.json", "note_mr.json", "note_issue.json", "push.json"} {
		f.Add(gitlabtest.Payload(f, name))
	}
	f.Add([]byte(`{"object_attributes":null,"merge_request":{"iid":-1}}`))
	g := newAdapter(f, "")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ev := range []string{gitlabtest.MergeRequestHook, gitlabtest.NoteHook, gitlabtest.PushHook} {
			req := gitlabtest.Request(t, "http://bot/webhooks/gitlab", secret, ev, "d", body)
			b, _ := io.ReadAll(req.Body)
			e, err := g.ParseWebhook(req, b)
			if err == nil && e.Forge != "gitlab" {
				t.Fatalf("decoded event without forge: %+v", e)
			}
		}
	})
}

func BenchmarkParseWebhookNote(b *testing.B) {
	g := newAdapter(b, "")
	body := gitlabtest.NoteOnMR(b, "alice", "/build rocky9")
	req := gitlabtest.Request(b, "http://bot/webhooks/gitlab", secret, gitlabtest.NoteHook, "d", body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.ParseWebhook(req, body); err != nil {
			b.Fatal(err)
		}
	}
}
