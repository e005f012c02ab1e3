package builds

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/report/outbox"
	"github.com/imagebot/imagebot/bot/state"
)

// Heartbeat failover. River's rescuer re-queues a job only by its age
// (queue.rescue_after, which must exceed the longest build), so a build
// host that dies mid-build would hold its build for hours. Instead the
// host running a build beats its heartbeat row every Deps.Heartbeat; a
// periodic sweep in the serve processes takes back the River job of a
// build whose heartbeat is older than queue.lost_after, so that another
// host runs it. The heartbeat row is also the fence: a host that finds
// its claim gone (its beat came too late) stops the build and records
// nothing.

// hostName names this process in heartbeats: host and pid, so two build
// processes on one machine are told apart.
func hostName() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", h, os.Getpid())
}

// heartbeat is a running build's claim, kept alive by beat.
type heartbeat struct {
	h          state.Heartbeat
	superseded atomic.Bool
}

// startHeartbeat claims j for this host in tx (the build's start); it
// reports whether the previous attempt was lost with its host.
// Without a heartbeat interval nothing is claimed: the build is never
// taken back.
func (p *Pipeline) startHeartbeat(ctx context.Context, tx queue.Tx, j *Job) (bool, error) {
	if p.d.Heartbeat <= 0 {
		return false, nil
	}
	j.beat = &heartbeat{h: state.Heartbeat{BuildID: j.ID, JobID: j.JobID, Attempt: j.Attempt, Host: p.d.Host}}
	return state.StartHeartbeat(ctx, tx, j.beat.h, time.Now())
}

// beat keeps j's claim alive every Deps.Heartbeat until ctx ends; a claim
// found gone cancels the build (another host runs it now).
func (p *Pipeline) beat(ctx context.Context, j *Job, cancel context.CancelFunc) {
	if j.beat == nil {
		return
	}
	t := time.NewTicker(p.d.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var ok bool
		err := p.d.Queue.InTx(ctx, func(tx queue.Tx) (err error) {
			ok, err = state.Beat(ctx, tx, j.beat.h, time.Now())
			return err
		})
		switch {
		case err != nil && ctx.Err() == nil:
			j.log.Warn().Err(err).Msg("heartbeat")
		case err == nil && !ok:
			j.log.Warn().Msg("build declared lost (heartbeat too late): another host runs it, stopping here")
			j.beat.superseded.Store(true)
			cancel()
			return
		}
	}
}

// superseded reports whether j's claim was taken (checked again in the
// database, for a host whose last beat was not due yet).
func (p *Pipeline) superseded(ctx context.Context, j *Job) bool {
	if j.beat == nil {
		return false
	}
	if j.beat.superseded.Load() {
		return true
	}
	var gone bool
	err := p.d.Queue.InTx(ctx, func(tx queue.Tx) (err error) {
		gone, err = state.Superseded(ctx, tx, j.beat.h)
		return err
	})
	if err != nil {
		j.log.Warn().Err(err).Msg("check heartbeat claim")
	}
	return gone
}

// errSuperseded ends a build whose claim another attempt holds.
var errSuperseded = errors.New("build taken over by another host")

// park holds a superseded build's worker until no attempt of its River job
// runs any more (or this process stops): River completes a job that is
// running whichever attempt runs it, so returning at once would mark the
// new attempt's job completed under it.
func (p *Pipeline) park(ctx context.Context, j *Job) {
	every := max(p.d.Heartbeat, time.Second)
	for {
		var running bool
		err := p.d.Queue.InTx(ctx, func(tx queue.Tx) error {
			row, err := tx.Job(ctx, j.JobID)
			if err != nil {
				return err
			}
			running = row.State == rivertype.JobStateRunning && row.Attempt > j.Attempt
			return nil
		})
		if err != nil || !running {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// noteLost is the build's note when its previous host was lost.
const noteLost = "build host lost, re-running"

// FailoverArgs is the periodic sweep for lost builds.
type FailoverArgs struct {
	LostAfter time.Duration `json:"lost_after"`
}

// Kind names the job.
func (FailoverArgs) Kind() string { return "build_failover" }

// FailoverPeriodic is the sweep's periodic job: on PostgreSQL (the fleet)
// with lostAfter > 0, every quarter of lostAfter (1 s to 30 s). SQLite is
// one process, whose restart re-queues its own builds.
func FailoverPeriodic(driver string, lostAfter time.Duration) []*river.PeriodicJob {
	if driver != "postgres" || lostAfter <= 0 {
		return nil
	}
	every := min(max(lostAfter/4, time.Second), 30*time.Second)
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) {
			return FailoverArgs{LostAfter: lostAfter}, &river.InsertOpts{Queue: jobs.QueueEvents, MaxAttempts: 1}
		}, &river.PeriodicJobOpts{RunOnStart: true})}
}

