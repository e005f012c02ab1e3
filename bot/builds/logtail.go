package builds

import (
	"context"
	"strings"
	"sync"
)

// logTail keeps the last lines of a running build's (already redacted) log
// and hands new lines to live subscribers (the SSE stream).
type logTail struct {
	mu    sync.Mutex
	max   int
	lines []string
	step  string // the latest step
	subs  map[chan string]struct{}
}

func newLogTail(max int) *logTail {
	if max <= 0 {
		max = 30
	}
	return &logTail{max: max, subs: map[chan string]struct{}{}}
}

func (t *logTail) Add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = append(t.lines[:0], t.lines[len(t.lines)-t.max:]...)
	}
	for ch := range t.subs {
		select {
		case ch <- line:
		default: // a slow reader misses lines rather than slowing the build
		}
	}
}

func (t *logTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

func (t *logTail) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for ch := range t.subs {
		close(ch)
		delete(t.subs, ch)
	}
}

func (t *logTail) setStep(step string) {
	t.mu.Lock()
	t.step = step
	t.mu.Unlock()
}

// Step is the latest step the build reported.
func (t *logTail) Step() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.step
}

// Tracker knows the builds running in this process: how to cancel them
// and their live log tails.
type Tracker struct {
	mu      sync.Mutex
	running map[string]context.CancelFunc // build id -> cancel
	tails   map[string]*logTail           // build id -> live log tail
}

// NewTracker is an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{running: map[string]context.CancelFunc{}, tails: map[string]*logTail{}}
}

// track makes a build running in this process cancellable and its log tail
// readable; the func it returns undoes that and closes tail.
func (r *Tracker) track(id string, cancel context.CancelFunc, tail *logTail) func() {
	r.mu.Lock()
	r.running[id], r.tails[id] = cancel, tail
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.running, id)
		delete(r.tails, id)
		r.mu.Unlock()
		tail.close()
	}
}

// Cancel stops the listed builds that run in this process.
func (r *Tracker) Cancel(ids ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if cancel := r.running[id]; cancel != nil {
			cancel()
		}
	}
}

func (r *Tracker) tail(id string) *logTail {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tails[id]
}

// Tail is the live log tail of a build running here ("", false otherwise).
func (r *Tracker) Tail(id string) (string, bool) {
	t := r.tail(id)
	if t == nil {
		return "", false
	}
	return t.String(), true
}

// Subscribe returns new log lines of a build running in this process (a
// nil channel otherwise) and a function to stop.
func (r *Tracker) Subscribe(id string) (<-chan string, func()) {
	t := r.tail(id)
	if t == nil {
		return nil, func() {}
	}
	ch := make(chan string, 256)
	t.mu.Lock()
	t.subs[ch] = struct{}{}
	t.mu.Unlock()
	return ch, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if _, ok := t.subs[ch]; ok {
			delete(t.subs, ch)
			close(ch)
		}
	}
}
