package queue

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

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

func openTestTB(t testing.TB) *Queue {
	t.Helper()
	w := river.NewWorkers()
	river.AddWorker(w, noteWorker{})
	q, err := Open(context.Background(), Options{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "q.db"),
		Synchronous: "normal", Workers: w, Log: zerolog.Nop()})
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
	q := openTest(t)
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
