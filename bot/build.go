package bot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/packer"
	"github.com/imagebot/imagebot/runner/redact"
	"github.com/imagebot/imagebot/runner/store"
)

type buildWorker struct {
	river.WorkerDefaults[BuildArgs]
	b *Bot
}

// Timeout is off: the runner enforces each image's own deadline.
func (w *buildWorker) Timeout(*river.Job[BuildArgs]) time.Duration { return -1 }

// errShutdown makes River keep a build that imagebot's own shutdown
// interrupted: it is retried (re-run) after the restart.
var errShutdown = errors.New("imagebot stopped while the build ran; it re-runs after the restart")

// track makes a build running in this process cancellable and its log tail
// readable; the func it returns undoes that and closes tail.
func (b *Bot) track(id string, cancel context.CancelFunc, tail *logTail) func() {
	b.mu.Lock()
	b.running[id], b.tails[id] = cancel, tail
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.running, id)
		delete(b.tails, id)
		b.mu.Unlock()
		tail.close()
	}
}

// Work builds one image of one MR commit: fetch, validate, build, publish,
// record; each step is reported.
func (w *buildWorker) Work(ctx context.Context, job *river.Job[BuildArgs]) error {
	b, a := w.b, job.Args
	log := b.log.With().Str("build", a.BuildID).Str("image", a.Image).Str("sha", forge.ShortSHA(a.SHA)).Int("mr", a.MR).Logger()
	note := ""
	if job.Attempt > 1 {
		note = "interrupted by a restart, re-running"
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tail := newLogTail(b.cfg.Report.LogTailLines)
	defer b.track(a.BuildID, cancel, tail)()
	start := time.Now()
	err := b.q.InTx(ctx, func(tx queue.Tx) error {
		if err := state.UpdateBuild(ctx, tx, a.BuildID, state.Status(statusRunning), state.Step("fetch"), state.Note(note),
			state.Started(start), state.Error(""), state.Details("")); err != nil {
			return err
		}
		if err := state.ResetSteps(ctx, tx, a.BuildID, StepRecord{Name: "fetch", Started: start}); err != nil {
			return err
		}
		return bumpReport(ctx, tx, a.Forge, a.Repo, a.MR)
	})
	if err != nil {
		return err
	}
	log.Info().Int("attempt", job.Attempt).Msg("build started")
	res, files, logURL, err := b.runBuild(ctx, a, job.Attempt, tail, log)
	if err != nil && ctx.Err() != nil && b.stopping.Load() {
		_ = b.setBuild(context.WithoutCancel(ctx), a, state.Status(statusQueued), state.Note("interrupted by a restart, will re-run"))
		return errShutdown
	}
	status, step, msg := string(runner.StatusFailed), "", ""
	switch {
	case err != nil && ctx.Err() != nil:
		status, msg = string(runner.StatusCancelled), ""
	case err != nil:
		msg = err.Error()
	default:
		status, step, msg = string(res.Status), res.LastStep, res.Error
		if res.Status == runner.StatusCancelled && b.stopping.Load() {
			_ = b.setBuild(context.WithoutCancel(ctx), a, state.Status(statusQueued), state.Note("interrupted by a restart, will re-run"))
			return errShutdown
		}
	}
	if step == "" {
		tail.mu.Lock()
		step = tail.step
		tail.mu.Unlock()
	}
	if job.Attempt > 1 {
		note = "interrupted, re-ran"
	}
	if status == string(runner.StatusCancelled) {
		note = "cancelled"
	}
	finished := time.Now()
	err = b.setBuild(context.WithoutCancel(ctx), a, state.Status(status), state.Step(step), state.Note(note),
		state.Error(b.redact(msg)), state.Finished(finished), state.Files(files), state.LogURL(logURL),
		state.LogTail(b.redact(tail.String())))
	if err != nil {
		return err
	}
	b.metrics.builds.WithLabelValues(a.Image, status).Inc()
	if res != nil && !res.Started.IsZero() {
		b.metrics.buildDuration.WithLabelValues(a.Image).Observe(finished.Sub(res.Started).Seconds())
	}
	log.Info().Str("status", status).Str("error", b.redact(msg)).Msg("build finished")
	return nil
}

// runBuild does the work; an error means the build could not be attempted
// or published.
func (b *Bot) runBuild(ctx context.Context, a BuildArgs, attempt int, tail *logTail, log zerolog.Logger) (*runner.Result, []PublishedFile, string, error) {
	f, err := b.forge(a.Forge)
	if err != nil {
		return nil, nil, "", err
	}
	user, token := f.CloneAuth()
	dir, err := b.git.Checkout(ctx, a.Forge+"-"+a.RepoName, a.CloneURL, a.SHA, user, token)
	if err != nil {
		return nil, nil, "", fmt.Errorf("fetch %s: %w", forge.ShortSHA(a.SHA), err)
	}
	b.step(ctx, a, "validate")
	cat, err := b.deps.Catalog(ctx, dir)
	if err != nil {
		return nil, nil, "", fmt.Errorf("the images at %s do not validate; nothing was built:\n%w", forge.ShortSHA(a.SHA), err)
	}
	if cat.Images[a.Image] == nil {
		return nil, nil, "", fmt.Errorf("image %s is not in the catalog at %s", a.Image, forge.ShortSHA(a.SHA))
	}
	if d := cat.Images[a.Image].Digest; d != a.Digest {
		log.Warn().Str("queued", a.Digest).Str("now", d).Msg("inputs digest differs from when the build was queued")
	}
	// A re-run gets directories of its own: the dead attempt's are not reused.
	runID := a.BuildID
	if attempt > 1 {
		runID = fmt.Sprintf("%s-a%d", a.BuildID, attempt)
	}
	out := filepath.Join(b.cfg.Builds.WorkDir, "out", runID)
	if err := os.MkdirAll(out, 0o750); err != nil {
		return nil, nil, "", fmt.Errorf("output directory: %w", err)
	}
	if err := b.setBuild(ctx, a, state.LogPath(filepath.Join(out, "build.log"))); err != nil {
		return nil, nil, "", err
	}
	req := runner.Request{Image: a.Image, BuildID: runID, OutDir: out, Force: a.Force, GitSHA: a.SHA, MR: a.MR,
		TriggeredBy: a.TriggeredBy, WithBases: true}
	if a.Only != "" {
		req.Only = []string{a.Only}
	}
	if b.deps.RepoPrefix != nil && b.artifactStore() != nil {
		// A base's release and its revocation live in this repository's store.
		st, err := repoStore(b.artifactStore(), b.deps.RepoPrefix, a.Forge, a.RepoName)
		if err != nil {
			return nil, nil, "", err
		}
		req.Bases = store.BaseGuard{Store: st}
	}
	steps := newStepQueue()
	stop, done := make(chan struct{}), make(chan struct{})
	go b.stepWriter(ctx, a, steps, stop, done)
	res, err := b.deps.Builder.Build(ctx, cat, req, func(e packer.Event) {
		if e.Text != "" {
			tail.Add(e.Text)
		}
		if e.Kind == packer.EventStep {
			steps.add(e.Text) // never blocks the build
		}
	})
	close(stop)
	<-done
	if err != nil {
		return nil, nil, "", fmt.Errorf("build %s: %w", a.Image, err)
	}
	b.recordDetails(ctx, a, res)
	if res.Status != runner.StatusSucceeded {
		return res, nil, "", nil
	}
	b.step(ctx, a, "publish")
	files, logURL, err := b.deps.Publish.PublishMR(ctx, res, a.Forge, a.RepoName, a.MR, a.SHA)
	if err != nil {
		return res, nil, "", fmt.Errorf("publish %s: %w", a.Image, err)
	}
	for _, f := range res.Files { // the published artifacts; build.log stays for the log API
		if f.Path != res.LogPath {
			_ = os.Remove(f.Path)
		}
	}
	return res, files, logURL, nil
}

// stepWriter records the steps q collects until stop is closed, then the
// rest.
func (b *Bot) stepWriter(ctx context.Context, a BuildArgs, q *stepQueue, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-q.wake:
			b.steps(ctx, a, q.take())
		case <-stop:
			b.steps(ctx, a, q.take())
			return
		}
	}
}

