package bot

import (
	"strings"
	"sync"
	"time"

	"github.com/imagebot/imagebot/bot/state"
)

const maxSteps = state.MaxSteps

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
