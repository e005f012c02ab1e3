package queue

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/rs/zerolog"
)

type noteArgs struct {
	Delivery string `json:"delivery"`
}

func (noteArgs) Kind() string { return "test_note" }

type noteWorker struct {
	river.WorkerDefaults[noteArgs]
}

func (noteWorker) Work(context.Context, *river.Job[noteArgs]) error { return nil }

func openTest(t *testing.T) *Queue { return openTestTB(t) }

func openTestTB(t testing.TB) *Queue { return openWindow(t, 0) }

// openWindow opens a test queue whose batcher waits up to window.
func openWindow(t testing.TB, window time.Duration) *Queue {
	t.Helper()
	w := river.NewWorkers()
	river.AddWorker(w, noteWorker{})
	q, err := Open(context.Background(), Options{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "q.db"),
		Synchronous: "normal", Workers: w, Log: zerolog.Nop(), BatchWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	return q
}

func countJobs(t *testing.T, q *Queue) int64 {
	t.Helper()
	var n int64
	err := q.InTx(context.Background(), func(tx Tx) error {
		return QueryRow(context.Background(), tx, `SELECT count(*) FROM river_job WHERE kind = $1`, []any{"test_note"}, &n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAcceptRecordsEachDeliveryOnceUnderConcurrency(t *testing.T) {
	for _, window := range []time.Duration{0, 2 * time.Millisecond, 50 * time.Millisecond} {
		t.Run(fmt.Sprint("window ", window), func(t *testing.T) { acceptConcurrently(t, openWindow(t, window)) })
	}
}

func acceptConcurrently(t *testing.T, q *Queue) {
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	dups := map[string]int{}
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := fmt.Sprintf("d-%d", i%50) // each id 4 times
			dup, err := q.Accept(ctx, Delivery{Forge: "gitlab", ID: id, Event: "Note Hook"}, noteArgs{Delivery: id}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			if dup {
				mu.Lock()
				dups[id]++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if got := countJobs(t, q); got != 50 {
		t.Fatalf("jobs = %d, want 50 (one per delivery id)", got)
	}
	for id, n := range dups {
		if n != 3 {
			t.Errorf("delivery %s: %d duplicates, want 3", id, n)
		}
	}
	if len(dups) != 50 {
		t.Errorf("%d ids saw duplicates, want 50", len(dups))
	}
	// The same id from another forge is a different delivery.
	dup, err := q.Accept(ctx, Delivery{Forge: "github", ID: "d-1", Event: "x"}, noteArgs{}, nil)
	if err != nil || dup {
		t.Fatalf("github d-1: dup=%v err=%v, want a new delivery", dup, err)
	}
}

// A delivery at a quiet time must not wait for the batch window: the
// window is long here, so a wait would show as a second or more.
func TestAcceptDoesNotHoldALoneDelivery(t *testing.T) {
	q := openWindow(t, 10*time.Second)
	for i := range 3 {
		start := time.Now()
		id := fmt.Sprintf("quiet-%d", i)
		if dup, err := q.Accept(context.Background(), Delivery{Forge: "gitlab", ID: id, Event: "Note Hook"}, noteArgs{Delivery: id}, nil); err != nil || dup {
			t.Fatalf("accept %s: dup=%v err=%v", id, dup, err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("accept %s took %v: a lone delivery waited for the 10 s window", id, took)
		}
	}
	if got := countJobs(t, q); got != 3 {
		t.Fatalf("jobs = %d, want 3", got)
	}
}

func TestRequeueRunningOnReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	ctx := context.Background()
	w := river.NewWorkers()
	river.AddWorker(w, noteWorker{})
	q, err := Open(ctx, Options{Driver: "sqlite", Path: path, Synchronous: "full", Workers: w, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	for i, attempt := range []int{1, 2} {
		err := q.InTx(ctx, func(tx Tx) error {
			res, err := tx.Insert(ctx, noteArgs{Delivery: fmt.Sprint(i)}, &river.InsertOpts{MaxAttempts: 2})
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = $1 WHERE id = $2`, attempt, res.Job.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	q.Close(ctx)
	q, err = Open(ctx, Options{Driver: "sqlite", Path: path, Synchronous: "full", Workers: w, RequeueRunning: true, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(ctx)
	got := map[string]string{}
	err = q.InTx(ctx, func(tx Tx) error {
		rows, err := tx.Query(ctx, `SELECT attempt, state FROM river_job ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a int64
			var s string
			if err := rows.Scan(&a, &s); err != nil {
				return err
			}
			got[fmt.Sprint(a)] = s
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if got["1"] != "available" || got["2"] != "discarded" {
		t.Fatalf("states by attempt = %v, want attempt 1 available, attempt 2 discarded", got)
	}
}

func TestArrivalsWaitOnlyWhenBusy(t *testing.T) {
	const window = 2 * time.Millisecond
	tests := []struct {
		name    string
		gaps    []time.Duration // between successive deliveries
		batches []int           // sizes of the batches committed meanwhile
		want    bool
	}{
		{"nothing seen yet", nil, nil, false},
		{"one delivery", []time.Duration{0}, []int{1}, false},
		{"200 per second", repeat(5*time.Millisecond, 50), []int{2, 1}, false},
		{"500 per second: one per 2 ms", repeat(2*time.Millisecond, 50), []int{2, 1}, false},
		{"1000 per second", repeat(time.Millisecond, 50), []int{2, 1}, true},
		{"3000 per second", repeat(time.Millisecond/3, 50), []int{3}, true},
		{"3000 per second from one sender", repeat(time.Millisecond/3, 50), []int{1, 1, 1}, false},
		{"a shared batch 15 batches ago", repeat(time.Millisecond/3, 50), append([]int{2}, ones(15)...), true},
		{"a shared batch 16 batches ago", repeat(time.Millisecond/3, 50), append([]int{2}, ones(16)...), false},
		{"busy, then a quiet second", append(repeat(time.Millisecond/3, 50), time.Second), []int{3}, false},
		{"quiet, then a burst", append([]time.Duration{0, time.Minute}, repeat(time.Millisecond/3, 40)...), []int{1, 4}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a arrivals
			now := time.Unix(0, 0)
			for _, g := range tt.gaps {
				now = now.Add(g)
				a.observe(now)
			}
			for _, n := range tt.batches {
				a.batched(n)
			}
			if got := a.busy(window); got != tt.want {
				t.Errorf("busy(%v) = %v after gaps averaging %v, shared %d, want %v", window, got, a.gap, a.shared, tt.want)
			}
			if a.busy(0) {
				t.Errorf("busy(0) = true: a zero window must never wait")
			}
		})
	}
}

func ones(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}