func (b *Bot) step(ctx context.Context, a BuildArgs, step string) {
	b.steps(ctx, a, []StepRecord{{Name: strings.TrimSpace(step), Started: time.Now()}})
}

// steps appends to the build's timeline; the last is its current step.
func (b *Bot) steps(ctx context.Context, a BuildArgs, steps []StepRecord) {
	if len(steps) == 0 {
		return
	}
	for i := range steps {
		steps[i].Name = b.redact(steps[i].Name)
	}
	step := steps[len(steps)-1].Name
	tail := ""
	if t := b.tail(a.BuildID); t != nil {
		tail = b.redact(t.String())
		t.mu.Lock()
		t.step = step
		t.mu.Unlock()
	}
	err := b.q.InTx(ctx, func(tx queue.Tx) error {
		if err := state.UpdateBuild(ctx, tx, a.BuildID, state.Step(step), state.LogTail(tail)); err != nil {
			return err
		}
		if err := state.RecordSteps(ctx, tx, a.BuildID, steps); err != nil {
			return err
		}
		return bumpReport(ctx, tx, a.Forge, a.Repo, a.MR)
	})
	if err != nil {
		b.log.Warn().Err(err).Str("build", a.BuildID).Msg("record step")
	}
}

// setBuild updates the build and marks the MR's report stale, in one transaction.
func (b *Bot) setBuild(ctx context.Context, a BuildArgs, changes ...state.Change) error {
	return b.q.InTx(ctx, func(tx queue.Tx) error {
		if err := state.UpdateBuild(ctx, tx, a.BuildID, changes...); err != nil {
			return err
		}
		return bumpReport(ctx, tx, a.Forge, a.Repo, a.MR)
	})
}

func (b *Bot) redact(s string) string { return redact.New(b.secrets()...).String(s) }

// markAbandoned runs before the queue starts: builds a dead process left
// running are either queued again (their job was re-queued: "interrupted,
// re-running") or, on their last attempt, ended as interrupted.
func (b *Bot) markAbandoned(ctx context.Context) error {
	return b.q.InTx(ctx, func(tx queue.Tx) error {
		list, err := state.RunningBuilds(ctx, tx)
		if err != nil {
			return err
		}
		for _, x := range list {
			switch x.JobState {
			case "available", "retryable", "scheduled":
				err = state.UpdateBuild(ctx, tx, x.ID, state.Status(statusQueued), state.Note("interrupted by a restart, re-running"))
			case "running":
				continue // a fleet member still runs it
			default:
				err = state.UpdateBuild(ctx, tx, x.ID, state.Status("interrupted"), state.Note(""),
					state.Error("imagebot stopped while this build ran, on its last attempt; comment `/retry` to build it again"),
					state.Finished(time.Now()))
			}
			if err != nil {
				return err
			}
			if err := bumpReport(ctx, tx, x.Forge, x.Repo, x.MR); err != nil {
				return err
			}
			b.log.Warn().Str("build", x.ID).Str("job_state", x.JobState).Msg("build was interrupted by a restart")
		}
		return nil
	})
}
