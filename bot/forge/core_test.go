package forge_test

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github"
	"github.com/imagebot/imagebot/bot/forge/gitlab"
)

// TestForgeSpecificAnswersComeFromTheAdapters: what the core used to
// switch on the forge's name for, each adapter answers itself.
func TestForgeSpecificAnswersComeFromTheAdapters(t *testing.T) {
	g, err := gitlab.New(gitlab.Config{BaseURL: "http://127.0.0.1:9", Token: "t", WebhookSecret: secret, BotUser: "imagebot", Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := github.New(github.Config{BaseURL: "http://127.0.0.1:9", Token: "t", WebhookSecret: secret, BotUser: "ImageBot", Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	repo := forge.Repo{FullName: "infra/images", WebURL: "https://forge.example.test/infra/images/"}
	for _, tc := range []struct {
		f       forge.Forge
		mrURL   string
		bots    []string
		notBots []string
	}{
		{g, "https://forge.example.test/infra/images/-/merge_requests/7", []string{"imagebot", "@imagebot", "ImageBot"}, []string{"alice", "imagebot2", ""}},
		{h, "https://forge.example.test/infra/images/pull/7", []string{"imagebot", "@ImageBot"}, []string{"alice", "@imagebot[bot]", ""}},
	} {
		t.Run(tc.f.Name(), func(t *testing.T) {
			if got := tc.f.MergeRequestURL(repo, 7); got != tc.mrURL {
				t.Errorf("MergeRequestURL = %q, want %q", got, tc.mrURL)
			}
			if got := tc.f.MergeRequestURL(forge.Repo{FullName: "x/y"}, 7); got != "" {
				t.Errorf("MergeRequestURL without a web address = %q, want none", got)
			}
			if got := tc.f.MergeRequestURL(repo, 0); got != "" {
				t.Errorf("MergeRequestURL of no MR = %q, want none", got)
			}
			for _, u := range tc.bots {
				if !tc.f.IsBot(u) {
					t.Errorf("IsBot(%q) = false", u)
				}
			}
			for _, u := range tc.notBots {
				if tc.f.IsBot(u) {
					t.Errorf("IsBot(%q) = true", u)
				}
			}
		})
	}
}
