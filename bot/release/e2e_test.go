package release_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/gitlab"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
	"github.com/imagebot/imagebot/runner/store/miniotest"
	"github.com/imagebot/imagebot/runner/store/s3"
	"github.com/imagebot/imagebot/runner/testenv"
)

const (
	glToken  = "glpat-release-test-token"
	glSecret = "webhook-secret-for-release"
)

// imagesRepo is a git repository holding the tiny image: main at "before",
// then a merge of a branch that changed the image, as GitLab writes it.
type imagesRepo struct {
	dir, before, after string
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func newImagesRepo(t *testing.T) imagesRepo {
	return newImagesRepoMerged(t, "Merge branch 'feature' into 'main'\n\ntiny: touch the provisioner\n\nSee merge request infra/images!7")
}

// newImagesRepoMerged is newImagesRepo with the merge commit's message.
func newImagesRepoMerged(t *testing.T, mergeMessage string) imagesRepo {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/repo")); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "images/tiny/provisioner.sh"), 0o755)
	// A boot sector that loads an empty interrupt table and raises an
	// interrupt: the CPU triple-faults and QEMU, with -no-reboot, exits.
	raw := make([]byte, 1<<20)
	copy(raw, []byte{0x0f, 0x01, 0x1e, 0x10, 0x7c, 0xcd, 0x03})
	raw[510], raw[511] = 0x55, 0xaa
	os.MkdirAll(filepath.Join(dir, "disks"), 0o755)
	rawPath := filepath.Join(t.TempDir(), "boot.raw")
	if err := os.WriteFile(rawPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(testenv.Tool(t, "qemu-img"), "convert", "-q", "-O", "qcow2", rawPath, filepath.Join(dir, "disks/boot.qcow2")).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "tiny image")
	r := imagesRepo{dir: dir, before: git(t, dir, "rev-parse", "HEAD")}
	git(t, dir, "checkout", "-q", "-b", "feature")
	if err := os.WriteFile(filepath.Join(dir, "images/tiny/provisioner.sh"), []byte("#!/bin/sh\n# still nothing runs inside\ntrue\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "commit", "-q", "-am", "tiny: touch the provisioner")
	git(t, dir, "checkout", "-q", "main")
	git(t, dir, "merge", "-q", "--no-ff", "feature", "-m", mergeMessage)
	r.after = git(t, dir, "rev-parse", "HEAD")
	return r
}

// world is one merge, seen through GitLab's test server, released into a
// real MinIO with a real runner.
type world struct {
	repo     imagesRepo
	gl       *gitlabtest.Server
	forge    *gitlab.GitLab
	st       store.Store
	rel      *release.Releaser
	cat      *catalog.Catalog
	builds   atomic.Int32 // Packer runs
	runner   *runner.Runner
	buildErr error
}

// countingBuilder counts the builds that reach Packer.
type countingBuilder struct {
	w *world
}

func (c countingBuilder) Build(ctx context.Context, cat *catalog.Catalog, req runner.Request, onEvent runner.EventFunc) (*runner.Result, error) {
	c.w.builds.Add(1)
	return c.w.runner.Build(ctx, cat, req, onEvent)
}

// syncQueue runs a queued release build at once, as the bot's release job
// would: BuildRelease over the checkout of the merge commit.
type syncQueue struct {
	w *world
	t *testing.T
}

func (q syncQueue) QueueRelease(ctx context.Context, req release.BuildRequest) error {
	out := filepath.Join(q.t.TempDir(), "out")
	_, err := q.w.rel.BuildRelease(ctx, countingBuilder{q.w}, q.w.cat, req, "rel-"+req.Image+"-"+req.Version, out, []string{glToken}, nil)
	q.w.buildErr = err
	return nil // queued; the build's own result goes to the commit status
}

func newWorld(t *testing.T, repo imagesRepo) *world {
	t.Helper()
	w := &world{repo: repo}
	w.gl = gitlabtest.New(t, glToken)
	w.gl.SetMergeRequest(gitlabtest.ProjectID, forge.MergeRequest{Number: 7, Title: "tiny: touch the provisioner", Author: "alice",
		HeadSHA: git(t, repo.dir, "rev-parse", "feature"), HeadBranch: "feature", TargetBranch: "main", State: "merged", MergeCommit: repo.after})
	var err error
	w.forge, err = gitlab.New(gitlab.Config{BaseURL: w.gl.URL, Token: glToken, WebhookSecret: glSecret, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	mio := miniotest.Start(t)
	t.Setenv(store.DefaultAccessKeyEnv, mio.AccessKey)
	t.Setenv(store.DefaultSecretKeyEnv, mio.SecretKey)
	w.st, err = s3.New(context.Background(), store.S3Config{Endpoint: mio.Endpoint, Bucket: mio.Bucket, Insecure: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp("/tmp", "ibr") // short: packer's sockets live in TMPDIR
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	base := t.TempDir()
	w.runner, err = runner.New(runner.Config{Packer: testenv.Tool(t, "packer"), WorkDir: filepath.Join(base, "work"),
		CacheDir: filepath.Join(base, "cache"), Accelerator: "tcg", Grace: 30 * time.Second, Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	var diags catalog.Diagnostics
	w.cat, diags = catalog.Load(repo.dir)
	if diags.HasErrors() {
		t.Fatalf("catalog: %v", diags)
	}
	w.rel = &release.Releaser{Store: w.st, Forge: w.forge, Queue: syncQueue{w, t}, PageURL: "http://imagebot.test/images", Log: zerolog.New(zerolog.NewTestWriter(t))}
	return w
}

// merge delivers GitLab's push webhook for the merge, signed, through the
// GitLab adapter, and hands the event to the release flow.
func (w *world) merge(t *testing.T) []release.Decision {
	t.Helper()
	body := gitlabtest.Payload(t, "push.json", gitlabtest.Set("before", w.repo.before), gitlabtest.Set("after", w.repo.after),
		gitlabtest.Set("checkout_sha", w.repo.after))
	req := gitlabtest.Request(t, "http://imagebot.test/webhooks/gitlab", glSecret, gitlabtest.PushHook, "", body)
	ev, err := w.forge.ParseWebhook(req, body)
	if err != nil {
		t.Fatalf("parse the push webhook: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ds, err := w.rel.HandlePush(ctx, ev, func(ctx context.Context, repo forge.Repo, sha, before string) (string, error) {
		if repo.FullName != gitlabtest.ProjectPath || sha != w.repo.after || before != w.repo.before {
			t.Errorf("checkout of %s %s (before %s)", repo.FullName, sha, before)
		}
		return w.repo.dir, nil
	})
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	if len(ds) != 1 || ds[0].Image != "tiny" {
		t.Fatalf("decisions = %+v, want one for tiny", ds)
	}
	return ds
}

func TestMergeReleasesThroughGitLab(t *testing.T) {
	repo := newImagesRepo(t)

	t.Run("ChangedImageGetsReleaseBuildAndPublishedRelease", func(t *testing.T) {
		w := newWorld(t, repo)
		ds := w.merge(t)
		if ds[0].Action != release.Build || w.buildErr != nil || w.builds.Load() != 1 {
			t.Fatalf("decision %s, build error %v, %d Packer runs", ds[0].Action, w.buildErr, w.builds.Load())
		}
		v, err := store.ResolveVersion(context.Background(), w.st, "tiny", "latest")
		if err != nil {
			t.Fatal(err)
		}
		m := v.Manifest
		if v.Name() != "0.1.0" || !m.Release || m.MergeCommit != repo.after || m.MR != 7 || m.InputsDigest != w.cat.Images["tiny"].Digest || m.SourceBuild != nil {
			t.Errorf("release manifest: %s", m.Raw)
		}
		qcow, err := m.FileByFormat("qcow2")
		if err != nil || qcow.Size == 0 {
			t.Fatalf("release qcow2: %+v %v", qcow, err)
		}
		// Packer really ran: its output is the release's build log.
		rc, _, err := w.st.Get(context.Background(), v.Prefix+store.LogName)
		if err != nil {
			t.Fatalf("release build log: %v", err)
		}
		logText, _ := io.ReadAll(rc)
		rc.Close()
		if !strings.Contains(string(logText), "qemu.tiny") || m.PackerVersion == "" {
			t.Errorf("the release's log does not show a Packer build (packer %q):\n%s", m.PackerVersion, logText)
		}
		if strings.Contains(string(logText), glToken) || strings.Contains(string(m.Raw), glToken) {
			t.Error("the forge token reached the release")
		}
		if st := w.gl.LastStatus(repo.after, "imagebot/tiny"); st.State != "success" || !strings.Contains(st.Description, "0.1.0 released") {
			t.Errorf("status on the merge commit = %+v", st)
		}
		if c := w.gl.Comments(gitlabtest.ProjectID, 7); len(c) != 1 || !strings.Contains(c[0].Body, "| tiny | 0.1.0 | building") {
			t.Errorf("comments on !7 = %+v", c)
		}
	})

	t.Run("MatchingMRBuildIsPromotedWithoutPacker", func(t *testing.T) {
		w := newWorld(t, repo)
		head := git(t, repo.dir, "rev-parse", "feature")
		src := browsetest.Publish(t, w.st, browsetest.Build{Ref: store.MRBuild("tiny", 7, head), Version: "0.1.0",
			Digest: w.cat.Images["tiny"].Digest, GitSHA: head, Files: map[string][]byte{"tiny-0.1.0.qcow2": []byte("the MR build's disk")}, Log: "built on the MR\n"})
		ds := w.merge(t)
		if ds[0].Action != release.Promote || w.builds.Load() != 0 {
			t.Fatalf("decision %s with %d Packer runs, want a promotion and none", ds[0].Action, w.builds.Load())
		}
		v, err := store.ResolveVersion(context.Background(), w.st, "tiny", "0.1.0")
		if err != nil {
			t.Fatal(err)
		}
		m := v.Manifest
		if m.SourceBuild == nil || m.SourceBuild.Path != store.MRBuild("tiny", 7, head).Prefix() || m.SourceBuild.BuildID != src.BuildID ||
			m.MergeCommit != repo.after || !m.Release || m.MR != 7 {
			t.Errorf("release manifest: %s", m.Raw)
		}
		var got strings.Builder
		if _, err := store.DownloadVersion(context.Background(), w.st, v, "qcow2", &got); err != nil || got.String() != "the MR build's disk" {
			t.Errorf("promoted qcow2 = %q, %v", got.String(), err)
		}
		if st := w.gl.LastStatus(repo.after, "imagebot/tiny"); st.State != "success" || !strings.Contains(st.Description, "promoting") {
			t.Errorf("status = %+v", st)
		}
	})

	t.Run("ReleasedVersionWithOtherDigestIsRefused", func(t *testing.T) {
		w := newWorld(t, repo)
		browsetest.Publish(t, w.st, browsetest.Build{Ref: store.Release("tiny", "0.1.0"), Digest: "sha256:0ld1nputs", GitSHA: repo.before,
			Files: map[string][]byte{"tiny-0.1.0.qcow2": []byte("released long ago")}})
		ds := w.merge(t)
		if ds[0].Action != release.Refuse || w.builds.Load() != 0 {
			t.Fatalf("decision %s with %d Packer runs", ds[0].Action, w.builds.Load())
		}
		st := w.gl.LastStatus(repo.after, "imagebot/tiny")
		if st.State != "failed" || !strings.Contains(st.Description, "bump the version in images/tiny/env.yaml") {
			t.Errorf("status on the merge commit = %+v", st)
		}
		c := w.gl.Comments(gitlabtest.ProjectID, 7)
		if len(c) != 1 || !strings.Contains(c[0].Body, "**refused**") || !strings.Contains(c[0].Body, "bump the version in images/tiny/env.yaml") {
			t.Errorf("comments on !7 = %+v", c)
		}
		v, _ := store.ResolveVersion(context.Background(), w.st, "tiny", "0.1.0")
		if v.Manifest == nil || v.Manifest.InputsDigest != "sha256:0ld1nputs" {
			t.Error("the existing release was changed")
		}
	})
}
