// Package outbox owns every write to a forge: the MR report job (one
// comment per MR kept up to date, and its builds' commit statuses, from
// bot/state's MR and build rows, rendered by bot/report), and the writes
// that are not an MR's report: a release's commit statuses and its comment
// on the merged MR. For the latter the wanted
// write is stored first (bot/state, imagebot_outbox) and a job
// (jobs.Write) delivers the latest one, retried with River's backoff, so a
// forge outage delays it but loses none. At most one job waits per target;
// a status target holds only its latest status, so a retried old status
// never overwrites a newer one.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/state"
)

// outboxWrite is one wanted write: a status on SHA, or a comment on MR.
type outboxWrite struct {
	SHA    string        `json:"sha,omitempty"`
	Status *forge.Status `json:"status,omitempty"`
	MR     int           `json:"mr,omitempty"`
	Body   string        `json:"body,omitempty"`
}

// Outbox stores forge writes and delivers them in jobs.
type Outbox struct {
	q      Transactor
	forges map[string]forge.Forge
	newID  func() string
	cfg    Config
}

// Config is what the report rendering needs of the configuration.
type Config struct {
	PublicURL       string        // the bot's address, for build links
	MinEditInterval time.Duration // at most one comment edit per interval
	Secrets         []string      // values masked in every comment
}

// Transactor runs fn in one transaction (bot/queue.Queue).
type Transactor interface {
	InTx(ctx context.Context, fn func(queue.Tx) error) error
}

// New returns the outbox over forges; newID names each comment target.
// Bind gives it the queue once that is open (its worker is registered
// before).
func New(forges map[string]forge.Forge, newID func() string, cfg Config) *Outbox {
	return &Outbox{forges: forges, newID: newID, cfg: cfg}
}

// Bind sets the queue the outbox stores and delivers through.
func (o *Outbox) Bind(q Transactor) { o.q = q }

// For returns the writer of one forge's writes (a release.Notifier).
func (o *Outbox) For(forgeName string) Writer { return Writer{o: o, forge: forgeName} }

// Writer queues one forge's writes.
type Writer struct {
	o     *Outbox
	forge string
}

// SetStatus stores a commit status; a newer one of the same context replaces it.
func (o Writer) SetStatus(ctx context.Context, repo forge.Repo, sha string, st forge.Status) error {
	return o.put(ctx, repo, "status:"+sha+":"+st.Context, outboxWrite{SHA: sha, Status: &st})
}

// Comment stores a comment on an MR.
func (o Writer) Comment(ctx context.Context, repo forge.Repo, mr int, body string) error {
	return o.put(ctx, repo, "comment:"+o.o.newID(), outboxWrite{MR: mr, Body: body})
}

// put stores w as target's latest write and makes sure a job waits for it.
func (o Writer) put(ctx context.Context, repo forge.Repo, target string, w outboxWrite) error {
	payload, _ := json.Marshal(w)
	return o.o.q.InTx(ctx, func(tx queue.Tx) error {
		if err := state.PutOutbox(ctx, tx, state.OutboxKey{Forge: o.forge, Repo: repo.FullName, Target: target}, repo, payload); err != nil {
			return err
		}
		_, err := tx.Insert(ctx, jobs.Write{Forge: o.forge, RepoName: repo.FullName, Target: target}, jobs.OutboxOpts())
		if err != nil {
			return fmt.Errorf("queue forge write %s: %w", target, err)
		}
		return nil
	})
}

// Worker returns the River worker of the forge-write jobs.
func (o *Outbox) Worker() river.Worker[jobs.Write] { return &worker{o: o} }

type worker struct {
	river.WorkerDefaults[jobs.Write]
	o *Outbox
}

func (w *worker) Timeout(*river.Job[jobs.Write]) time.Duration { return 2 * time.Minute }

// Work delivers the target's latest write. When a newer one was stored
// meanwhile it runs again, so the last write is always delivered.
func (w *worker) Work(ctx context.Context, job *river.Job[jobs.Write]) error {
	b, a := w.o, job.Args
	f, ok := b.forges[a.Forge]
	if !ok {
		return river.JobCancel(fmt.Errorf("forge %q is not configured", a.Forge))
	}
	key := state.OutboxKey{Forge: a.Forge, Repo: a.RepoName, Target: a.Target}
	var ob state.Outbox
	if err := b.q.InTx(ctx, func(tx queue.Tx) error {
		var err error
		ob, err = state.GetOutbox(ctx, tx, key)
		return err
	}); err != nil {
		return fmt.Errorf("load forge write %s: %w", a.Target, err)
	}
	version := ob.Version
	if version != ob.Sent {
		var wr outboxWrite
		if err := json.Unmarshal(ob.Payload, &wr); err != nil {
			return river.JobCancel(fmt.Errorf("decode forge write %s: %w", a.Target, err))
		}
		if err := deliver(ctx, f, ob.Repo, wr); err != nil {
			return fmt.Errorf("forge write %s: %w", a.Target, err)
		}
	}
	again := false
	err := b.q.InTx(ctx, func(tx queue.Tx) error {
		v, err := state.OutboxSent(ctx, tx, key, version)
		if err != nil {
			return err
		}
		if again = v != version; again {
			return nil
		}
		return tx.Complete(ctx, job.JobRow)
	})
	if err != nil {
		return fmt.Errorf("record forge write %s: %w", a.Target, err)
	}
	if again {
		return river.JobSnooze(time.Millisecond)
	}
	return nil
}

func deliver(ctx context.Context, f forge.Forge, repo forge.Repo, w outboxWrite) error {
	if w.Status != nil {
		return f.SetStatus(ctx, repo, w.SHA, *w.Status)
	}
	_, err := f.CreateComment(ctx, repo, w.MR, w.Body)
	return err
}
