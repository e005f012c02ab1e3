package bot

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/packer"
)

type releaseWorker struct {
	river.WorkerDefaults[ReleaseArgs]
	b *Bot
}

// Timeout is off: the runner enforces each image's own deadline.
func (w *releaseWorker) Timeout(*river.Job[ReleaseArgs]) time.Duration { return -1 }

// releaser is the release flow over forge f, queueing through the bot.
func (b *Bot) releaser(forgeName string, f forge.Forge, repo forge.Repo) (*release.Releaser, error) {
	st, err := repoStore(b.deps.Store, b.deps.RepoPrefix, forgeName, repo.FullName)
	if err != nil {
		return nil, err
	}
	r := &release.Releaser{Store: st, Forge: f, Queue: releaseQueue{b, forgeName},
		Notify:  b.outbox.For(forgeName),
		PageURL: b.cfg.UI.PublicURL + "/images", Log: b.log.With().Str("forge", forgeName).Logger(),
		Attester: b.deps.Attester}
	if b.cfg.VSphereEnabled() {
		v := b.cfg.VSphere
		r.VSphere = &v
	}
	return r, nil
}

// releasePush runs the release flow for a push to the default branch.
func (b *Bot) releasePush(ctx context.Context, f forge.Forge, ev forge.Event) error {
	checkout := func(ctx context.Context, repo forge.Repo, sha, before string) (string, error) {
		return b.checkoutPair(ctx, f, ev.Forge, repo, sha, before)
	}
	r, err := b.releaser(ev.Forge, f, ev.Repo)
	if err != nil {
		return err
	}
	_, err = r.HandlePush(ctx, ev, checkout)
	return err
}

// checkoutPair checks sha out and brings before's commit into the same
// repository (both shallow), so the two can be diffed.
func (b *Bot) checkoutPair(ctx context.Context, f forge.Forge, forgeName string, repo forge.Repo, sha, before string) (string, error) {
	user, token := f.CloneAuth()
	key := forgeName + "-" + repo.FullName
	dir, err := b.git.Checkout(ctx, key, repo.CloneURL, sha, user, token)
	if err != nil || strings.Trim(before, "0") == "" {
		return dir, err
	}
	old, err := b.git.Checkout(ctx, key, repo.CloneURL, before, user, token)
	if err != nil {
		return "", err
	}
	bin := b.cfg.Builds.Git
	if bin == "" {
		bin = "git"
	}
	cmd := exec.CommandContext(ctx, bin, "-C", dir, "fetch", "-q", "--depth", "1", "--no-tags", "--", old, before)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bring %s beside %s: %v: %s", forge.ShortSHA(before), forge.ShortSHA(sha), err, strings.TrimSpace(string(out)))
	}
	return dir, nil
}

// releaseQueue queues release builds as durable jobs, recorded as builds
// so the web page shows them.
type releaseQueue struct {
	b     *Bot
	forge string
}

func (q releaseQueue) QueueRelease(ctx context.Context, req release.BuildRequest) error {
	b := q.b
	args := ReleaseArgs{BuildID: newID(), Forge: q.forge, RepoName: req.Repo.FullName, SHA: req.MergeCommit,
		Image: req.Image, Version: req.Version, Digest: req.Digest, Request: req}
	return b.q.InTx(ctx, func(tx queue.Tx) error {
		res, err := tx.Insert(ctx, args, jobs.BuildOpts("kvm"))
		if err != nil {
			return fmt.Errorf("enqueue release of %s %s: %w", req.Image, req.Version, err)
		}
		if res.UniqueSkippedAsDuplicate {
			return nil
		}
		return state.InsertBuild(ctx, tx, state.NewBuild{ID: args.BuildID, JobID: res.Job.ID, Forge: q.forge, Repo: req.Repo,
			MR: req.MR, SHA: req.MergeCommit, Image: req.Image, Digest: req.Digest, Note: "release " + req.Version,
			TriggeredBy: req.TriggeredBy, Kind: kindRelease, Version: req.Version})
	})
}

