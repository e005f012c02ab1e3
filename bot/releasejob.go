package bot

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/imagebot/imagebot/bot/events"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/bot/state"
)

// releaser is the release flow over forge f, queueing through the bot.
func (b *Bot) releaser(forgeName string, f forge.Forge) *release.Releaser {
	r := &release.Releaser{Store: b.deps.Store, Forge: f, Queue: releaseQueue{b, forgeName},
		Notify:  b.outbox.For(forgeName),
		PageURL: b.cfg.PublicURL + "/images", Log: b.log.With().Str("forge", forgeName).Logger(),
		Attester: b.deps.Attester}
	if b.cfg.VSphereEnabled() {
		v := b.cfg.VSphere
		r.VSphere = &v
	}
	return r
}

// releasePush runs the release flow for a push to the default branch.
func (b *Bot) releasePush(ctx context.Context, f forge.Forge, ev forge.Event) error {
	checkout := func(ctx context.Context, repo forge.Repo, sha, before string) (string, error) {
		return b.checkoutPair(ctx, f, ev.Forge, repo, sha, before)
	}
	_, err := b.releaser(ev.Forge, f).HandlePush(ctx, ev, checkout)
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
	args := ReleaseArgs{BuildID: events.NewID(), Forge: q.forge, RepoName: req.Repo.FullName, SHA: req.MergeCommit,
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