// FailoverWorker runs the sweep.
type FailoverWorker struct {
	river.WorkerDefaults[FailoverArgs]
	p *Pipeline
}

// NewFailoverWorker is the sweep's worker over p.
func NewFailoverWorker(p *Pipeline) *FailoverWorker { return &FailoverWorker{p: p} }

// Work takes back every lost build.
func (w *FailoverWorker) Work(ctx context.Context, job *river.Job[FailoverArgs]) error {
	return w.p.Failover(ctx, job.Args.LostAfter)
}

// Failover puts the builds whose heartbeat is older than lostAfter back on
// the queue ("build host lost, re-running"), or ends them as interrupted
// when their job has no attempt left. One transaction per build.
func (p *Pipeline) Failover(ctx context.Context, lostAfter time.Duration) error {
	var lost []state.LostBuild
	err := p.d.Queue.InTx(ctx, func(tx queue.Tx) (err error) {
		lost, err = state.LostBuilds(ctx, tx, time.Now().Add(-lostAfter))
		return err
	})
	if err != nil {
		return err
	}
	for _, x := range lost {
		if err := p.takeLost(ctx, x); err != nil {
			return err
		}
	}
	return p.rescueOutbox(ctx, lostAfter)
}

// outboxKinds are the jobs that write to forges and sinks: unique per MR
// or event, so one a dead replica left "running" would freeze that MR's
// comment and statuses.
var outboxKinds = []string{jobs.Report{}.Kind(), jobs.Write{}.Kind(), jobs.Notify{}.Kind()}

// outboxHold is how long a live worker may hold an outbox job: its longest
// timeout (2 min) and a margin.
const outboxHold = 2*time.Minute + 30*time.Second

// rescueOutbox takes back the outbox jobs a lost process was running.
func (p *Pipeline) rescueOutbox(ctx context.Context, lostAfter time.Duration) error {
	var n int64
	err := p.d.Queue.InTx(ctx, func(tx queue.Tx) (err error) {
		n, err = state.RescueStuck(ctx, tx, outboxKinds, max(lostAfter, outboxHold))
		return err
	})
	if n > 0 {
		p.d.Log.Warn().Int64("jobs", n).Msg("outbox jobs of a lost process taken back")
	}
	return err
}

func (p *Pipeline) takeLost(ctx context.Context, x state.LostBuild) error {
	return p.d.Queue.InTx(ctx, func(tx queue.Tx) error {
		ok, err := state.TakeLost(ctx, tx, x, time.Now())
		if err != nil || !ok {
			return err
		}
		change := []state.Change{state.Status(state.StatusQueued), state.Note(noteLost)}
		if x.LastAttempt {
			change = []state.Change{state.Status("interrupted"), state.Note(""), state.Finished(time.Now()),
				state.Error("the build host was lost while this build ran, on its last attempt; comment `/retry` to build it again")}
		}
		if err := state.UpdateBuild(ctx, tx, x.BuildID, change...); err != nil {
			return err
		}
		p.d.Log.Warn().Str("build", x.BuildID).Str("host", x.Host).Int("attempt", x.Attempt).
			Time("last_beat", x.LastBeat).Bool("last_attempt", x.LastAttempt).Msg("build host lost: build taken back")
		return outbox.Bump(ctx, tx, x.Forge, x.Repo, x.MR)
	})
}