// Work builds and publishes one release; the release's commit statuses
// are decided by bot/release and delivered through the outbox
// (bot/report/outbox), the build row shows it on the web page.
func (w *releaseWorker) Work(ctx context.Context, job *river.Job[ReleaseArgs]) error {
	b, a := w.b, job.Args
	log := b.log.With().Str("build", a.BuildID).Str("image", a.Image).Str("release", a.Version).Logger()
	set := func(changes ...state.Change) {
		bg := context.WithoutCancel(ctx)
		err := b.q.InTx(bg, func(tx queue.Tx) error { return state.UpdateBuild(bg, tx, a.BuildID, changes...) })
		if err != nil {
			log.Warn().Err(err).Msg("record release build")
		}
	}
	// setStep records a step: the build's current one and its timeline.
	setStep := func(step string, first bool) {
		bg := context.WithoutCancel(ctx)
		st := StepRecord{Name: b.redact(strings.TrimSpace(step)), Started: time.Now()}
		err := b.q.InTx(bg, func(tx queue.Tx) error {
			if err := state.UpdateBuild(bg, tx, a.BuildID, state.Step(st.Name)); err != nil {
				return err
			}
			if first {
				return state.ResetSteps(bg, tx, a.BuildID, st)
			}
			return state.RecordSteps(bg, tx, a.BuildID, []StepRecord{st})
		})
		if err != nil {
			log.Warn().Err(err).Msg("record release build step")
		}
	}
	f, err := b.forge(a.Forge)
	if err != nil {
		return err
	}
	tail := newLogTail(b.cfg.Report.LogTailLines)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer b.track(a.BuildID, cancel, tail)()
	set(state.Status(statusRunning), state.Started(time.Now()), state.Error(""))
	setStep("fetch", true)
	status, msg := string(runner.StatusSucceeded), ""
	res, err := w.build(ctx, f, a, tail, set, func(s string) { setStep(s, false) })
	if err != nil {
		status, msg = string(runner.StatusFailed), err.Error()
		if res != nil && res.Status != runner.StatusSucceeded {
			status = string(res.Status)
		}
	}
	set(state.Status(status), state.Error(b.redact(msg)), state.Finished(time.Now()), state.LogTail(b.redact(tail.String())))
	log.Info().Str("status", status).Str("error", b.redact(msg)).Msg("release build finished")
	return nil
}

func (w *releaseWorker) build(ctx context.Context, f forge.Forge, a ReleaseArgs, tail *logTail, set func(...state.Change), setStep func(string)) (*runner.Result, error) {
	b := w.b
	if b.deps.Builder == nil {
		return nil, fmt.Errorf("this imagebot builds nothing")
	}
	user, token := f.CloneAuth()
	dir, err := b.git.Checkout(ctx, a.Forge+"-"+a.RepoName, a.Request.Repo.CloneURL, a.SHA, user, token)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", forge.ShortSHA(a.SHA), err)
	}
	setStep("validate")
	cat, err := b.deps.Catalog(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("the images at %s do not validate; nothing was built:\n%w", forge.ShortSHA(a.SHA), err)
	}
	out := filepath.Join(b.cfg.Builds.WorkDir, "out", a.BuildID)
	if err := os.MkdirAll(out, 0o750); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	set(state.LogPath(filepath.Join(out, "build.log")))
	r, err := b.releaser(a.Forge, f, a.Request.Repo)
	if err != nil {
		return nil, err
	}
	res, err := r.BuildRelease(ctx, b.deps.Builder, cat, a.Request, a.BuildID, out, b.secrets(), func(e packer.Event) {
		if e.Text != "" {
			tail.Add(e.Text)
		}
		if e.Kind == packer.EventStep {
			setStep(e.Text)
		}
	})
	if res != nil {
		for _, f := range res.Files { // published (or failed): build.log stays for the log API
			if f.Path != res.LogPath {
				_ = os.Remove(f.Path)
			}
		}
	}
	return res, err
}
