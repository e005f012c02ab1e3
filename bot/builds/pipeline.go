// Package builds runs imagebot's builds: one pipeline of small stages
// (fetch, validate, build, details, publish, clean), of which the MR build
// and the release build are two lists (stages.go). The pipeline (Run) is
// the one place that records a build's state and step timeline, bumps the
// MR report, counts the build metrics, redacts secrets, checks the runner's
// manifest against them, and sends a build that imagebot's own shutdown
// stopped back to the queue. The River workers (worker.go) only turn a
// job's args into a Job.
package builds

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/bot/report/outbox"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/redact"
	"github.com/imagebot/imagebot/runner/store"
)

// Builder runs one build (runner.Runner implements it).
type Builder interface {
	Build(ctx context.Context, cat *catalog.Catalog, req runner.Request, onEvent runner.EventFunc) (*runner.Result, error)
}

// LoadCatalog loads and checks the images of a checkout. A non-nil error
// lists every problem with file:line (catalog.Diagnostics).
type LoadCatalog func(ctx context.Context, root string) (*catalog.Catalog, error)

// Metrics are the build series the pipeline counts (bot registers them).
type Metrics struct {
	Builds   *prometheus.CounterVec   // by image, status
	Duration *prometheus.HistogramVec // by image
}

// Deps is what the pipeline is built from; nothing else is reached.
type Deps struct {
	Queue   *queue.Queue // or Bind
	Forges  map[string]forge.Forge
	Git     *GitFetcher
	Builder Builder // nil: this process builds nothing
	Catalog LoadCatalog
	Publish Publisher
	// Store is where the latest release is read for a build's package diff
	// (nil: the publisher's store, if it is a StorePublisher).
	Store store.Store
	// Releaser is the release flow of one forge (bot/release).
	Releaser func(forgeName string, f forge.Forge, repo forge.Repo) (*release.Releaser, error)
	// RepoPrefix gives a repository's key prefix in Store
	// (store.Config.RepoPrefix): each repository's releases, revocations
	// and builds stay its own. nil: the root layout.
	RepoPrefix func(forgeName, repo string) (string, error)
	// AfterRelease is told how each release build ended (notifications,
	// cascades); nil: nobody.
	AfterRelease func(ctx context.Context, f forge.Forge, a jobs.Release, status, msg string)
	Secrets      func() []string // never reach a log, comment, page or manifest
	WorkDir      string
	LogTailLines int
	// Heartbeat is how often a running build's host beats its heartbeat
	// (failover.go); 0: no heartbeat, its builds are never taken back.
	Heartbeat time.Duration
	// Host names this process in heartbeats; default host/pid.
	Host    string
	Metrics Metrics
	Log     zerolog.Logger
}

// Pipeline runs build jobs through lists of stages.
type Pipeline struct {
	d       Deps
	running *Tracker
	// stopping is set once imagebot shuts down (SIGTERM/SIGINT cancel the
	// Start context, then Close), to tell a shutdown from /cancel: a build
	// stopped by it goes back to the queue instead of ending cancelled.
	stopping atomic.Bool
}

// NewPipeline is the pipeline over d.
func NewPipeline(d Deps) *Pipeline {
	if d.Secrets == nil {
		d.Secrets = func() []string { return nil }
	}
	if d.Host == "" {
		d.Host = hostName()
	}
	return &Pipeline{d: d, running: NewTracker()}
}

// Bind gives the pipeline the queue once that is open (its workers are
// registered before).
func (p *Pipeline) Bind(q *queue.Queue) { p.d.Queue = q }

// Running is the builds running in this process (cancel, live log).
func (p *Pipeline) Running() *Tracker { return p.running }

// Stop marks the process as shutting down: builds cancelled from now on
// go back to the queue.
func (p *Pipeline) Stop() { p.stopping.Store(true) }

