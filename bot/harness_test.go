package bot_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/gitlab"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
	"github.com/imagebot/imagebot/runner/testenv"
)

const (
	apiToken      = "glpat-Test-T0ken-4471"
	webhookSecret = "hook-S3cret-9921"
	gitUser       = "oauth2"
)

// imagesRepo is a real git repository of testdata/repo (tiny and hang
// images, boot disks made here) served over smart HTTP with the forge
// token as its password, as GitLab serves clones.
type imagesRepo struct {
	dir string
	url string
	mu  sync.Mutex
	// fetches counts authenticated git requests.
	fetches int
	// auth, when set, checks a clone's credentials instead of the forge
	// token (a GitHub App's installation tokens).
	auth func(user, pass string) bool
}

func newImagesRepo(t *testing.T) *imagesRepo {
	t.Helper()
	return newImagesRepoFrom(t, "testdata/repo")
}

// newImagesRepoFrom makes the repository from the files under src.
func newImagesRepoFrom(t *testing.T, src string) *imagesRepo {
	t.Helper()
	gitBin := testenv.Tool(t, "git")
	qemuImg := testenv.Tool(t, "qemu-img")
	root := t.TempDir()
	dir := filepath.Join(root, "images.git")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	provs, _ := filepath.Glob(filepath.Join(dir, "images", "*", "provisioner.sh"))
	for _, p := range provs {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Boot sectors: "boot" triple-faults at once (QEMU -no-reboot exits),
	// "hang" spins forever, "slow" waits 8 s (int 15h, ah=86h) and then
	// triple-faults.
	boot := make([]byte, 1<<20)
	copy(boot, []byte{0xFA, 0x0F, 0x01, 0x1E, 0x10, 0x7C, 0xCC, 0xEB, 0xFE})
	hang := make([]byte, 1<<20)
	copy(hang, []byte{0xEB, 0xFE})
	slow := make([]byte, 1<<20)
	copy(slow, []byte{0xB4, 0x86, 0xB9, 0x7A, 0x00, 0xBA, 0x00, 0x12, 0xCD, 0x15, 0xFA, 0x0F, 0x01, 0x1E, 0x20, 0x7C, 0xCC, 0xEB, 0xFE})
	for name, disk := range map[string][]byte{"boot": boot, "hang": hang, "slow": slow} {
		disk[510], disk[511] = 0x55, 0xAA
		raw := filepath.Join(root, name+".raw")
		if err := os.WriteFile(raw, disk, 0o644); err != nil {
			t.Fatal(err)
		}
		_ = os.MkdirAll(filepath.Join(dir, "disks"), 0o755)
		if out, err := exec.Command(qemuImg, "convert", "-f", "raw", "-O", "qcow2", raw, filepath.Join(dir, "disks", name+".qcow2")).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img: %v: %s", err, out)
		}
	}
	r := &imagesRepo{dir: dir}
	r.git(t, gitBin, "init", "-q", "-b", "main")
	r.git(t, gitBin, "config", "uploadpack.allowAnySHA1InWant", "true")
	r.git(t, gitBin, "config", "http.receivepack", "false")
	r.commit(t, "images: tiny and hang")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		user, pass, ok := req.BasicAuth()
		r.mu.Lock()
		auth := r.auth
		r.mu.Unlock()
		if auth == nil {
			auth = func(user, pass string) bool { return (user == gitUser || user == "x-access-token") && pass == apiToken }
		}
		if !ok || !auth(user, pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="GitLab"`)
			http.Error(w, "HTTP Basic: Access denied", http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		r.fetches++
		r.mu.Unlock()
		h := &cgi.Handler{Path: gitBin, Args: []string{"http-backend"}, Dir: root,
			Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=" + user}}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/images.git"
	return r
}

func (r *imagesRepo) git(t *testing.T, gitBin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(gitBin, args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Alice", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice", "GIT_COMMITTER_EMAIL=alice@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits everything and returns the new head.
func (r *imagesRepo) commit(t *testing.T, msg string) string {
	t.Helper()
	gitBin := testenv.Tool(t, "git")
	r.git(t, gitBin, "add", "-A")
	r.git(t, gitBin, "commit", "-q", "--allow-empty", "-m", msg)
	return r.git(t, gitBin, "rev-parse", "HEAD")
}

// botConfig is a configuration for a bot under test in dataDir.
func botConfig(t testing.TB, dataDir, gitlabURL string) config.Config {
	t.Helper()
	t.Setenv("IMAGEBOT_GITLAB_TOKEN", apiToken)
	t.Setenv("IMAGEBOT_GITLAB_WEBHOOK_SECRET", webhookSecret)
	t.Setenv("IMAGEBOT_GITLAB_BASE_URL", gitlabURL)
	t.Setenv("IMAGEBOT_GITLAB_BOT_USER", "imagebot")
	t.Setenv("IMAGEBOT_DATA_DIR", dataDir)
	t.Setenv("IMAGEBOT_REPORT_MIN_EDIT_INTERVAL", "300ms")
	cfg, err := config.Load("", os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testBot is imagebot serve in-process: the real bot, GitLab adapter,
// runner (Packer + QEMU) and local store, behind an httptest server.
type testBot struct {
	bot *bot.Bot
	srv *httptest.Server
	gl  *gitlabtest.Server
	cfg config.Config
}

func startBot(t *testing.T, gl *gitlabtest.Server) *testBot {
	t.Helper()
	return startBotFor(t, gl, gl.URL, gitlabForge(t, gl))
}

func gitlabForge(t *testing.T, gl *gitlabtest.Server) func(zerolog.Logger) forge.Forge {
	return func(log zerolog.Logger) forge.Forge {
		g, err := gitlab.New(gitlab.Config{BaseURL: gl.URL, Token: apiToken, WebhookSecret: webhookSecret, BotUser: "imagebot", Log: log})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
}

// startBotFor starts the bot with one forge adapter, made by newForge.
// opts are func(*runner.Config) and func(*bot.Deps).
func startBotFor(t *testing.T, gl *gitlabtest.Server, forgeURL string, newForge func(zerolog.Logger) forge.Forge, opts ...any) *testBot {
	t.Helper()
	packerBin := testenv.Tool(t, "packer")
	testenv.Tool(t, "qemu-system-x86_64")
	tmp, err := os.MkdirTemp("/tmp", "ibb") // short: packer keeps sockets in TMPDIR
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	data := t.TempDir()
	cfg := botConfig(t, data, forgeURL)
	tb := &testBot{gl: gl}
	mux := http.NewServeMux()
	tb.srv = httptest.NewServer(mux)
	t.Cleanup(tb.srv.Close)
	cfg.SetListen(strings.TrimPrefix(tb.srv.URL, "http://"))
	tb.cfg = cfg
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	g := newForge(log)
	rc := runner.Config{Packer: packerBin, WorkDir: filepath.Join(data, "runner"), CacheDir: filepath.Join(data, "cache"),
		Accelerator: "tcg", Log: log}
	for _, o := range opts {
		if f, ok := o.(func(*runner.Config)); ok {
			f(&rc)
		}
	}
	r, err := runner.New(rc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := local.New(store.LocalConfig{Dir: filepath.Join(data, "artifacts"), BaseURL: tb.srv.URL + "/download"})
	if err != nil {
		t.Fatal(err)
	}
	deps := bot.Deps{
		Config: cfg, Log: log, Forges: map[string]forge.Forge{g.Name(): g},
		Builder: r, Publish: &bot.StorePublisher{Store: st, Log: log},
		Catalog: func(ctx context.Context, root string) (*catalog.Catalog, error) {
			cat, diags := catalog.LoadContext(ctx, root)
			if diags.HasErrors() {
				return nil, diags.Err()
			}
			return cat, nil
		},
	}
	for _, o := range opts {
		if f, ok := o.(func(*bot.Deps)); ok {
			f(&deps)
		}
	}
	b, err := bot.New(context.Background(), deps)
	if err != nil {
		t.Fatal(err)
	}
	srv := bot.NewServer(b)
	srv.Mount("/download/", http.StripPrefix("/download/", store.Handler(st)))
	mux.Handle("/", srv)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	tb.bot = b
	return tb
}

// note is a signed GitLab note webhook on MR !7 of infra/images at sha.
func note(t *testing.T, repo *imagesRepo, user, comment, sha string) []byte {
	return gitlabtest.Payload(t, "note_mr.json",
		gitlabtest.Set("object_attributes.note", comment), gitlabtest.Set("user.username", user),
		gitlabtest.Set("project.git_http_url", repo.url), gitlabtest.Set("merge_request.last_commit.id", sha),
		gitlabtest.Set("merge_request.source.git_http_url", repo.url), gitlabtest.Set("merge_request.target.git_http_url", repo.url))
}

// send posts a webhook and returns the status code.
func send(t *testing.T, url, secret, event, delivery string, body []byte) int {
	t.Helper()
	req := gitlabtest.Request(t, url+"/webhooks/gitlab", secret, event, delivery, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// setMR tells the GitLab test server what the MR looks like.
func setMR(gl *gitlabtest.Server, author, sha string) {
	gl.SetMergeRequest(gitlabtest.ProjectID, forge.MergeRequest{Number: gitlabtest.MRIID, Title: "rocky9: take kernel",
		Author: author, HeadSHA: sha, HeadBranch: "rocky9-kernel", TargetBranch: "main", State: "opened"})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// comment returns the bot's one comment on MR !7 ("" when none), failing
// when there is more than one.
func comment(t *testing.T, gl *gitlabtest.Server) string {
	t.Helper()
	notes := gl.Comments(gitlabtest.ProjectID, gitlabtest.MRIID)
	if len(notes) > 1 {
		t.Fatalf("%d bot comments on the MR, want one edited in place", len(notes))
	}
	if len(notes) == 0 {
		return ""
	}
	return notes[0].Body
}

func fileBytes(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return b.Bytes()
}

var _ = base64.StdEncoding
