package bot

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

// outbox queues one forge's writes (release.Notifier).
type outbox struct {
	b     *Bot
	forge string
}

func (o outbox) SetStatus(ctx context.Context, repo forge.Repo, sha string, st forge.Status) error {
	return o.put(ctx, repo, "status:"+sha+":"+st.Context, outboxWrite{SHA: sha, Status: &st})
}

func (o outbox) Comment(ctx context.Context, repo forge.Repo, mr int, body string) error {
	return o.put(ctx, repo, "comment:"+newID(), outboxWrite{MR: mr, Body: body})
}

// put stores w as target's latest write and makes sure a job waits for it.
func (o outbox) put(ctx context.Context, repo forge.Repo, target string, w outboxWrite) error {
	payload, _ := json.Marshal(w)
	return o.b.q.InTx(ctx, func(tx queue.Tx) error {
		if err := state.PutOutbox(ctx, tx, state.OutboxKey{Forge: o.forge, Repo: repo.FullName, Target: target}, repo, payload); err != nil {
			return err
		}
		_, err := tx.Insert(ctx, WriteArgs{Forge: o.forge, RepoName: repo.FullName, Target: target}, jobs.OutboxOpts())
		if err != nil {
			return fmt.Errorf("queue forge write %s: %w", target, err)
		}
		return nil
	})
}

type writeWorker struct {
	river.WorkerDefaults[WriteArgs]
	b *Bot
}

func (w *writeWorker) Timeout(*river.Job[WriteArgs]) time.Duration { return 2 * time.Minute }

// Work delivers the target's latest write. When a newer one was stored
// meanwhile it runs again, so the last write is always delivered.
func (w *writeWorker) Work(ctx context.Context, job *river.Job[WriteArgs]) error {
	b, a := w.b, job.Args
	f, err := b.forge(a.Forge)
	if err != nil {
		return river.JobCancel(err)
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
	err = b.q.InTx(ctx, func(tx queue.Tx) error {
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
