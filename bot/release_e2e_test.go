package bot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/gitlab"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/bot/web"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
	"github.com/imagebot/imagebot/runner/store/local"
	"github.com/imagebot/imagebot/runner/testenv"
)

const (
	relToken  = "glpat-Release-T0ken-5512"
	relSecret = "hook-Release-S3cret-7781"
)

// relRepo is a git repository with the tiny image of bot/release's
// fixtures: main, then a GitLab merge of a branch that touched tiny.
type relRepo struct{ dir, before, after, head string }

func relGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testenv.Tool(t, "git"), append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Alice", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice", "GIT_COMMITTER_EMAIL=alice@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func newRelRepo(t *testing.T, extra ...func(dir string)) relRepo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "images")
	if err := os.CopyFS(dir, os.DirFS("release/testdata/repo")); err != nil {
		t.Fatal(err)
	}
	for _, e := range extra {
		e(dir)
	}
	os.Chmod(filepath.Join(dir, "images/tiny/provisioner.sh"), 0o755)
	raw := make([]byte, 1<<20) // boot sector: empty IDT, int 3: triple fault, QEMU exits
	copy(raw, []byte{0x0f, 0x01, 0x1e, 0x10, 0x7c, 0xcd, 0x03})
	raw[510], raw[511] = 0x55, 0xaa
	rawPath := filepath.Join(t.TempDir(), "boot.raw")
	os.WriteFile(rawPath, raw, 0o644)
	os.MkdirAll(filepath.Join(dir, "disks"), 0o755)
	if out, err := exec.Command(testenv.Tool(t, "qemu-img"), "convert", "-q", "-f", "raw", "-O", "qcow2", rawPath,
		filepath.Join(dir, "disks/boot.qcow2")).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	relGit(t, dir, "init", "-q", "-b", "main")
	relGit(t, dir, "config", "uploadpack.allowAnySHA1InWant", "true")
	relGit(t, dir, "add", "-A")
	relGit(t, dir, "commit", "-q", "-m", "tiny image")
	r := relRepo{dir: dir, before: relGit(t, dir, "rev-parse", "HEAD")}
	relGit(t, dir, "checkout", "-q", "-b", "feature")
	os.WriteFile(filepath.Join(dir, "images/tiny/provisioner.sh"), []byte("#!/bin/sh\n# still nothing runs inside\ntrue\n"), 0o755)
	relGit(t, dir, "commit", "-q", "-am", "tiny: touch the provisioner")
	r.head = relGit(t, dir, "rev-parse", "HEAD")
	relGit(t, dir, "checkout", "-q", "main")
	relGit(t, dir, "merge", "-q", "--no-ff", "feature", "-m", "Merge branch 'feature' into 'main'\n\nSee merge request infra/images!7")
	r.after = relGit(t, dir, "rev-parse", "HEAD")
	return r
}

// relBot is imagebot serve in-process over a relRepo: the real bot (River
// on SQLite), GitLab adapter against GitLab's test server, runner (Packer),
// local store, and the web page, behind an httptest server.
type relBot struct {
	url string
	st  store.Store
	gl  *gitlabtest.Server
	b   *bot.Bot
}

