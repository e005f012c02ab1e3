package bot

import (
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

func (b *Bot) tail(id string) *logTail {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tails[id]
}

// subscribeLog returns new log lines of a build running in this process (a
// nil channel otherwise) and a function to stop.
func (b *Bot) subscribeLog(id string) (<-chan string, func()) {
	t := b.tail(id)
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
