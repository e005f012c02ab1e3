package outbox

// Notifications (runner/notify): each event for each subscribed sink is one
// job (jobs.Notify) carrying the event; a run makes one attempt, and River
// retries it with its backoff while the sink says another attempt may
// succeed, so a receiver's outage delays a notification but loses none.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/runner/notify"
)

// SetSinks gives the outbox the configured notification sinks.
func (o *Outbox) SetSinks(sinks []notify.Sink) {
	o.sinks = map[string]notify.Sink{}
	for _, s := range sinks {
		o.sinks[s.Name()] = s
	}
}

// Notify queues evs for every sink subscribed to their kind.
func (o *Outbox) Notify(ctx context.Context, evs []notify.Event) error {
	if len(o.sinks) == 0 || len(evs) == 0 {
		return nil
	}
	return o.q.InTx(ctx, func(tx queue.Tx) error {
		for _, ev := range evs {
			if ev.ID == "" {
				ev.ID = notify.NewID()
			}
			if ev.At.IsZero() {
				ev.At = time.Now().UTC()
			}
			for name, s := range o.sinks {
				if !s.Wants(ev.Kind) {
					continue
				}
				if _, err := tx.Insert(ctx, jobs.Notify{Sink: name, EventID: ev.ID, Event: ev}, jobs.NotifyOpts()); err != nil {
					return fmt.Errorf("queue notification %s to %s: %w", ev.Kind, name, err)
				}
			}
		}
		return nil
	})
}

// NotifyWorker returns the River worker of the notification jobs.
func (o *Outbox) NotifyWorker() river.Worker[jobs.Notify] { return &notifyWorker{o: o} }

type notifyWorker struct {
	river.WorkerDefaults[jobs.Notify]
	o *Outbox
}

func (w *notifyWorker) Timeout(*river.Job[jobs.Notify]) time.Duration { return time.Minute }

// Work makes one delivery attempt. A final refusal (a 4xx other than 408
// and 429) cancels the job; a receiver's Retry-After snoozes it.
func (w *notifyWorker) Work(ctx context.Context, job *river.Job[jobs.Notify]) error {
	s, ok := w.o.sinks[job.Args.Sink]
	if !ok {
		return river.JobCancel(fmt.Errorf("notification sink %q is not configured", job.Args.Sink))
	}
	err := s.Send(ctx, job.Args.Event)
	var de *notify.DeliveryError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &de) && !de.Retryable:
		return river.JobCancel(err)
	case errors.As(err, &de) && de.RetryAfter > 0:
		return river.JobSnooze(de.RetryAfter)
	}
	return err
}
