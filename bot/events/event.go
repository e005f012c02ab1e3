package events

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/imagebot/imagebot/bot/command"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/bot/trust"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/markdown"
)

type eventWorker struct {
	river.WorkerDefaults[jobs.Event]
	b *Handler
}

func (w *eventWorker) Timeout(*river.Job[jobs.Event]) time.Duration { return 10 * time.Minute }

// Work handles one event: commands in a comment, a push to an MR, an MR
// closed or merged, a push to the default branch.
func (w *eventWorker) Work(ctx context.Context, job *river.Job[jobs.Event]) error {
	b, ev := w.b, job.Args.Event
	log := b.d.Log.With().Str("forge", ev.Forge).Str("delivery", ev.DeliveryID).Str("event", string(ev.Type)).Logger()
	f, err := b.forge(ev.Forge)
	if err != nil {
		log.Warn().Err(err).Msg("event dropped")
		return nil
	}
	switch ev.Type {
	case forge.MergeRequestComment:
		if ev.MR == nil || f.IsBot(ev.Actor) {
			return nil
		}
		return b.handleComment(ctx, f, ev)
	case forge.MergeRequestUpdated:
		if ev.MR == nil {
			return nil
		}
		return b.supersede(ctx, ev)
	case forge.MergeRequestClosed, forge.MergeRequestMerged:
		if ev.MR == nil {
			return nil
		}
		return b.cancelMR(ctx, ev.Forge, ev.Repo, ev.MR.Number, nil, true,
			fmt.Sprintf("merge request %s", strings.TrimPrefix(string(ev.Type), "mr_")))
	case forge.Push:
		if b.d.ReleasePush != nil && ev.Ref == "refs/heads/"+ev.Repo.DefaultBranch {
			return b.d.ReleasePush(ctx, f, ev)
		}
	}
	return nil
}

// handleComment runs the commands of one comment, in order.
func (b *Handler) handleComment(ctx context.Context, f forge.Forge, ev forge.Event) error {
	cmds, perr := command.Parse(ev.Comment)
	var notices []string
	cmds, dropped := command.Limit(cmds, b.d.MaxCommands)
	if dropped > 0 {
		notices = append(notices, command.LimitNotice(dropped, b.d.MaxCommands))
	}
	for _, se := range command.FirstErrors(perr) {
		notices = append(notices, "@"+ev.Actor+": "+se.Reply())
	}
	if len(cmds) == 0 && len(notices) == 0 {
		return nil
	}
	f = memoPermissions(f) // one lookup per person for this comment (permmemo.go)
	mr := *ev.MR
	if mr.HeadSHA == "" || mr.Author == "" {
		got, err := f.GetMergeRequest(ctx, ev.Repo, mr.Number)
		if err != nil {
			return fmt.Errorf("get merge request !%d: %w", mr.Number, err)
		}
		mr = keepEventHead(got, ev.MR.HeadSHA) // trustcheck.go
	}
	for _, c := range cmds {
		n, err := b.runCommand(ctx, f, ev, mr, c)
		if err != nil {
			return fmt.Errorf("%s: %w", c.String(), err)
		}
		notices = append(notices, n...)
	}
	return b.notify(ctx, ev.Forge, ev.Repo, mr.Number, mr.HeadSHA, notices...)
}

func (b *Handler) runCommand(ctx context.Context, f forge.Forge, ev forge.Event, mr forge.MergeRequest, c command.Command) ([]string, error) {
	actor := "@" + strings.TrimPrefix(ev.Actor, "@")
	switch c.Kind {
	case command.Help:
		return []string{actor + ": " + command.HelpText()}, nil
	case command.OkToBuild:
		return b.approve(ctx, f, ev, mr)
	case command.Cancel:
		d, err := b.d.Trust.Actor(ctx, f, ev.Repo, ev.Actor)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			return []string{"`/cancel` refused: " + d.Reason}, nil
		}
		return nil, b.cancelMR(ctx, ev.Forge, ev.Repo, mr.Number, c.Images, false, "cancelled by "+actor)
	case command.Build, command.Retry:
		d, err := b.authorize(ctx, f, ev.Repo, mr, ev.Actor)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			if err := b.keepRefused(ctx, ev, mr, c); err != nil { // trustcheck.go
				return nil, err
			}
			msg := fmt.Sprintf("`%s` refused: %s", c.String(), d.Reason)
			if !strings.Contains(msg, "/ok-to-build") {
				need := b.d.Trust.MinPermission
				if need == forge.PermissionNone {
					need = forge.PermissionWrite
				}
				msg += fmt.Sprintf(". A member with %s can comment `/ok-to-build` to build commit %s.",
					f.PermissionName(need), forge.ShortSHA(mr.HeadSHA))
			}
			return []string{msg}, nil
		}
		if c.Kind == command.Retry {
			return b.retry(ctx, f, ev, mr)
		}
		return b.enqueueBuilds(ctx, f, ev.Forge, ev.Repo, mr, c.Images, c.Force, c.Only, nil, ev.Actor)
	}
	return nil, nil
}

// authorize applies the trust policy; an MR approved at its head may be
// built by its own author too.
func (b *Handler) authorize(ctx context.Context, f forge.Forge, repo forge.Repo, mr forge.MergeRequest, actor string) (trust.Decision, error) {
	appr, err := b.approval(ctx, f.Name(), repo, mr)
	if err != nil {
		return trust.Decision{}, err
	}
	d, err := b.d.Trust.MayBuild(ctx, f, repo, mr, actor, appr)
	if err != nil || d.Allowed {
		return d, err
	}
	if appr != nil && appr.Covers(repo, mr) && strings.EqualFold(strings.TrimPrefix(actor, "@"), strings.TrimPrefix(mr.Author, "@")) {
		return b.d.Trust.MergeRequest(ctx, f, repo, mr, appr)
	}
	return d, nil
}

