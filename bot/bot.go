// Package bot is imagebot's core, assembled: a verified webhook becomes a
// stored delivery and an event job (bot/intake); the event job turns
// commands into build jobs under the trust rules (bot/events); a build job
// runs the build pipeline: fetch, validate, build, publish, record
// (bot/builds); every change is reported on the merge request through one
// comment and per-image commit statuses (bot/report/outbox). The queue and
// the database are River on SQLite or PostgreSQL (bot/queue, bot/state).
package bot

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/builds"
	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/bot/events"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/intake"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/lifecycle"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/report/outbox"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/bot/trust"
	"github.com/imagebot/imagebot/runner/notify"
	"github.com/imagebot/imagebot/runner/store"
)

// Deps is what the bot is built from.
type Deps struct {
	Config  config.Config
	Log     zerolog.Logger
	Forges  map[string]forge.Forge // by Name(): "gitlab", "github"
	Trust   trust.Policy
	Builder Builder // nil: this process builds nothing
	Catalog LoadCatalog
	Publish Publisher
	// BuildsOnly makes this process a build host (imagebot runner): it works
	// only the build queues of its capabilities, never events or reports.
	BuildsOnly bool
	// Store, when set, makes pushes to a default branch
	// release through bot/release (releasejob.go).
	Store store.Store
	// Attester signs the provenance of every published build (MR and
	// release); nil: published unsigned.
	Attester store.Attester
	// RepoPrefix gives a repository's key prefix in Store
	// (store.Config.RepoPrefix): releases and promotions stay within their
	// repository. nil: the root layout.
	RepoPrefix func(forgeName, repo string) (string, error)
}

// Bot is a running imagebot: queue, workers, HTTP handlers.
type Bot struct {
	deps    Deps
	cfg     config.Config
	log     zerolog.Logger
	intake  *intake.Intake // the webhook routes
	outbox  *outbox.Outbox // release statuses and comments
	q       *queue.Queue
	metrics *metrics
	git     *builds.GitFetcher
	builds  *builds.Pipeline // MR and release builds
	events  *events.Handler  // comments, commands, pushes
	// lifecycle notifies how releases end, cascades, refreshes on schedule
	lifecycle *lifecycle.Lifecycle
}

// New opens the database and queue and registers the workers; Start begins
// working, Handler serves HTTP.
func New(ctx context.Context, d Deps) (*Bot, error) {
	if d.Catalog == nil {
		return nil, fmt.Errorf("bot: no catalog loader")
	}
	b := &Bot{deps: d, cfg: d.Config, log: d.Log, metrics: newMetrics()}
	b.git = builds.NewGitFetcher(d.Config.Builds.Git, d.Config.Builds.WorkDir, d.Log)
	b.outbox = outbox.New(d.Forges, jobs.NewID, outbox.Config{PublicURL: d.Config.UI.PublicURL,
		MinEditInterval: d.Config.Report.MinEditInterval, Secrets: d.Config.Secrets()})
	b.lifecycle = lifecycle.New(lifecycle.Deps{Forges: d.Forges, Git: b.git, Catalog: d.Catalog, Store: d.Store, RepoPrefix: d.RepoPrefix,
		Notify: b.outbox.Notify, PublicURL: d.Config.UI.PublicURL, Cascade: d.Config.Cascade, Redact: b.redact, Log: d.Log})
	b.builds = builds.NewPipeline(builds.Deps{Forges: d.Forges, Git: b.git,
		Builder: d.Builder, Catalog: d.Catalog, Publish: d.Publish, Store: d.Store, Releaser: b.releaser, RepoPrefix: d.RepoPrefix,
		AfterRelease: b.lifecycle.AfterRelease, Secrets: b.secrets, WorkDir: d.Config.Builds.WorkDir, LogTailLines: d.Config.Report.LogTailLines, Heartbeat: d.Config.Queue.Heartbeat,
		Metrics: builds.Metrics{Builds: b.metrics.builds, Duration: b.metrics.buildDuration}, Log: d.Log})
	var releasePush func(context.Context, forge.Forge, forge.Event) error
	if d.Store != nil {
		releasePush = b.releasePush
	}
	b.events = events.New(events.Deps{Forges: d.Forges, Trust: d.Trust, MaxCommands: d.Config.Trust.MaxCommands,
		Git: b.git, Catalog: d.Catalog, Running: b.builds.Running(), ReleasePush: releasePush, Log: d.Log})
	sinks, err := notify.Build(d.Config.Notifications, nil)
	if err != nil {
		return nil, fmt.Errorf("bot: %w", err)
	}
	b.outbox.SetSinks(sinks)
	workers := river.NewWorkers()
	river.AddWorker(workers, b.events.Worker())
	river.AddWorker(workers, builds.NewMRWorker(b.builds))
	river.AddWorker(workers, builds.NewReleaseWorker(b.builds))
	river.AddWorker(workers, builds.NewFailoverWorker(b.builds))
	river.AddWorker(workers, b.outbox.ReportWorker())
	river.AddWorker(workers, b.outbox.Worker())
	river.AddWorker(workers, b.outbox.NotifyWorker())
	river.AddWorker(workers, b.lifecycle.Worker())
	q, err := queue.Open(ctx, queue.Options{
		Driver: d.Config.Database.Driver, Path: d.Config.Database.Path, URL: d.Config.Database.URL,
		Synchronous: d.Config.Database.Synchronous, Workers: workers, Queues: queues(d),
		Periodic:    periodic(d),
		RescueAfter: d.Config.Queue.RescueAfter, BatchWindow: d.Config.Queue.BatchWindow,
		RequeueRunning: d.Config.Database.Driver == "sqlite" && d.Config.Working() && !d.BuildsOnly,
		Log:            d.Log, Redact: b.redact,
	})
	if err != nil {
		return nil, err
	}
	b.q = q
	if err := state.Migrate(ctx, q); err != nil {
		q.Close(ctx)
		return nil, fmt.Errorf("bot: %w", err)
	}
	b.metrics.register(q)
	b.outbox.Bind(q)
	b.builds.Bind(q)
	b.events.Bind(q)
	b.intake = intake.New(d.Forges, q, d.Log, b.metrics.webhooks, b.metrics.webhookTime)
	return b, nil
}

// queues are the queues this process works and their workers: events and
// reports unless it is a build host, the build queues of its capabilities
// when it builds.
func queues(d Deps) map[string]int {
	qs := map[string]int{}
	if !d.Config.Working() {
		return qs
	}
	if !d.BuildsOnly {
		qs[queueEvents] = d.Config.Queue.EventWorkers
		qs[queueReports] = d.Config.Queue.ReportWorkers
	}
	if d.Builder != nil && d.Config.Queue.BuildWorkers > 0 {
		for _, c := range d.Config.Queue.Capabilities {
			qs[buildQueue(c)] = d.Config.Queue.BuildWorkers
		}
	}
	return qs
}

// periodic are the bot's periodic jobs: the refresh scheduler and the
// sweep for builds whose host was lost, in a working process.
func periodic(d Deps) []*river.PeriodicJob {
	if !d.Config.Working() {
		return nil
	}
	// Any River client may be the leader that inserts periodic jobs: build
	// hosts schedule the sweep too (the events queue of serve works it).
	failover := builds.FailoverPeriodic(d.Config.Database.Driver, d.Config.Queue.LostAfter)
	if d.BuildsOnly {
		return failover
	}
	return append(lifecycle.Periodic(d.Config.Cascade), failover...)
}
