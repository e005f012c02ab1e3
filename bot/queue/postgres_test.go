package queue_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/queue/pgtest"
)

type pgArgs struct {
	ID string `json:"id"`
}

func (pgArgs) Kind() string { return "pg_test" }

type pgWorker struct{ river.WorkerDefaults[pgArgs] }

func (pgWorker) Work(context.Context, *river.Job[pgArgs]) error { return nil }

func TestPostgresAcceptRecordsEachDeliveryOnce(t *testing.T) {
	url := pgtest.Start(t)
	w := river.NewWorkers()
	river.AddWorker(w, pgWorker{})
	ctx := context.Background()
	q, err := queue.Open(ctx, queue.Options{Driver: "postgres", URL: url, Workers: w, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := map[string]int{}
	for i := 0; i < 120; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := fmt.Sprintf("d-%d", i%30)
			dup, err := q.Accept(ctx, queue.Delivery{Forge: "github", ID: id, Event: "issue_comment"}, pgArgs{ID: id}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			if !dup {
				mu.Lock()
				fresh[id]++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	var n int64
	if err := q.InTx(ctx, func(tx queue.Tx) error {
		return queue.QueryRow(ctx, tx, `SELECT count(*) FROM river_job WHERE kind = $1`, []any{"pg_test"}, &n)
	}); err != nil {
		t.Fatal(err)
	}
	if n != 30 || len(fresh) != 30 {
		t.Fatalf("%d jobs, %d ids accepted, want 30 and 30", n, len(fresh))
	}
	for id, c := range fresh {
		if c != 1 {
			t.Errorf("%s accepted %d times", id, c)
		}
	}
}
