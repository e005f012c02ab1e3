package builds

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/bot/state"
)

// CheckoutPair checks sha out and brings before's commit into the same
// repository (both shallow), so the two can be diffed (the release flow's
// checkout of a push to the default branch).
func (g *GitFetcher) CheckoutPair(ctx context.Context, f forge.Forge, forgeName string, repo forge.Repo, sha, before string) (string, error) {
	user, token, err := forge.CloneAuthOf(ctx, f, repo)
	if err != nil {
		return "", err
	}
	key := forgeName + "-" + repo.FullName
	dir, err := g.Checkout(ctx, key, repo.CloneURL, sha, user, token)
	if err != nil || strings.Trim(before, "0") == "" {
		return dir, err
	}
	old, err := g.Checkout(ctx, key, repo.CloneURL, before, user, token)
	if err != nil {
		return "", err
	}
	bin := g.bin
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

// ReleaseQueue is bot/release's queue for one forge: release builds queue
// as durable jobs of this pipeline, recorded as builds so the web page
// shows them.
func (p *Pipeline) ReleaseQueue(forgeName string) release.Queue { return releaseQueue{p, forgeName} }

type releaseQueue struct {
	p     *Pipeline
	forge string
}

func (q releaseQueue) QueueRelease(ctx context.Context, req release.BuildRequest) error {
	args := jobs.Release{BuildID: jobs.NewID(), Forge: q.forge, RepoName: req.Repo.FullName, SHA: req.MergeCommit,
		Image: req.Image, Version: req.Version, Digest: req.Digest, Request: req}
	return q.p.d.Queue.InTx(ctx, func(tx queue.Tx) error {
		res, err := tx.Insert(ctx, args, jobs.BuildOpts("kvm"))
		if err != nil {
			return fmt.Errorf("enqueue release of %s %s: %w", req.Image, req.Version, err)
		}
		if res.UniqueSkippedAsDuplicate {
			return nil
		}
		return state.InsertBuild(ctx, tx, state.NewBuild{ID: args.BuildID, JobID: res.Job.ID, Forge: q.forge, Repo: req.Repo,
			MR: req.MR, SHA: req.MergeCommit, Image: req.Image, Digest: req.Digest, Note: "release " + req.Version,
			TriggeredBy: req.TriggeredBy, Kind: state.KindRelease, Version: req.Version})
	})
}
