package queue

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/rs/zerolog"
)

// failArgs has the shape of the bot's event job: an event about an MR.
type failArgs struct {
	Event struct {
		Type string
		MR   struct{ Number int }
	} `json:"event"`
}

func (failArgs) Kind() string { return "imagebot_event" }

type failWorker struct {
	river.WorkerDefaults[failArgs]
}

func (failWorker) Work(context.Context, *river.Job[failArgs]) error {
	return errors.New("get merge request 7: 404 Not Found (token glpat-SECRET)")
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestFailedJobWritesAWarnLineNamingKindMRAttemptAndMaskedError(t *testing.T) {
	ctx := context.Background()
	var logs syncBuf
	w := river.NewWorkers()
	river.AddWorker(w, failWorker{})
	q, err := Open(ctx, Options{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "q.db"), Synchronous: "normal",
		Workers: w, Queues: map[string]int{river.QueueDefault: 1}, Log: zerolog.New(&logs),
		Redact: func(s string) string { return strings.ReplaceAll(s, "glpat-SECRET", "[REDACTED]") }})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(ctx)
	var a failArgs
	a.Event.Type, a.Event.MR.Number = "comment", 7
	if err := q.InTx(ctx, func(tx Tx) error { _, err := tx.Insert(ctx, a, nil); return err }); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "404 Not Found") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "404 Not Found") {
			line = l
		}
	}
	for _, want := range []string{`"level":"warn"`, `"job_kind":"imagebot_event"`, `"mr":7`, `"attempt":1`, "get merge request 7: 404 Not Found", "[REDACTED]"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %s", line, want)
		}
	}
	if strings.Contains(logs.String(), "glpat-SECRET") {
		t.Errorf("the secret reached the log: %s", logs.String())
	}
}
