package bot_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github"
	"github.com/imagebot/imagebot/bot/forge/github/githubtest"
)

// TestGitHubAppBuildClonesWithTheOwnersInstallationToken: imagebot runs as
// a GitHub App; the repository's git server takes only a live installation
// token of the repository owner's installation (not the App's JWT, not a
// configured token), so the build succeeds only if every fetch (the event's
// checkout and the build's) asked for the owner's token (forge.CloneAuthOf).
func TestGitHubAppBuildClonesWithTheOwnersInstallationToken(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	gh := githubtest.New(t, "no-plain-token-here")
	gh.EnableApp(githubtest.App{ID: 4242, PublicKey: &key.PublicKey, TTL: time.Hour})
	gh.SetInstallation("infra", 42)
	gh.AddRepo("tools/other", 880009)
	gh.SetInstallation("tools", 43)
	gh.SetPermission("alice", "write")
	repo := newImagesRepo(t)
	var (
		mu     sync.Mutex
		tokens []string
	)
	repo.auth = func(user, pass string) bool {
		mu.Lock()
		tokens = append(tokens, pass)
		mu.Unlock()
		return user == "x-access-token" && gh.GitTokenOK("infra", pass)
	}
	sha := repo.commit(t, "tiny: touch")
	gh.SetPullRequest(githubtest.RepoFullName, forge.MergeRequest{Number: githubtest.PRNumber, Title: "tiny", Author: "alice",
		HeadSHA: sha, HeadBranch: "tiny", TargetBranch: "main", State: "opened"})
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	tb := startBotFor(t, nil, gh.URL, func(log zerolog.Logger) forge.Forge {
		g, err := github.New(github.Config{BaseURL: gh.URL, WebhookSecret: webhookSecret, BotUser: "imagebot", Log: log,
			App: &github.AppConfig{ID: 4242, PrivateKey: pemKey}})
		if err != nil {
			t.Fatal(err)
		}
		// Another owner's token is the last one handed out: a fetch with
		// CloneAuth() (no repository to choose by) presents it and fails.
		return repoBlindApp{g}
	})
	body := githubtest.Payload(t, "issue_comment_pr.json", githubtest.Set("comment.body", "/build tiny"),
		githubtest.Set("comment.user.login", "alice"), githubtest.Set("sender.login", "alice"),
		githubtest.Set("repository.clone_url", repo.url))
	req := githubtest.Request(t, tb.srv.URL+"/webhooks/github", webhookSecret, "issue_comment", "", body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook answered %d, want 202", resp.StatusCode)
	}
	waitFor(t, "imagebot/tiny success", 3*time.Minute, func() bool {
		if st := gh.LastStatus(sha, "imagebot/tiny"); st.State == "failure" || st.State == "error" {
			cs := gh.Comments(githubtest.RepoFullName, githubtest.PRNumber)
			t.Fatalf("build ended %s: %v", st.State, cs)
		}
		return gh.LastStatus(sha, "imagebot/tiny").State == "success"
	})
	repo.mu.Lock()
	defer repo.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if repo.fetches == 0 {
		t.Fatal("no authenticated fetch reached the git server")
	}
	for _, tok := range tokens {
		if !strings.HasPrefix(tok, "ghs_") {
			t.Errorf("a fetch presented %q, want an installation token", tok)
		}
	}
}

// repoBlindApp is the App adapter whose CloneAuth, which cannot know the
// repository, hands out another owner's installation token.
type repoBlindApp struct{ *github.GitHub }

func (a repoBlindApp) CloneAuth() (string, string) {
	_, tok, err := a.CloneAuthFor(context.Background(), forge.Repo{FullName: "tools/other"})
	if err != nil {
		return "", ""
	}
	return "x-access-token", tok
}
