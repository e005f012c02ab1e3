package github_test

import (
	"context"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github"
	"github.com/imagebot/imagebot/bot/forge/github/githubtest"
)

// TestCloneAuthOfGivesEachRepositoryItsOwnersToken: through the forge-neutral
// forge.CloneAuthOf (what the bot calls before each git fetch), an App gets
// the installation token of the repository's owner, not the last one handed
// out; a token-configured adapter gets its token.
func TestCloneAuthOfGivesEachRepositoryItsOwnersToken(t *testing.T) {
	srv, g := newApp(t, time.Hour, 5*time.Minute)
	srv.AddRepo("tools/images", 880002)
	srv.SetInstallation("tools", 43)
	ctx := context.Background()
	_, infra, err := forge.CloneAuthOf(ctx, g, forge.Repo{FullName: "infra/images"})
	if err != nil {
		t.Fatal(err)
	}
	_, tools, err := forge.CloneAuthOf(ctx, g, forge.Repo{FullName: "tools/images"})
	if err != nil {
		t.Fatal(err)
	}
	if infra == "" || infra == tools {
		t.Errorf("infra's token %q, tools' token %q: want two different installation tokens", infra, tools)
	}
	// CloneAuth, without a repository, hands out the last token: tools'.
	if _, last := g.CloneAuth(); last != tools {
		t.Errorf("CloneAuth gave %q, want the last minted", last)
	}
	if _, again, _ := forge.CloneAuthOf(ctx, g, forge.Repo{FullName: "infra/images"}); again != infra {
		t.Errorf("infra's token changed within its lifetime: %q then %q", infra, again)
	}

	plain := githubtest.New(t, "the-bot-token")
	tg, err := github.New(github.Config{BaseURL: plain.URL, Token: "the-bot-token", WebhookSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if user, tok, err := forge.CloneAuthOf(ctx, tg, forge.Repo{FullName: "infra/images"}); err != nil || user != "x-access-token" || tok != "the-bot-token" {
		t.Errorf("token adapter: %q %q %v", user, tok, err)
	}
}