func (b *Handler) approval(ctx context.Context, forgeName string, repo forge.Repo, mr forge.MergeRequest) (*trust.Approval, error) {
	var a trust.Approval
	var st state.Approval
	err := b.d.Queue.InTx(ctx, func(tx queue.Tx) error {
		var err error
		st, err = state.LatestApproval(ctx, tx, state.MRKey{Forge: forgeName, Repo: repo.FullName, MR: mr.Number})
		return err
	})
	if errors.Is(err, queue.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load approval of !%d: %w", mr.Number, err)
	}
	a.Forge, a.Repo, a.MR, a.HeadSHA, a.By, a.At = forgeName, repo.FullName, mr.Number, st.SHA, st.By, st.At
	return &a, nil
}

// approve handles /ok-to-build: record the approval for the head commit and
// run the build commands refused at that commit.
func (b *Handler) approve(ctx context.Context, f forge.Forge, ev forge.Event, mr forge.MergeRequest) ([]string, error) {
	a, d, err := b.d.Trust.Approve(ctx, f, ev.Repo, mr, ev.Actor, time.Now())
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		return []string{"`/ok-to-build` refused: " + d.Reason}, nil
	}
	var refused []string
	err = b.d.Queue.InTx(ctx, func(tx queue.Tx) error {
		k := state.MRKey{Forge: ev.Forge, Repo: ev.Repo.FullName, MR: mr.Number}
		if err := state.SaveApproval(ctx, tx, k, state.Approval{SHA: a.HeadSHA, By: a.By, At: a.At}); err != nil {
			return err
		}
		list, err := state.RefusedAt(ctx, tx, k, mr.HeadSHA)
		for _, r := range list {
			refused = append(refused, r.Command+"\x00"+r.Actor)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record approval: %w", err)
	}
	notices := []string{d.Reason}
	sort.Strings(refused)
	refused, skipped, err := b.replayable(ctx, f, ev.Repo, mr, a, refused) // trustcheck.go
	if err != nil {
		return nil, err
	}
	notices = append(notices, skipped...)
	for _, text := range refused {
		cmds, _ := command.Parse(text)
		for _, c := range cmds {
			var n []string
			if c.Kind == command.Retry {
				n, err = b.retry(ctx, f, ev, mr)
			} else {
				n, err = b.enqueueBuilds(ctx, f, ev.Forge, ev.Repo, mr, c.Images, c.Force, c.Only, nil, mr.Author)
			}
			if err != nil {
				return nil, err
			}
			notices = append(notices, n...)
		}
	}
	return notices, nil
}

func (b *Handler) saveRefused(ctx context.Context, ev forge.Event, mr forge.MergeRequest, c command.Command) error {
	return b.d.Queue.InTx(ctx, func(tx queue.Tx) error {
		return state.SaveRefused(ctx, tx, state.MRKey{Forge: ev.Forge, Repo: ev.Repo.FullName, MR: mr.Number}, mr.HeadSHA,
			state.Refused{Command: c.String(), Actor: ev.Actor})
	})
}

// checkout fetches the MR head and loads its catalog. A catalog that does
// not validate comes back as a notice with every file:line, and no catalog.
func (b *Handler) checkout(ctx context.Context, f forge.Forge, repo forge.Repo, mr forge.MergeRequest) (*catalog.Catalog, []string, error) {
	user, token, err := forge.CloneAuthOf(ctx, f, repo)
	if err != nil {
		return nil, nil, err
	}
	url := repo.CloneURL
	if mr.FromFork && mr.SourceRepo.CloneURL != "" {
		url = mr.SourceRepo.CloneURL
	}
	dir, err := b.d.Git.Checkout(ctx, f.Name()+"-"+repo.FullName, url, mr.HeadSHA, user, token)
	if err != nil {
		return nil, nil, err
	}
	cat, err := b.d.Catalog(ctx, dir)
	if err != nil {
		// The diagnostics quote the MR's own text: a fence it cannot close.
		return nil, []string{fmt.Sprintf("The images at %s do not validate; nothing was built:\n%s",
			forge.ShortSHA(mr.HeadSHA), markdown.CodeBlock(strings.TrimSpace(err.Error())))}, nil
	}
	return cat, nil, nil
}

// changedImages compares the MR head's catalog with its target branch's.
func (b *Handler) changedImages(ctx context.Context, f forge.Forge, repo forge.Repo, mr forge.MergeRequest, head *catalog.Catalog) []string {
	var base *catalog.Catalog
	user, token, err := forge.CloneAuthOf(ctx, f, repo)
	if err == nil {
		var dir string
		if dir, err = b.d.Git.CheckoutBranch(ctx, f.Name()+"-"+repo.FullName, repo.CloneURL, mr.TargetBranch, user, token); err == nil {
			base, _ = b.d.Catalog(ctx, dir)
		}
	}
	if err != nil {
		b.d.Log.Warn().Err(err).Msg("fetch target branch; treating every image as changed")
	}
	var out []string
	for _, name := range head.Order {
		if base != nil && base.Images[name] != nil && base.Images[name].Digest == head.Images[name].Digest {
			continue
		}
		out = append(out, name)
	}
	return out
}
