package github_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github"
	"github.com/imagebot/imagebot/bot/forge/github/githubtest"
)

const appID = 424242

// newApp starts the test server playing an App whose installation tokens
// live ttl, installed on "infra" (the fixtures' owner) as installation 42,
// and returns it with an adapter authenticating as that App.
func newApp(t *testing.T, ttl, refreshBefore time.Duration) (*githubtest.Server, *github.GitHub) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv := githubtest.New(t, "not-the-bot-token")
	srv.EnableApp(githubtest.App{ID: appID, PublicKey: &key.PublicKey, TTL: ttl})
	srv.SetInstallation("infra", 42)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	g, err := github.New(github.Config{BaseURL: srv.URL, WebhookSecret: "s",
		App: &github.AppConfig{ID: appID, PrivateKey: pemKey, RefreshBefore: refreshBefore}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, g
}

func TestAppAuthUsesOneInstallationTokenPerOwner(t *testing.T) {
	srv, g := newApp(t, time.Hour, 5*time.Minute)
	srv.AddRepo("tools/images", 880002)
	srv.SetInstallation("tools", 43)
	ctx := context.Background()
	for _, r := range []string{"infra/images", "tools/images", "infra/images", "tools/images"} {
		if _, err := g.CreateComment(ctx, forge.Repo{FullName: r}, 7, "queued"); err != nil {
			t.Fatalf("comment on %s: %v", r, err)
		}
	}
	if n := srv.TokensMinted(); n != 2 {
		t.Errorf("%d installation tokens minted, want one per owner (2)", n)
	}
	user, tok, err := g.CloneAuthFor(ctx, forge.Repo{FullName: "tools/images"})
	if err != nil || user != "x-access-token" || !strings.HasPrefix(tok, "ghs_") {
		t.Errorf("CloneAuthFor = %q, %q, %v", user, tok, err)
	}
	if _, err := g.CreateComment(ctx, forge.Repo{FullName: "nobody/images"}, 7, "x"); err == nil ||
		!strings.Contains(err.Error(), "installation for nobody/images") {
		t.Errorf("comment where the App is not installed: %v, want an error naming the repository", err)
	}
}

// TestAppTokenIsRefreshedDuringALongBuild runs a "build" longer than an
// installation token lives (the server refuses expired tokens): the
// adapter mints a new token before the old one expires, API calls and the
// clone token keep working.
func TestAppTokenIsRefreshedDuringALongBuild(t *testing.T) {
	const ttl = 2 * time.Second
	srv, g := newApp(t, ttl, 700*time.Millisecond)
	ctx := context.Background()
	repo := forge.Repo{FullName: "infra/images"}
	id, err := g.CreateComment(ctx, repo, 7, "running")
	if err != nil {
		t.Fatal(err)
	}
	_, first, err := g.CloneAuthFor(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(2*ttl + 500*time.Millisecond)
	for time.Now().Before(end) {
		time.Sleep(300 * time.Millisecond)
		if err := g.EditComment(ctx, repo, 7, id, "running "+time.Now().Format(time.StampMilli)); err != nil {
			t.Fatalf("edit during the build: %v", err)
		}
	}
	_, last, err := g.CloneAuthFor(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if last == first {
		t.Error("clone token after two token lifetimes is the first one")
	}
	if n := srv.TokensMinted(); n < 3 {
		t.Errorf("%d tokens minted over %s of %s tokens, want at least 3", n, 2*ttl, ttl)
	}
}

func TestAppConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		app  github.AppConfig
		want string
	}{
		{github.AppConfig{ID: 0, PrivateKey: []byte("x")}, "app_id"},
		{github.AppConfig{ID: 1, PrivateKey: []byte("not a pem")}, "private key"},
	} {
		_, err := github.New(github.Config{WebhookSecret: "s", App: &tc.app})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "not a pem") {
			t.Errorf("New(%d): %v, want an error about %s without the key", tc.app.ID, err, tc.want)
		}
	}
}
