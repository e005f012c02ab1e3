package builds

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/bot/report/outbox"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
	"github.com/imagebot/imagebot/runner/testenv"
)

// cloneOnly is the forge as the build stages use it: clone credentials.
// The build stages write nothing to a forge (the outbox does).
type cloneOnly struct{ forge.Forge }

func (cloneOnly) CloneAuth() (string, string) { return "", "" }

// statuses records the release's commit statuses (bot/release's notifier).
type statuses struct {
	mu   sync.Mutex
	list []forge.Status
}

func (s *statuses) SetStatus(_ context.Context, _ forge.Repo, _ string, st forge.Status) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, st)
	return nil
}

func (s *statuses) Comment(context.Context, forge.Repo, int, string) error { return nil }

// tinyRepo is a git repository holding bot/release's tiny image (a real
// QEMU build whose machine stops at once), its env.yaml given extra lines.
func tinyRepo(t *testing.T, envExtra string) (dir, sha string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "images")
	if err := os.CopyFS(dir, os.DirFS("../release/testdata/repo")); err != nil {
		t.Fatal(err)
	}
	env := filepath.Join(dir, "images/tiny/env.yaml")
	data, err := os.ReadFile(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(env, append(data, envExtra...), 0o644); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 1<<20) // boot sector: empty IDT, int 3: triple fault, QEMU exits
	copy(raw, []byte{0x0f, 0x01, 0x1e, 0x10, 0x7c, 0xcd, 0x03})
	raw[510], raw[511] = 0x55, 0xaa
	rawPath := filepath.Join(t.TempDir(), "boot.raw")
	if err := os.WriteFile(rawPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "disks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(testenv.Tool(t, "qemu-img"), "convert", "-q", "-f", "raw", "-O", "qcow2", rawPath,
		filepath.Join(dir, "disks/boot.qcow2")).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	git := func(args ...string) string {
		cmd := exec.Command(testenv.Tool(t, "git"), append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Alice", "GIT_AUTHOR_EMAIL=alice@example.com",
			"GIT_COMMITTER_NAME=Alice", "GIT_COMMITTER_EMAIL=alice@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	_ = os.Chmod(filepath.Join(dir, "images/tiny/provisioner.sh"), 0o755)
	git("init", "-q", "-b", "main")
	git("config", "uploadpack.allowAnySHA1InWant", "true")
	git("add", "-A")
	git("commit", "-q", "-m", "tiny image")
	return dir, git("rev-parse", "HEAD")
}

// TestMRAndReleasePipelinesRecordStepsMetricsAndCheckSecrets runs both
// stage lists over real stages: git checkout, catalog, a real Packer QEMU
// build, the local store. Each records its step timeline, counts the build
// metric, and refuses a build whose manifest holds a configured secret
// before anything is published.
func TestMRAndReleasePipelinesRecordStepsMetricsAndCheckSecrets(t *testing.T) {
	const secret = "glpat-Pipeline-S3cret-4410"
	packerBin := testenv.Tool(t, "packer")
	testenv.Tool(t, "qemu-system-x86_64")
	tmp, err := os.MkdirTemp("/tmp", "ibp") // short paths for QEMU's sockets
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	for _, tc := range []struct {
		name      string
		release   bool
		envExtra  string
		status    string
		errHas    string
		published bool
	}{
		{name: "mr", status: "succeeded", published: true},
		{name: "release", release: true, status: "succeeded", published: true},
		{name: "mr with a secret in its manifest", envExtra: "labels: {owner: " + secret + "}\n",
			status: "failed", errHas: "secret"},
		{name: "release with a secret in its manifest", release: true, envExtra: "labels: {owner: " + secret + "}\n",
			status: "failed", errHas: "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			data := t.TempDir()
			log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
			workers := river.NewWorkers() // registered, not worked: the MR report jobs are only queued
			river.AddWorker(workers, outbox.New(nil, func() string { return "x" }, outbox.Config{}).ReportWorker())
			q, err := queue.Open(ctx, queue.Options{Path: filepath.Join(data, "imagebot.db"), Workers: workers, Log: log})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { q.Close(context.Background()) })
			if err := state.Migrate(ctx, q); err != nil {
				t.Fatal(err)
			}
			r, err := runner.New(runner.Config{Packer: packerBin, WorkDir: filepath.Join(data, "runner"),
				CacheDir: filepath.Join(data, "cache"), Accelerator: "tcg", Log: log})
			if err != nil {
				t.Fatal(err)
			}
			st, err := local.New(store.LocalConfig{Dir: filepath.Join(data, "artifacts"), BaseURL: "http://127.0.0.1/download"})
			if err != nil {
				t.Fatal(err)
			}
			notes := &statuses{}
			m := Metrics{
				Builds:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "b"}, []string{"image", "status"}),
				Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "d"}, []string{"image"}),
			}
			p := NewPipeline(Deps{Queue: q, Forges: map[string]forge.Forge{"gitlab": cloneOnly{}},
				Git: NewGitFetcher("", data, log), Builder: r, Publish: &StorePublisher{Store: st, Log: log}, Store: st,
				Releaser: func(string, forge.Forge, forge.Repo) (*release.Releaser, error) {
					return &release.Releaser{Store: st, Notify: notes, Log: log}, nil
				},
				Catalog: func(ctx context.Context, root string) (*catalog.Catalog, error) {
					cat, diags := catalog.LoadContext(ctx, root)
					if diags.HasErrors() {
						return nil, diags.Err()
					}
					return cat, nil
				},
				Secrets: func() []string { return []string{secret} }, WorkDir: data, Metrics: m, Log: log})

			dir, sha := tinyRepo(t, tc.envExtra)
			repo := forge.Repo{FullName: "infra/images", CloneURL: dir}
			j := &Job{ID: "b1", Kind: state.KindMR, Forge: "gitlab", Repo: repo, RepoKey: "gitlab-infra/images", CloneURL: dir,
				SHA: sha, Image: "tiny", MR: 7, Attempt: 1, Report: true,
				Request: runner.Request{Image: "tiny", GitSHA: sha, MR: 7, WithBases: true}}
			stages := MRStages()
			if tc.release {
				req := release.BuildRequest{Repo: repo, MR: 7, MergeCommit: sha, Image: "tiny", Version: "0.1.0"}
				j.Kind, j.Report, j.Note, j.Release = state.KindRelease, false, "release 0.1.0", &req
				j.Request = runner.Request{Image: "tiny", Version: "0.1.0"}
				stages = ReleaseStages()
			}
			err = q.InTx(ctx, func(tx queue.Tx) error {
				return state.InsertBuild(ctx, tx, state.NewBuild{ID: j.ID, Forge: "gitlab", Repo: repo, MR: 7, SHA: sha,
					Image: "tiny", Kind: j.Kind, Note: j.Note})
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Run(ctx, j, stages); err != nil {
				t.Fatal(err)
			}

			var got state.Build
			err = q.InTx(ctx, func(tx queue.Tx) error {
				var err error
				if got, err = state.GetBuild(ctx, tx, j.ID); err != nil {
					return err
				}
				got.Steps, err = state.BuildSteps(ctx, tx, j.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.status || !strings.Contains(got.Error, tc.errHas) {
				t.Errorf("build %s (%q), want %s with an error naming %q", got.Status, got.Error, tc.status, tc.errHas)
			}
			if strings.Contains(got.Error+got.LogTail, secret) {
				t.Errorf("the build's error or log tail holds the secret: %q", got.Error)
			}
			var names []string
			for _, s := range got.Steps {
				names = append(names, s.Name)
			}
			if len(names) < 3 || names[0] != "fetch" || names[1] != "validate" {
				t.Errorf("steps %q, want fetch, validate, then the runner's steps", names)
			}
			var c dto.Metric
			if err := m.Builds.WithLabelValues("tiny", tc.status).Write(&c); err != nil {
				t.Fatal(err)
			}
			if n := c.GetCounter().GetValue(); n != 1 {
				t.Errorf("imagebot_builds_total{image=tiny,status=%s} = %v, want 1", tc.status, n)
			}
			prefix := store.MRBuild("tiny", 7, sha).Prefix()
			if tc.release {
				prefix = store.Release("tiny", "0.1.0").Prefix()
			}
			objs, err := st.List(ctx, prefix)
			if err != nil {
				t.Fatal(err)
			}
			if published := len(objs) > 0; published != tc.published {
				t.Errorf("published %v (%d objects under %s), want %v", published, len(objs), prefix, tc.published)
			}
		})
	}
}
