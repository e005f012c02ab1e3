package bot

// The MR report is queued here (bumpReport, notify) and written by
// bot/report/outbox, the only writer of comments and statuses.

import (
	"context"
	"fmt"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/state"
)

// bumpReport marks the MR's report stale and makes sure a report job waits.
func bumpReport(ctx context.Context, tx queue.Tx, forgeName string, repo forge.Repo, mr int) error {
	if err := state.UpsertMR(ctx, tx, forgeName, repo, mr, ""); err != nil {
		return err
	}
	if err := state.BumpMR(ctx, tx, state.MRKey{Forge: forgeName, Repo: repo.FullName, MR: mr}); err != nil {
		return err
	}
	_, err := tx.Insert(ctx, ReportArgs{Forge: forgeName, RepoName: repo.FullName, MR: mr}, jobs.OutboxOpts())
	if err != nil {
		return fmt.Errorf("queue report of !%d: %w", mr, err)
	}
	return nil
}

// notify adds notices (replies to commands) to the MR's comment.
func (b *Bot) notify(ctx context.Context, forgeName string, repo forge.Repo, mr int, head string, notices ...string) error {
	return b.q.InTx(ctx, func(tx queue.Tx) error {
		if err := state.UpsertMR(ctx, tx, forgeName, repo, mr, head); err != nil {
			return err
		}
		if len(notices) > 0 {
			if err := state.AddNotices(ctx, tx, state.MRKey{Forge: forgeName, Repo: repo.FullName, MR: mr}, notices); err != nil {
				return err
			}
		}
		return bumpReport(ctx, tx, forgeName, repo, mr)
	})
}

// secrets are the configured values that must never reach a comment.
func (b *Bot) secrets() []string { return b.cfg.Secrets() }