// Job is one build being worked: what it was queued with, and what its
// stages learn on the way.
type Job struct {
	ID       string
	Kind     string // state.KindMR or state.KindRelease
	Forge    string
	Repo     forge.Repo
	RepoKey  string // the checkout's name on disk
	CloneURL string
	SHA      string
	Image    string
	MR       int
	JobID    int64 // the River job (heartbeat claim)
	Attempt  int
	// Report: the MR's report shows this build and is bumped on each change.
	Report bool
	// Note is the build's note while it runs ("release 1.2.0").
	Note string
	// Request is the runner request of an MR build; Release that of a
	// release build.
	Request runner.Request
	Digest  string
	Release *release.BuildRequest

	forge  forge.Forge
	dir    string
	cat    *catalog.Catalog
	out    string
	res    *runner.Result
	status string // how the build ended (finish)
	msg    string
	files  []state.PublishedFile
	logURL string
	tail   *logTail
	steps  *stepQueue
	log    zerolog.Logger
	beat   *heartbeat
	// hostLost: the previous attempt's host was lost (failover.go).
	hostLost bool
}

// Stage is one small step of a build. Name, when set, is recorded on the
// build's timeline before the stage runs. A stage returning errDone ends
// the build with what it has (a build that did not succeed is not
// published).
type Stage struct {
	Name string
	Run  func(ctx context.Context, p *Pipeline, j *Job) error
	// Always: the stage runs even after an earlier one failed (clean-up).
	Always bool
}

var errDone = errors.New("done")

// errShutdown makes River keep a build that imagebot's own shutdown
// interrupted: it is retried (re-run) after the restart.
var errShutdown = errors.New("imagebot stopped while the build ran; it re-runs after the restart")

// Run works j through stages: start, each stage, finish. It returns an
// error only to have River keep the job (shutdown) or when the build could
// not even be recorded.
func (p *Pipeline) Run(ctx context.Context, j *Job, stages []Stage) error {
	j.log = p.d.Log.With().Str("build", j.ID).Str("image", j.Image).Str("sha", forge.ShortSHA(j.SHA)).Int("mr", j.MR).Str("kind", j.Kind).Logger()
	worker := ctx // River's: ends only at shutdown
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	j.tail = newLogTail(p.d.LogTailLines)
	defer p.running.track(j.ID, cancel, j.tail)()
	start := time.Now()
	err := p.d.Queue.InTx(ctx, func(tx queue.Tx) error {
		lost, err := p.startHeartbeat(ctx, tx, j)
		if err != nil {
			return err
		}
		j.hostLost = lost && j.Attempt > 1
		note := j.Note
		switch {
		case j.hostLost:
			note = joinNote(j.Note, noteLost)
		case j.Attempt > 1:
			note = joinNote(j.Note, "interrupted by a restart, re-running")
		}
		if err := state.UpdateBuild(ctx, tx, j.ID, state.Status(state.StatusRunning), state.Step("fetch"), state.Note(note),
			state.Started(start), state.Error(""), state.DetailsJSON("")); err != nil {
			return err
		}
		if err := state.ResetSteps(ctx, tx, j.ID, state.StepRecord{Name: "fetch", Started: start}); err != nil {
			return err
		}
		return p.bump(ctx, tx, j)
	})
	if err != nil {
		return err
	}
	j.log.Info().Int("attempt", j.Attempt).Msg("build started")
	beatCtx, stopBeat := context.WithCancel(ctx)
	go p.beat(beatCtx, j, cancel)
	err = p.stages(ctx, j, stages)
	stopBeat()
	if err := p.finish(ctx, j, err); !errors.Is(err, errSuperseded) {
		return err
	}
	p.park(worker, j)
	return nil
}

// stages runs each stage in order until one fails or ends the build; the
// stages marked Always run after that too.
func (p *Pipeline) stages(ctx context.Context, j *Job, stages []Stage) error {
	var err error
	done := false
	for _, s := range stages {
		if (err != nil || done) && !s.Always {
			continue
		}
		if s.Name != "" {
			p.step(ctx, j, s.Name)
		}
		switch e := s.Run(ctx, p, j); {
		case errors.Is(e, errDone):
			done = true
		case e != nil && err == nil:
			err = e
		}
	}
	return err
}

