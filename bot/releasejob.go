package bot

// The release flow's wiring: bot/release decides, bot/builds queues and
// builds, the report outbox delivers its statuses and comments.

import (
	"context"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/runner"
)

// releaser is the release flow over forge f, queueing through the bot.
func (b *Bot) releaser(forgeName string, f forge.Forge) *release.Releaser {
	r := &release.Releaser{Store: b.deps.Store, Forge: f, Queue: b.builds.ReleaseQueue(forgeName),
		Notify:  b.outbox.For(forgeName),
		PageURL: b.cfg.PublicURL + "/images", Log: b.log.With().Str("forge", forgeName).Logger(),
		Attester: b.deps.Attester}
	r.Published = func(ctx context.Context, push release.Push, image, version string) { // bot/lifecycle
		b.lifecycle.AfterRelease(ctx, f, ReleaseArgs{Forge: forgeName, RepoName: push.Repo.FullName, SHA: push.After, Image: image, Version: version,
			Request: release.BuildRequest{Repo: push.Repo, TriggeredBy: push.Actor}}, string(runner.StatusSucceeded), "")
	}
	if b.cfg.VSphereEnabled() {
		v := b.cfg.VSphere
		r.VSphere = &v
	}
	return r
}

// releasePush runs the release flow for a push to the default branch.
func (b *Bot) releasePush(ctx context.Context, f forge.Forge, ev forge.Event) error {
	checkout := func(ctx context.Context, repo forge.Repo, sha, before string) (string, error) {
		return b.git.CheckoutPair(ctx, f, ev.Forge, repo, sha, before)
	}
	_, err := b.releaser(ev.Forge, f).HandlePush(ctx, ev, checkout)
	return err
}
