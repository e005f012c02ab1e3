package events

// Notices for the MR report are queued here (notify) and written by
// bot/report/outbox, the only writer of comments and statuses.

import (
	"context"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/report/outbox"
	"github.com/imagebot/imagebot/bot/state"
)

// notify adds notices (replies to commands) to the MR's comment.
func (b *Handler) notify(ctx context.Context, forgeName string, repo forge.Repo, mr int, head string, notices ...string) error {
	return b.d.Queue.InTx(ctx, func(tx queue.Tx) error {
		if err := state.UpsertMR(ctx, tx, forgeName, repo, mr, head); err != nil {
			return err
		}
		if len(notices) > 0 {
			if err := state.AddNotices(ctx, tx, state.MRKey{Forge: forgeName, Repo: repo.FullName, MR: mr}, notices); err != nil {
				return err
			}
		}
		return outbox.Bump(ctx, tx, forgeName, repo, mr)
	})
}