// finish records how the build ended; a build stopped by shutdown goes
// back to the queue.
func (p *Pipeline) finish(ctx context.Context, j *Job, err error) error {
	res := j.res
	if p.superseded(context.WithoutCancel(ctx), j) {
		// Another host runs this build now: it records and reports it.
		j.log.Warn().Msg("build taken over by another host: its outcome here is not recorded")
		return errSuperseded
	}
	stopped := p.stopping.Load() && (err != nil && ctx.Err() != nil || res != nil && res.Status == runner.StatusCancelled)
	if stopped {
		_ = p.setBuild(context.WithoutCancel(ctx), j, state.Status(state.StatusQueued), state.Note(joinNote(j.Note, "interrupted by a restart, will re-run")))
		return errShutdown
	}
	status, step, msg := string(runner.StatusFailed), "", ""
	switch {
	case err != nil && ctx.Err() != nil:
		status, msg = string(runner.StatusCancelled), ""
	case err != nil:
		msg = err.Error()
		if res != nil && res.Status != runner.StatusSucceeded {
			status = string(res.Status)
		}
	case res == nil: // nothing left to build (a release already published)
		status = string(runner.StatusSucceeded)
	default:
		status, step, msg = string(res.Status), res.LastStep, res.Error
	}
	if step == "" {
		step = j.tail.Step()
	}
	note := j.Note
	switch {
	case j.hostLost:
		note = joinNote(j.Note, "build host lost, re-ran")
	case j.Attempt > 1:
		note = joinNote(j.Note, "interrupted, re-ran")
	}
	if status == string(runner.StatusCancelled) {
		note = joinNote(j.Note, "cancelled")
	}
	j.status, j.msg = status, msg
	finished := time.Now()
	err = p.setBuild(context.WithoutCancel(ctx), j, state.Status(status), state.Step(step), state.Note(note),
		state.Error(p.redact(msg)), state.Finished(finished), state.Files(j.files), state.LogURL(j.logURL),
		state.LogTail(p.redact(j.tail.String())))
	if err != nil {
		return err
	}
	if m := p.d.Metrics; m.Builds != nil {
		m.Builds.WithLabelValues(j.Image, status).Inc()
		if res != nil && !res.Started.IsZero() {
			m.Duration.WithLabelValues(j.Image).Observe(finished.Sub(res.Started).Seconds())
		}
	}
	j.log.Info().Str("status", status).Str("error", p.redact(msg)).Msg("build finished")
	return nil
}

func joinNote(base, s string) string {
	if base == "" {
		return s
	}
	return base + ", " + s
}

// setBuild updates the build and marks the MR's report stale, in one transaction.
func (p *Pipeline) setBuild(ctx context.Context, j *Job, changes ...state.Change) error {
	return p.d.Queue.InTx(ctx, func(tx queue.Tx) error {
		if err := state.UpdateBuild(ctx, tx, j.ID, changes...); err != nil {
			return err
		}
		return p.bump(ctx, tx, j)
	})
}

// bump marks the MR's report stale when the report shows j.
func (p *Pipeline) bump(ctx context.Context, tx queue.Tx, j *Job) error {
	if !j.Report {
		return nil
	}
	return outbox.Bump(ctx, tx, j.Forge, j.Repo, j.MR)
}

func (p *Pipeline) redact(s string) string { return redact.New(p.d.Secrets()...).String(s) }

// MarkAbandoned runs before the queue starts: builds a dead process left
// running are either queued again (their job was re-queued: "interrupted,
// re-running") or, on their last attempt, ended as interrupted.
func (p *Pipeline) MarkAbandoned(ctx context.Context) error {
	return p.d.Queue.InTx(ctx, func(tx queue.Tx) error {
		list, err := state.RunningBuilds(ctx, tx)
		if err != nil {
			return err
		}
		for _, x := range list {
			switch x.JobState {
			case "available", "retryable", "scheduled":
				err = state.UpdateBuild(ctx, tx, x.ID, state.Status(state.StatusQueued), state.Note("interrupted by a restart, re-running"))
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
			if err := outbox.Bump(ctx, tx, x.Forge, x.Repo, x.MR); err != nil {
				return err
			}
			p.d.Log.Warn().Str("build", x.ID).Str("job_state", x.JobState).Msg("build was interrupted by a restart")
		}
		return nil
	})
}
