// Package bot is imagebot's core: a verified webhook becomes a stored
// delivery and an event job (webhook.go); the event job turns commands into
// build jobs under the trust rules (event.go); a build job fetches the merge
// request's head, validates the catalog, builds, publishes and records the
// result (build.go); every change is reported on the merge request through
// one comment and per-image commit statuses (report.go, bot/report). The
// queue and the database are River on SQLite or PostgreSQL (bot/queue).
package bot

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/intake"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/report/outbox"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/bot/trust"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/store"
)

// Builder runs one build (runner.Runner implements it).
type Builder interface {
	Build(ctx context.Context, cat *catalog.Catalog, req runner.Request, onEvent runner.EventFunc) (*runner.Result, error)
}

// LoadCatalog loads and checks the images of a checkout. A non-nil error
// lists every problem with file:line (catalog.Diagnostics).
type LoadCatalog func(ctx context.Context, root string) (*catalog.Catalog, error)

// Publisher stores a finished MR build (runner/store Publish under
// <image>/mr/<iid>/<short-sha>/) and returns its files; logURL addresses the
// stored build log ("" when none).
type Publisher interface {
	PublishMR(ctx context.Context, res *runner.Result, forgeName, repo string, mr int, sha string) (files []PublishedFile, logURL string, err error)
}

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
	git     *gitFetcher

	mu      sync.Mutex
	running map[string]context.CancelFunc // build id -> cancel, builds running in this process
	// stopping is set once the bot shuts down (SIGTERM/SIGINT cancel the
	// Start context, then Close), to tell a shutdown from /cancel: a build
	// stopped by it goes back to the queue instead of ending cancelled.
	stopping atomic.Bool
	tails    map[string]*logTail // build id -> live log tail
}

// New opens the database and queue and registers the workers; Start begins
// working, Handler serves HTTP.
func New(ctx context.Context, d Deps) (*Bot, error) {
	if d.Catalog == nil {
		return nil, fmt.Errorf("bot: no catalog loader")
	}
	b := &Bot{deps: d, cfg: d.Config, log: d.Log, metrics: newMetrics(),
		running: map[string]context.CancelFunc{}, tails: map[string]*logTail{}}
	b.git = &gitFetcher{bin: d.Config.Builds.Git, dir: d.Config.Builds.WorkDir, log: d.Log}
	workers := river.NewWorkers()
	river.AddWorker(workers, &eventWorker{b: b})
	river.AddWorker(workers, &buildWorker{b: b})
	river.AddWorker(workers, &releaseWorker{b: b})
	b.outbox = outbox.New(d.Forges, newID, outbox.Config{PublicURL: d.Config.UI.PublicURL,
		MinEditInterval: d.Config.Report.MinEditInterval, Secrets: d.Config.Secrets()})
	river.AddWorker(workers, b.outbox.ReportWorker())
	river.AddWorker(workers, b.outbox.Worker())
	queues := map[string]int{}
	if d.Config.Working() {
		if !d.BuildsOnly {
			queues[queueEvents] = d.Config.Queue.EventWorkers
			queues[queueReports] = d.Config.Queue.ReportWorkers
		}
		if d.Builder != nil && d.Config.Queue.BuildWorkers > 0 {
			for _, c := range d.Config.Queue.Capabilities {
				queues[buildQueue(c)] = d.Config.Queue.BuildWorkers
			}
		}
	}
	q, err := queue.Open(ctx, queue.Options{
		Driver: d.Config.Database.Driver, Path: d.Config.Database.Path, URL: d.Config.Database.URL,
		Synchronous: d.Config.Database.Synchronous, Workers: workers, Queues: queues,
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
	b.intake = intake.New(d.Forges, q, d.Log, b.metrics.webhooks, b.metrics.webhookTime)
	return b, nil
}

// Queue is the bot's queue and database (for the web pages and tests).
func (b *Bot) Queue() *queue.Queue { return b.q }

// Start begins working jobs. Builds that a dead process left running are
// reported as interrupted first.
func (b *Bot) Start(ctx context.Context) error {
	if b.cfg.Working() {
		if err := b.markAbandoned(ctx); err != nil {
			return err
		}
	}
	for name := range b.deps.Forges {
		b.log.Info().Str("forge", name).Msg("forge configured")
	}
	if len(b.deps.Forges) == 0 {
		b.log.Warn().Msg("no forge configured: webhooks are refused and nothing is reported until a forge webhook secret and token are set (see the configuration reference)")
	}
	context.AfterFunc(ctx, func() { b.stopping.Store(true) })
	return b.q.Start(ctx)
}

// Close stops working (running builds are cancelled and left to be
// re-queued on the next start) and closes the database.
func (b *Bot) Close(ctx context.Context) {
	b.stopping.Store(true)
	b.q.Close(ctx)
}

func (b *Bot) forge(name string) (forge.Forge, error) {
	f, ok := b.deps.Forges[name]
	if !ok {
		return nil, fmt.Errorf("forge %q is not configured", name)
	}
	return f, nil
}
