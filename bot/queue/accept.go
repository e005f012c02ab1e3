package queue

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
)

// Delivery is one webhook delivery, identified by the forge's delivery id.
type Delivery struct {
	Forge string
	ID    string
	Event string
}

type acceptReq struct {
	ctx  context.Context
	d    Delivery
	args river.JobArgs
	opts *river.InsertOpts
	dup  bool
	err  error
	done chan struct{}
}

// maxBatch bounds one group commit.
const maxBatch = 200 // 4 parameters each: under SQLite's 32766

// Accept records the delivery and enqueues args in one transaction, unless
// the delivery id was seen before (dup true: nothing enqueued). It returns
// once that transaction has committed. Concurrent calls share a commit.
func (q *Queue) Accept(ctx context.Context, d Delivery, args river.JobArgs, opts *river.InsertOpts) (dup bool, err error) {
	r := &acceptReq{ctx: ctx, d: d, args: args, opts: opts, done: make(chan struct{})}
	select {
	case q.batch <- r:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case <-r.done:
		return r.dup, r.err
	case <-ctx.Done():
		// The batch may still commit; a redelivery is then a duplicate.
		return false, ctx.Err()
	}
}

func (q *Queue) runBatcher() {
	defer close(q.done)
	batch := make([]*acceptReq, 0, maxBatch)
	var pace arrivals
	for first := range q.batch {
		pace.observe(time.Now())
		batch = append(batch[:0], first)
		var timer <-chan time.Time
		if pace.busy(q.window) {
			timer = time.After(q.window)
		}
		batch = q.collect(batch, timer, &pace)
		pace.batched(len(batch))
		q.commitBatch(batch)
	}
}

// collect adds what has already arrived to batch and, when timer is set,
// what arrives before it fires, up to maxBatch.
func (q *Queue) collect(batch []*acceptReq, timer <-chan time.Time, pace *arrivals) []*acceptReq {
	for len(batch) < maxBatch {
		var r *acceptReq
		var ok bool
		if timer == nil {
			select {
			case r, ok = <-q.batch:
			default:
				return batch
			}
		} else {
			select {
			case r, ok = <-q.batch:
			case <-timer:
				return batch
			}
		}
		if !ok {
			return batch
		}
		pace.observe(time.Now())
		batch = append(batch, r)
	}
	return batch
}

// arrivals keeps a moving average of the gap between deliveries, and
// whether they have lately come from more than one sender at a time. The
// batcher waits for more deliveries only when they come faster than two per
// window and concurrently: a commit's fixed cost (statements parsed, WAL
// frame written) is then shared. A lone delivery at a quiet time, or one
// sender posting one delivery after another, is committed at once and
// waits for no one.
type arrivals struct {
	last time.Time
	gap  time.Duration // moving average; 0 until two deliveries were seen
	// shared is set to sharedFor by a batch of more than one delivery
	// and counts down by one with each batch of one.
	shared int
}

// sharedFor is how many batches of one delivery end a busy spell.
const sharedFor = 16

func (a *arrivals) observe(now time.Time) {
	if !a.last.IsZero() {
		// A quiet spell counts as 100 ms, so a burst after it is seen
		// as one within a few dozen deliveries.
		g := min(now.Sub(a.last), 100*time.Millisecond)
		if a.gap == 0 {
			a.gap = g
		} else {
			a.gap += (g - a.gap) / 8
		}
	}
	a.last = now
}

func (a *arrivals) batched(n int) {
	switch {
	case n > 1:
		a.shared = sharedFor
	case a.shared > 0:
		a.shared--
	}
}

// busy says whether, at the average pace, at least two more deliveries
// arrive within window from senders that do not wait for each other.
func (a *arrivals) busy(window time.Duration) bool {
	return window > 0 && a.shared > 0 && a.gap > 0 && 2*a.gap <= window
}

func (q *Queue) commitBatch(batch []*acceptReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if r.ctx.Err() != nil {
			r.err = r.ctx.Err()
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	now := start.UnixMilli()
	defer func() {
		if d := time.Since(start); d > 50*time.Millisecond {
			q.log.Warn().Dur("took", d).Int("deliveries", len(live)).Msg("slow delivery commit")
		}
	}()
	err := q.InTx(ctx, func(tx Tx) error {
		// One statement records the whole batch; RETURNING names the new
		// deliveries, every other one is a duplicate.
		var sb strings.Builder
		args := make([]any, 0, 4*len(live))
		sb.WriteString(`INSERT INTO imagebot_delivery (forge, id, event, received_ms) VALUES `)
		for i, r := range live {
			if i > 0 {
				sb.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4)
			args = append(args, r.d.Forge, r.d.ID, r.d.Event, now)
		}
		sb.WriteString(` ON CONFLICT (forge, id) DO NOTHING RETURNING forge, id`)
		rows, err := tx.Query(ctx, sb.String(), args...)
		if err != nil {
			return fmt.Errorf("record %d deliveries: %w", len(live), err)
		}
		fresh := map[[2]string]bool{}
		for rows.Next() {
			var k [2]string
			if err := rows.Scan(&k[0], &k[1]); err != nil {
				rows.Close()
				return err
			}
			fresh[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var params []river.InsertManyParams
		for _, r := range live {
			k := [2]string{r.d.Forge, r.d.ID}
			r.dup = !fresh[k]
			delete(fresh, k) // the same id twice in one batch: the second is a duplicate
			if !r.dup && r.args != nil {
				params = append(params, river.InsertManyParams{Args: r.args, InsertOpts: r.opts})
			}
		}
		if len(params) == 0 {
			return nil
		}
		if _, err := tx.InsertManyFast(ctx, params); err != nil {
			return fmt.Errorf("enqueue %d events: %w", len(params), err)
		}
		return nil
	})
	for _, r := range live {
		if err != nil {
			r.err, r.dup = err, false
		}
		close(r.done)
	}
}