func startRelBot(t *testing.T, repo relRepo, opts ...func(*config.Config)) *relBot {
	t.Helper()
	packerBin := testenv.Tool(t, "packer")
	testenv.Tool(t, "qemu-system-x86_64")
	gl := gitlabtest.New(t, relToken)
	gl.SetMergeRequest(gitlabtest.ProjectID, forge.MergeRequest{Number: 7, Title: "tiny: touch the provisioner", Author: "alice",
		HeadSHA: repo.head, HeadBranch: "feature", TargetBranch: "main", State: "merged", MergeCommit: repo.after})

	tmp, err := os.MkdirTemp("/tmp", "ibr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	data := t.TempDir()
	t.Setenv("IMAGEBOT_GITLAB_TOKEN", relToken)
	t.Setenv("IMAGEBOT_GITLAB_WEBHOOK_SECRET", relSecret)
	t.Setenv("IMAGEBOT_GITLAB_BASE_URL", gl.URL)
	t.Setenv("IMAGEBOT_GITLAB_BOT_USER", "imagebot")
	t.Setenv("IMAGEBOT_DATA_DIR", data)
	cfg, err := config.Load("", os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(&cfg)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg.SetListen(strings.TrimPrefix(srv.URL, "http://"))
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	g, err := gitlab.New(gitlab.Config{BaseURL: gl.URL, Token: relToken, WebhookSecret: relSecret, BotUser: "imagebot", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(runner.Config{Packer: packerBin, WorkDir: filepath.Join(data, "runner"), CacheDir: filepath.Join(data, "cache"),
		Accelerator: "tcg", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	st, err := local.New(store.LocalConfig{Dir: filepath.Join(data, "artifacts"), BaseURL: srv.URL + "/download"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bot.New(context.Background(), bot.Deps{
		Config: cfg, Log: log, Forges: map[string]forge.Forge{"gitlab": g},
		Builder: r, Publish: &bot.StorePublisher{Store: st, Log: log}, Store: st,
		Catalog: func(ctx context.Context, root string) (*catalog.Catalog, error) {
			cat, diags := catalog.LoadContext(ctx, root)
			if diags.HasErrors() {
				return nil, diags.Err()
			}
			return cat, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	server := bot.NewServer(b)
	page, err := web.New(web.Options{Store: st, Builds: b.WebBuilds(), Poll: 200 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	server.Mount("/", page)
	mux.Handle("/", server)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	return &relBot{url: srv.URL, st: st, gl: gl, b: b}
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
	}
}

// apiBuilds reads the bot's build history.
func apiBuilds(t *testing.T, url string) []bot.Build {
	t.Helper()
	resp, err := http.Get(url + "/api/builds")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var builds []bot.Build
	if err := json.NewDecoder(resp.Body).Decode(&builds); err != nil {
		t.Fatal(err)
	}
	return builds
}

// TestMergeThroughTheBotReleasesOnceThenSaysUpToDate runs imagebot's bot
// in-process (webhook, River queue, release job, real Packer build, local
// store) against GitLab's test server: the push webhook of a merge makes a
// release build and a published release; the same push again releases
// nothing and says so.
func TestMergeThroughTheBotReleasesOnceThenSaysUpToDate(t *testing.T) {
	repo := newRelRepo(t)
	rb := startRelBot(t, repo)
	gl, st, srvURL := rb.gl, rb.st, rb.url
	push := gitlabtest.Payload(t, "push.json", gitlabtest.Set("before", repo.before), gitlabtest.Set("after", repo.after),
		gitlabtest.Set("checkout_sha", repo.after), gitlabtest.Set("project.git_http_url", repo.dir),
		gitlabtest.Set("repository.git_http_url", repo.dir))
	deliver := func() {
		t.Helper()
		resp, err := http.DefaultClient.Do(gitlabtest.Request(t, srvURL+"/webhooks/gitlab", relSecret, gitlabtest.PushHook, "", push))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("push webhook answered %d", resp.StatusCode)
		}
	}

	deliver()
	waitUntil(t, "the release's success status", 4*time.Minute, func() bool {
		s := gl.LastStatus(repo.after, "imagebot/tiny")
		return s.State == "success" || s.State == "failed"
	})
	if s := gl.LastStatus(repo.after, "imagebot/tiny"); s.State != "success" || !strings.Contains(s.Description, "0.1.0 released") {
		t.Fatalf("release status = %+v", s)
	}
	v, err := store.ResolveVersion(context.Background(), st, "tiny", "latest")
	if err != nil {
		t.Fatal(err)
	}
	if m := v.Manifest; v.Name() != "0.1.0" || !m.Release || m.MergeCommit != repo.after || m.MR != 7 || m.PackerVersion == "" {
		t.Errorf("release manifest: %s", m.Raw)
	}
	// The release build is in the bot's build history (the web page's source).
	builds := apiBuilds(t, srvURL)
	if len(builds) != 1 || builds[0].Image != "tiny" || builds[0].SHA != repo.after || builds[0].Status != "succeeded" {
		t.Errorf("build history = %+v", builds)
	}
	// A release build records its details as an MR build does (tiny's disk
	// holds no filesystem: the note says so instead of a package diff).
	if len(builds) == 1 && (builds[0].Details == nil || !strings.Contains(builds[0].Details.DiffNote, "could not be read offline")) {
		t.Errorf("release build details = %+v", builds[0].Details)
	}
	waitUntil(t, "the release comment on !7", 30*time.Second, func() bool { return len(gl.Comments(gitlabtest.ProjectID, 7)) >= 1 })
	if c := gl.Comments(gitlabtest.ProjectID, 7); !strings.Contains(c[0].Body, "| tiny | 0.1.0 | building") {
		t.Errorf("release comment: %s", c[0].Body)
	}

	// The same push again (a new delivery): released already, nothing built.
	deliver()
	waitUntil(t, "the second release comment", time.Minute, func() bool { return len(gl.Comments(gitlabtest.ProjectID, 7)) >= 2 })
	if c := gl.Comments(gitlabtest.ProjectID, 7); !strings.Contains(c[1].Body, "already released with the same inputs; nothing to do") {
		t.Errorf("second release comment: %s", c[1].Body)
	}
	builds = apiBuilds(t, srvURL)
	if len(builds) != 1 {
		t.Errorf("the second push built again: %+v", builds)
	}
}

// TestMergeThroughTheBotPromotesTheMRBuild: `/build tiny` on the MR makes
// a real MR build; merging it (same inputs) promotes that build into the
// release: no second build, the release's files are the MR build's.
func TestMergeThroughTheBotPromotesTheMRBuild(t *testing.T) {
	repo := newRelRepo(t)
	hook := newHookReceiver(t)
	rb := startRelBot(t, repo, hook.configure)
	rb.gl.SetAccess("alice", gitlabtest.Developer)
	rb.gl.SetMergeRequest(gitlabtest.ProjectID, forge.MergeRequest{Number: 7, Title: "tiny: touch the provisioner", Author: "alice",
		HeadSHA: repo.head, HeadBranch: "feature", TargetBranch: "main", State: "opened"})
	send := func(event string, body []byte) {
		t.Helper()
		resp, err := http.DefaultClient.Do(gitlabtest.Request(t, rb.url+"/webhooks/gitlab", relSecret, event, "", body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	send(gitlabtest.NoteHook, gitlabtest.Payload(t, "note_mr.json",
		gitlabtest.Set("object_attributes.note", "/build tiny"), gitlabtest.Set("user.username", "alice"),
		gitlabtest.Set("project.git_http_url", repo.dir), gitlabtest.Set("merge_request.last_commit.id", repo.head),
		gitlabtest.Set("merge_request.source.git_http_url", repo.dir), gitlabtest.Set("merge_request.target.git_http_url", repo.dir)))
	waitUntil(t, "the MR build of tiny", 3*time.Minute, func() bool {
		bs := apiBuilds(t, rb.url)
		return len(bs) == 1 && bs[0].Done()
	})
	if bs := apiBuilds(t, rb.url); bs[0].Status != "succeeded" {
		t.Fatalf("MR build: %+v", bs[0])
	}
	mrBuild, err := store.ResolveVersion(context.Background(), rb.st, "tiny", "mr7-"+repo.head[:8])
	if err != nil {
		t.Fatal(err)
	}

	// Merged: GitLab sends the push of the merge commit.
	rb.gl.SetMergeRequest(gitlabtest.ProjectID, forge.MergeRequest{Number: 7, Title: "tiny: touch the provisioner", Author: "alice",
		HeadSHA: repo.head, HeadBranch: "feature", TargetBranch: "main", State: "merged", MergeCommit: repo.after})
	send(gitlabtest.PushHook, gitlabtest.Payload(t, "push.json", gitlabtest.Set("before", repo.before), gitlabtest.Set("after", repo.after),
		gitlabtest.Set("checkout_sha", repo.after), gitlabtest.Set("project.git_http_url", repo.dir),
		gitlabtest.Set("repository.git_http_url", repo.dir)))
	waitUntil(t, "the release's status", time.Minute, func() bool {
		return rb.gl.LastStatus(repo.after, "imagebot/tiny").State == "success"
	})
	if s := rb.gl.LastStatus(repo.after, "imagebot/tiny"); !strings.Contains(s.Description, "promoting") {
		t.Errorf("release status = %+v", s)
	}
	if bs := apiBuilds(t, rb.url); len(bs) != 1 {
		t.Errorf("the merge built again instead of promoting: %+v", bs)
	}
	rel, err := store.ResolveVersion(context.Background(), rb.st, "tiny", "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	m := rel.Manifest
	if m.SourceBuild == nil || m.SourceBuild.Path != mrBuild.Prefix || m.BuildID != mrBuild.Manifest.BuildID || m.MergeCommit != repo.after || !m.Release {
		t.Errorf("release manifest: %s", m.Raw)
	}
	if len(m.Files) == 0 || m.Files[0].SHA256 != mrBuild.Manifest.Files[0].SHA256 {
		t.Errorf("release files %+v differ from the MR build's %+v", m.Files, mrBuild.Manifest.Files)
	}
	// A promotion is a release too: the sinks hear of it (lifecycle.go).
	hook.wait(t, "release.published", "tiny", "0.1.0")
}

// TestMergeThroughTheBotOfAReleasedVersionIsRefused: 0.1.0 is released
// with other inputs; the merge is refused on the MR and by a failed status,
// and nothing is built.
func TestMergeThroughTheBotOfAReleasedVersionIsRefused(t *testing.T) {
	repo := newRelRepo(t)
	rb := startRelBot(t, repo)
	browsetest.Publish(t, rb.st, browsetest.Build{Ref: store.Release("tiny", "0.1.0"), Digest: "sha256:0ld1nputs", GitSHA: repo.before,
		Files: map[string][]byte{"tiny-0.1.0.qcow2": []byte("released long ago")}})
	resp, err := http.DefaultClient.Do(gitlabtest.Request(t, rb.url+"/webhooks/gitlab", relSecret, gitlabtest.PushHook, "",
		gitlabtest.Payload(t, "push.json", gitlabtest.Set("before", repo.before), gitlabtest.Set("after", repo.after),
			gitlabtest.Set("checkout_sha", repo.after), gitlabtest.Set("project.git_http_url", repo.dir),
			gitlabtest.Set("repository.git_http_url", repo.dir))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitUntil(t, "the refusal comment on !7", time.Minute, func() bool { return len(rb.gl.Comments(gitlabtest.ProjectID, 7)) == 1 })
	if c := rb.gl.Comments(gitlabtest.ProjectID, 7)[0]; !strings.Contains(c.Body, "**refused**") || !strings.Contains(c.Body, "bump the version in images/tiny/env.yaml") {
		t.Errorf("comment: %s", c.Body)
	}
	if s := rb.gl.LastStatus(repo.after, "imagebot/tiny"); s.State != "failed" || !strings.Contains(s.Description, "bump the version in images/tiny/env.yaml") {
		t.Errorf("status = %+v", s)
	}
	if bs := apiBuilds(t, rb.url); len(bs) != 0 {
		t.Errorf("a refused merge built: %+v", bs)
	}
}

// TestReleaseDuringAForgeOutageReportsAfterIt: the forge refuses every
// status and comment for a while (past the adapter's own retries); the
// release builds anyway, and its statuses and comment, kept in the
// outbox, arrive once the forge is back.
func TestReleaseDuringAForgeOutageReportsAfterIt(t *testing.T) {
	repo := newRelRepo(t)
	rb := startRelBot(t, repo)
	gl := rb.gl
	gl.Inject(gitlabtest.Fault{Method: "POST", PathContains: "/statuses/", Code: http.StatusBadGateway, Times: 12})
	gl.Inject(gitlabtest.Fault{Method: "POST", PathContains: "/notes", Code: http.StatusBadGateway, Times: 6})
	push := gitlabtest.Payload(t, "push.json", gitlabtest.Set("before", repo.before), gitlabtest.Set("after", repo.after),
		gitlabtest.Set("checkout_sha", repo.after), gitlabtest.Set("project.git_http_url", repo.dir),
		gitlabtest.Set("repository.git_http_url", repo.dir))
	resp, err := http.DefaultClient.Do(gitlabtest.Request(t, rb.url+"/webhooks/gitlab", relSecret, gitlabtest.PushHook, "", push))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitUntil(t, "the release's success status after the outage", 5*time.Minute, func() bool {
		return gl.LastStatus(repo.after, "imagebot/tiny").State == "success"
	})
	waitUntil(t, "the release comment on !7 after the outage", time.Minute, func() bool { return len(gl.Comments(gitlabtest.ProjectID, 7)) >= 1 })
	if c := gl.Comments(gitlabtest.ProjectID, 7); !strings.Contains(c[0].Body, "| tiny | 0.1.0 | building") {
		t.Errorf("release comment: %s", c[0].Body)
	}
	failed := 0
	for _, c := range gl.Calls() {
		if strings.HasPrefix(c, "POST ") && (strings.Contains(c, "/statuses/") || strings.HasSuffix(c, "/notes")) {
			failed++
		}
	}
	// 18 refused writes, then at least one status and the comment.
	if failed < 20 {
		t.Errorf("the outage did not happen as planned: %d status and comment calls", failed)
	}
}
