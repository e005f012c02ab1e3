package bot

// The running bot: start, stop, and the few calls cmd/imagebot and the
// tests make on it.

import (
	"context"
	"time"

	"github.com/imagebot/imagebot/bot/builds"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/runner/notify"
	"github.com/imagebot/imagebot/runner/redact"
	"github.com/imagebot/imagebot/runner/vsphere"
)

// Queue is the bot's queue and database (for the web pages and tests).
func (b *Bot) Queue() *queue.Queue { return b.q }

// Start begins working jobs. Builds that a dead process left running are
// reported as interrupted first.
func (b *Bot) Start(ctx context.Context) error {
	if b.cfg.Working() {
		if err := b.builds.MarkAbandoned(ctx); err != nil {
			return err
		}
	}
	for name := range b.deps.Forges {
		b.log.Info().Str("forge", name).Msg("forge configured")
	}
	if len(b.deps.Forges) == 0 {
		b.log.Warn().Msg("no forge configured: webhooks are refused and nothing is reported until a forge webhook secret and token are set (see the configuration reference)")
	}
	context.AfterFunc(ctx, b.builds.Stop)
	return b.q.Start(ctx)
}

// Close stops working (running builds are cancelled and left to be
// re-queued on the next start) and closes the database.
func (b *Bot) Close(ctx context.Context) {
	b.builds.Stop()
	b.q.Close(ctx)
}

// SweepVSphere removes leftover build machines from vCenter every interval
// (bot/builds SweepVSphere).
func (b *Bot) SweepVSphere(ctx context.Context, cfg vsphere.Config, every time.Duration) {
	builds.SweepVSphere(ctx, b.q, b.log, cfg, every)
}

// Notify queues notifications for every subscribed sink; a sink that
// fails is retried by the outbox.
func (b *Bot) Notify(ctx context.Context, evs []notify.Event) error { return b.outbox.Notify(ctx, evs) }

// RefreshTick opens the refresh merge requests due at now (bot/lifecycle).
func (b *Bot) RefreshTick(ctx context.Context, now time.Time) int {
	return b.lifecycle.RefreshTick(ctx, now)
}

// secrets are the configured values that must never reach a comment.
func (b *Bot) secrets() []string { return b.cfg.Secrets() }

func (b *Bot) redact(s string) string { return redact.New(b.secrets()...).String(s) }

// SweepCheckouts removes, at start and then every interval until ctx ends,
// checkouts unused for olderThan (builds.checkout_retention).
func (b *Bot) SweepCheckouts(ctx context.Context, olderThan, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		removed, err := b.git.SweepCheckouts(time.Now(), olderThan)
		if err != nil {
			b.log.Warn().Err(err).Msg("checkout sweep")
		}
		if len(removed) > 0 {
			b.log.Info().Int("removed", len(removed)).Dur("older_than", olderThan).Msg("checkout sweep")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
