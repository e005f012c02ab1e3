package github_test

import (
	"io"
	"testing"

	"github.com/imagebot/imagebot/bot/forge/github/githubtest"
)

// FuzzParseWebhook: any correctly signed body decodes or errors, never panics.
func FuzzParseWebhook(f *testing.F) {
	for _, name := range []string{"pull_request_opened.json", "issue_comment_pr.json", "push.json"} {
		f.Add(githubtest.Payload(f, name))
	}
	f.Add([]byte(`{"issue":{"pull_request":{}},"comment":null}`))
	g := newAdapter(f, "")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ev := range []string{"pull_request", "issue_comment", "push"} {
			req := githubtest.Request(t, "http://bot/webhooks/github", secret, ev, "d", body)
			b, _ := io.ReadAll(req.Body)
			e, err := g.ParseWebhook(req, b)
			if err == nil && e.Forge != "github" {
				t.Fatalf("decoded event without forge: %+v", e)
			}
		}
	})
}

func BenchmarkParseWebhookIssueComment(b *testing.B) {
	g := newAdapter(b, "")
	body := githubtest.CommentOnPR(b, "alice", "/build rocky9")
	req := githubtest.Request(b, "http://bot/webhooks/github", secret, "issue_comment", "d", body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.ParseWebhook(req, body); err != nil {
			b.Fatal(err)
		}
	}
}
