package bot_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github"
	"github.com/imagebot/imagebot/bot/forge/github/githubtest"
)

func TestGitHubBuildCommandBuildsPublishesAndReportsInOneComment(t *testing.T) {
	gh := githubtest.New(t, apiToken)
	gh.SetPermission("alice", "write")
	repo := newImagesRepo(t)
	sha := repo.commit(t, "tiny: touch")
	gh.SetPullRequest(githubtest.RepoFullName, forge.MergeRequest{Number: githubtest.PRNumber, Title: "tiny", Author: "alice",
		HeadSHA: sha, HeadBranch: "tiny", TargetBranch: "main", State: "opened"})
	tb := startBotFor(t, nil, gh.URL, func(log zerolog.Logger) forge.Forge {
		g, err := github.New(github.Config{BaseURL: gh.URL, Token: apiToken, WebhookSecret: webhookSecret, BotUser: "imagebot", Log: log})
		if err != nil {
			t.Fatal(err)
		}
		return g
	})
	body := githubtest.Payload(t, "issue_comment_pr.json", githubtest.Set("comment.body", "/build tiny"),
		githubtest.Set("comment.user.login", "alice"), githubtest.Set("sender.login", "alice"),
		githubtest.Set("repository.clone_url", repo.url))
	send := func(secret string) int {
		req := githubtest.Request(t, tb.srv.URL+"/webhooks/github", secret, "issue_comment", "", body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send("not-the-secret"); code != http.StatusUnauthorized {
		t.Fatalf("bad signature answered %d, want 401", code)
	}
	if code := send(webhookSecret); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d, want 202", code)
	}
	comments := func() string {
		cs := gh.Comments(githubtest.RepoFullName, githubtest.PRNumber)
		if len(cs) > 1 {
			t.Fatalf("%d bot comments, want one edited in place", len(cs))
		}
		if len(cs) == 0 {
			return ""
		}
		return cs[0].Body
	}
	waitFor(t, "imagebot/tiny success and the artifact in the comment", 3*time.Minute, func() bool {
		return gh.LastStatus(sha, "imagebot/tiny").State == "success" && artifactRE.MatchString(comments())
	})
	m := artifactRE.FindStringSubmatch(comments())
	sum := sha256.Sum256(fileBytes(t, m[2]))
	if got := hex.EncodeToString(sum[:]); got != m[3] {
		t.Errorf("downloaded %s has sha256 %s, the comment says %s", m[1], got, m[3])
	}
	if c := comments(); strings.Contains(c, apiToken) {
		t.Errorf("comment holds the token:\n%s", c)
	}
}
