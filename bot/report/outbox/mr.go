package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/report"
	"github.com/imagebot/imagebot/bot/state"
)

// The MR report job: one comment per MR, kept up to date, and the commit
// statuses of its builds.

func mrKey(a jobs.Report) state.MRKey { return state.MRKey{Forge: a.Forge, Repo: a.RepoName, MR: a.MR} }

// ReportWorker returns the River worker of the MR report jobs.
func (o *Outbox) ReportWorker() river.Worker[jobs.Report] { return &reportWorker{o: o} }

type reportWorker struct {
	river.WorkerDefaults[jobs.Report]
	o *Outbox
}

func (w *reportWorker) Timeout(*river.Job[jobs.Report]) time.Duration { return 2 * time.Minute }

type mrState struct {
	repo        forge.Repo
	head        string
	commentID   int64
	version     int64
	sentVersion int64
	lastEdit    time.Time
	notices     []string
	builds      []state.Build
}

func (b *Outbox) loadMR(ctx context.Context, a jobs.Report) (mrState, error) {
	var s mrState
	err := b.q.InTx(ctx, func(tx queue.Tx) error {
		m, err := state.GetMR(ctx, tx, mrKey(a))
		if err != nil {
			return err
		}
		s.repo, s.head, s.commentID, s.version, s.sentVersion = m.Repo, m.Head, m.CommentID, m.Version, m.SentVersion
		s.lastEdit, s.notices = m.LastEdit, m.Notices
		s.builds, err = state.MRBuilds(ctx, tx, a.Forge, a.RepoName, a.MR)
		return err
	})
	return s, err
}

// Work delivers the MR's current state: the comment (created once, then
// edited; at most one edit per min_edit_interval) and any commit status
// that changed. When the state moved on meanwhile it runs again later, so
// the last state is always delivered.
func (w *reportWorker) Work(ctx context.Context, job *river.Job[jobs.Report]) error {
	b, a := w.o, job.Args
	f, ok := b.forges[a.Forge]
	if !ok {
		return river.JobCancel(fmt.Errorf("forge %q is not configured", a.Forge))
	}
	s, err := b.loadMR(ctx, a)
	if err != nil {
		return fmt.Errorf("load report state of !%d: %w", a.MR, err)
	}
	if s.version == s.sentVersion && statusesSent(s.builds) {
		again := false
		err := b.q.InTx(ctx, func(tx queue.Tx) error {
			v, err := state.MRVersion(ctx, tx, mrKey(a))
			if err != nil {
				return err
			}
			if again = v != s.version; again {
				return nil
			}
			return tx.Complete(ctx, job.JobRow)
		})
		if err == nil && again {
			return river.JobSnooze(time.Millisecond)
		}
		return err
	}
	if wait := b.cfg.MinEditInterval - time.Since(s.lastEdit); s.commentID != 0 && wait > 0 {
		return river.JobSnooze(wait)
	}
	// Commit statuses first: they are small and each is idempotent.
	for _, bd := range s.builds {
		st := report.CommitState(bd.Status)
		if bd.StatusSent == string(st)+":"+bd.SHA {
			continue
		}
		err := f.SetStatus(ctx, s.repo, bd.SHA, forge.Status{Context: report.StatusContext(bd.Image), State: st,
			Description: report.StatusDescription(b.row(bd)), TargetURL: b.buildURL(bd.ID)})
		if err != nil {
			return fmt.Errorf("set status %s on %s: %w", report.StatusContext(bd.Image), forge.ShortSHA(bd.SHA), err)
		}
		if err := b.q.InTx(ctx, func(tx queue.Tx) error {
			return state.UpdateBuild(ctx, tx, bd.ID, state.StatusSent(string(st)+":"+bd.SHA))
		}); err != nil {
			return err
		}
	}
	body := report.Render(b.view(s), f.MaxCommentSize())
	if s.commentID == 0 {
		id, err := f.CreateComment(ctx, s.repo, a.MR, body)
		if err != nil {
			return fmt.Errorf("create report comment on !%d: %w", a.MR, err)
		}
		s.commentID = id
	} else if err := f.EditComment(ctx, s.repo, a.MR, s.commentID, body); err != nil {
		return fmt.Errorf("edit report comment %d on !%d: %w", s.commentID, a.MR, err)
	}
	changed := false
	err = b.q.InTx(ctx, func(tx queue.Tx) error {
		if err := state.MRSent(ctx, tx, mrKey(a), s.commentID, s.version, time.Now()); err != nil {
			return err
		}
		v, err := state.MRVersion(ctx, tx, mrKey(a))
		if err != nil {
			return err
		}
		if changed = v != s.version; changed {
			return nil
		}
		// Completed in the same transaction that saw no newer state: a
		// change committed after it finds no waiting job and queues one.
		return tx.Complete(ctx, job.JobRow)
	})
	if err != nil {
		return fmt.Errorf("record report of !%d: %w", a.MR, err)
	}
	if changed {
		return river.JobSnooze(b.cfg.MinEditInterval)
	}
	return nil
}

func statusesSent(builds []state.Build) bool {
	for _, bd := range builds {
		if bd.StatusSent != string(report.CommitState(bd.Status))+":"+bd.SHA {
			return false
		}
	}
	return true
}

func (b *Outbox) buildURL(id string) string { return b.cfg.PublicURL + "/builds/" + id }

func (b *Outbox) row(bd state.Build) report.Row {
	r := report.Row{Image: bd.Image, SHA: bd.SHA, Status: bd.Status, Step: bd.Step, Note: bd.Note, Error: bd.Error,
		Started: bd.Started, Finished: bd.Finished, LogTail: bd.LogTail, LogURL: bd.LogURL, BuildURL: b.buildURL(bd.ID),
		Details: bd.Details}
	if r.LogURL == "" && !bd.Started.IsZero() {
		r.LogURL = b.cfg.PublicURL + "/api/builds/" + bd.ID + "/log"
	}
	for _, f := range bd.Files {
		r.Files = append(r.Files, report.File{Name: f.Name, Size: f.Size, SHA256: f.SHA256, URL: f.URL})
	}
	return r
}

func (b *Outbox) view(s mrState) report.View {
	v := report.View{HeadSHA: s.head, Notices: s.notices, Now: time.Now(), Secrets: b.cfg.Secrets}
	for _, bd := range s.builds {
		v.Rows = append(v.Rows, b.row(bd))
	}
	return v
}
