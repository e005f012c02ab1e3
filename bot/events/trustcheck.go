package events

import (
	"context"
	"fmt"
	"strings"

	"github.com/imagebot/imagebot/bot/command"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/trust"
)

// keepEventHead keeps the head commit a comment event carried over the one
// the API returns later: an /ok-to-build approves what the approver saw, not
// a push that landed between the comment and this job (issue 11 item 5).
func keepEventHead(fromAPI forge.MergeRequest, eventHead string) forge.MergeRequest {
	if eventHead != "" {
		fromAPI.HeadSHA = eventHead
	}
	return fromAPI
}

// keepRefused stores a refused /build or /retry for an approval to replay,
// unless its author is on the deny list: a deny-listed user's command is
// never run, approved or not (issue 11 item 4).
func (b *Handler) keepRefused(ctx context.Context, ev forge.Event, mr forge.MergeRequest, c command.Command) error {
	if b.d.Trust.Denied(ev.Actor) {
		return nil
	}
	return b.saveRefused(ctx, ev, mr, c)
}

// replayable re-checks, at approval time, the refused commands an approval
// would replay (each "command\x00author"): commands whose author is now on
// the deny list are dropped, and nothing replays when the merge request
// itself may not build under the new approval (its author deny-listed).
// It returns the command texts to run and a notice per dropped one.
func (b *Handler) replayable(ctx context.Context, f forge.Forge, repo forge.Repo, mr forge.MergeRequest, a trust.Approval, refused []string) ([]string, []string, error) {
	if len(refused) == 0 {
		return nil, nil, nil
	}
	d, err := b.d.Trust.MergeRequest(ctx, f, repo, mr, &a)
	if err != nil {
		return nil, nil, fmt.Errorf("re-check !%d before replaying refused commands: %w", mr.Number, err)
	}
	if !d.Allowed {
		return nil, []string{"Refused commands are not run: " + d.Reason}, nil
	}
	var run, notices []string
	for _, r := range refused {
		text, by, _ := strings.Cut(r, "\x00")
		if b.d.Trust.Denied(by) {
			notices = append(notices, fmt.Sprintf("`%s` by a deny-listed user is not run.", text))
			continue
		}
		run = append(run, text)
	}
	return run, notices, nil
}
