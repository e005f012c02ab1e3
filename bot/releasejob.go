package bot

// The release flow's wiring: bot/release decides, bot/builds queues and
// builds, the report outbox delivers its statuses and comments.

import (
	"context"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/store"
)

// releaser is the release flow over forge f, queueing through the bot.
func (b *Bot) releaser(forgeName string, f forge.Forge, repo forge.Repo) (*release.Releaser, error) {
	st, err := b.repoStore(forgeName, repo.FullName)
	if err != nil {
		return nil, err
	}
	r := &release.Releaser{Store: st, Forge: f, Queue: b.builds.ReleaseQueue(forgeName),
		Notify:  b.outbox.For(forgeName),
		PageURL: b.cfg.UI.PublicURL + "/images", Log: b.log.With().Str("forge", forgeName).Logger(),
		Attester: b.deps.Attester}
	r.Published = func(ctx context.Context, push release.Push, image, version string) { // bot/lifecycle
		b.lifecycle.AfterRelease(ctx, f, ReleaseArgs{Forge: forgeName, RepoName: push.Repo.FullName, SHA: push.After, Image: image, Version: version,
			Request: release.BuildRequest{Repo: push.Repo, TriggeredBy: push.Actor}}, string(runner.StatusSucceeded), "")
	}
	if b.cfg.VSphereEnabled() {
		v := b.cfg.VSphere
		r.VSphere = &v
	}
	return r, nil
}

// releasePush runs the release flow for a push to the default branch.
func (b *Bot) releasePush(ctx context.Context, f forge.Forge, ev forge.Event) error {
	checkout := func(ctx context.Context, repo forge.Repo, sha, before string) (string, error) {
		return b.git.CheckoutPair(ctx, f, ev.Forge, repo, sha, before)
	}
	r, err := b.releaser(ev.Forge, f, ev.Repo)
	if err != nil {
		return err
	}
	_, err = r.HandlePush(ctx, ev, checkout)
	return err
}

// repoStore is the bot's store as repository repo of forgeName sees it
// (its own key prefix, store.RepoStore); nil when there is no store.
func (b *Bot) repoStore(forgeName, repo string) (store.Store, error) {
	st := b.deps.Store
	if b.deps.RepoPrefix == nil || st == nil {
		return st, nil
	}
	pre, err := b.deps.RepoPrefix(forgeName, repo)
	if err != nil {
		return nil, err
	}
	return store.RepoStore(st, pre), nil
}
