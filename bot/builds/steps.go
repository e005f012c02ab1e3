package builds

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/state"
)

const maxSteps = state.MaxSteps

// StepRecord is one entry of a build's step timeline.
type StepRecord = state.StepRecord

// stepQueue collects a running build's step events so that none is lost
// while the database is busy; the build's callback never blocks on it.
type stepQueue struct {
	mu      sync.Mutex
	pending []StepRecord
	wake    chan struct{}
}

func newStepQueue() *stepQueue { return &stepQueue{wake: make(chan struct{}, 1)} }

func (q *stepQueue) add(name string) {
	q.mu.Lock()
	if len(q.pending) < maxSteps {
		q.pending = append(q.pending, StepRecord{Name: strings.TrimSpace(name), Started: time.Now()})
	} else { // the writer is far behind: keep the newest
		q.pending = append(q.pending[1:], StepRecord{Name: strings.TrimSpace(name), Started: time.Now()})
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *stepQueue) take() []StepRecord {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.pending
	q.pending = nil
	return out
}

// stepWriter records the steps q collects until stop is closed, then the
// rest.
func (p *Pipeline) stepWriter(ctx context.Context, j *Job, q *stepQueue, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-q.wake:
			p.steps(ctx, j, q.take())
		case <-stop:
			p.steps(ctx, j, q.take())
			return
		}
	}
}

func (p *Pipeline) step(ctx context.Context, j *Job, step string) {
	p.steps(ctx, j, []state.StepRecord{{Name: strings.TrimSpace(step), Started: time.Now()}})
}

// steps appends to the build's timeline; the last is its current step.
func (p *Pipeline) steps(ctx context.Context, j *Job, steps []state.StepRecord) {
	if len(steps) == 0 {
		return
	}
	for i := range steps {
		steps[i].Name = p.redact(steps[i].Name)
	}
	step := steps[len(steps)-1].Name
	j.tail.setStep(step)
	tail := p.redact(j.tail.String())
	ctx = context.WithoutCancel(ctx)
	err := p.d.Queue.InTx(ctx, func(tx queue.Tx) error {
		if err := state.UpdateBuild(ctx, tx, j.ID, state.Step(step), state.LogTail(tail)); err != nil {
			return err
		}
		if err := state.RecordSteps(ctx, tx, j.ID, steps); err != nil {
			return err
		}
		return p.bump(ctx, tx, j)
	})
	if err != nil {
		p.d.Log.Warn().Err(err).Str("build", j.ID).Msg("record step")
	}
}
