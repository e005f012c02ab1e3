package queue

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// riverBackend implements backend for one River driver; TTx is the
// driver's transaction type (*sql.Tx or pgx.Tx).
type riverBackend[TTx any] struct {
	name     string
	client   *river.Client[TTx]
	begin    func(ctx context.Context) (TTx, error)
	commit   func(ctx context.Context, tx TTx) error
	rollback func(ctx context.Context, tx TTx) error
	exec     func(ctx context.Context, tx TTx, sql string, args ...any) (int64, error)
	query    func(ctx context.Context, tx TTx, sql string, args ...any) (Rows, error)
	complete func(ctx context.Context, tx TTx, job *rivertype.JobRow) error
	pingFn   func(ctx context.Context) error
	closeFn  func()
}

func newClient[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], o Options, pollOnly bool) (*river.Client[TTx], error) {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: riverLogger()})
	if err != nil {
		return nil, fmt.Errorf("river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("river migrate: %w", err)
	}
	cfg := &river.Config{
		Logger:               riverLogger(),
		Workers:              o.Workers,
		PeriodicJobs:         o.Periodic,
		PollOnly:             pollOnly,
		FetchPollInterval:    250 * time.Millisecond,
		FetchCooldown:        50 * time.Millisecond,
		RescueStuckJobsAfter: o.RescueAfter,
		MaxAttempts:          25,
		JobTimeout:           -1, // builds carry their own deadline
		ErrorHandler:         &errorLogger{log: o.Log, redact: o.Redact},
	}
	if len(o.Queues) > 0 {
		cfg.Queues = map[string]river.QueueConfig{}
		for name, n := range o.Queues {
			cfg.Queues[name] = river.QueueConfig{MaxWorkers: n}
		}
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return client, nil
}

func riverLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func (b *riverBackend[TTx]) dialect() string                 { return b.name }
func (b *riverBackend[TTx]) start(ctx context.Context) error { return b.client.Start(ctx) }
func (b *riverBackend[TTx]) stop(ctx context.Context) error  { return b.client.StopAndCancel(ctx) }
func (b *riverBackend[TTx]) ping(ctx context.Context) error  { return b.pingFn(ctx) }
func (b *riverBackend[TTx]) close()                          { b.closeFn() }
func (b *riverBackend[TTx]) subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return b.client.Subscribe(kinds...)
}

func (b *riverBackend[TTx]) inTx(ctx context.Context, fn func(Tx) error) error {
	tx, err := b.begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&txImpl[TTx]{b: b, tx: tx}); err != nil {
		_ = b.rollback(context.WithoutCancel(ctx), tx)
		return err
	}
	if err := b.commit(ctx, tx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

type txImpl[TTx any] struct {
	b  *riverBackend[TTx]
	tx TTx
}

func (t *txImpl[TTx]) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	return t.b.exec(ctx, t.tx, sql, args...)
}

func (t *txImpl[TTx]) Query(ctx context.Context, sql string, args ...any) (Rows, error) {
	return t.b.query(ctx, t.tx, sql, args...)
}

func (t *txImpl[TTx]) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return t.b.client.InsertTx(ctx, t.tx, args, opts)
}

func (t *txImpl[TTx]) InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	return t.b.client.InsertManyTx(ctx, t.tx, params)
}

func (t *txImpl[TTx]) Cancel(ctx context.Context, jobID int64) error {
	_, err := t.b.client.JobCancelTx(ctx, t.tx, jobID)
	return err
}

func (t *txImpl[TTx]) Job(ctx context.Context, jobID int64) (*rivertype.JobRow, error) {
	return t.b.client.JobGetTx(ctx, t.tx, jobID)
}

func (t *txImpl[TTx]) Complete(ctx context.Context, job *rivertype.JobRow) error {
	return t.b.complete(ctx, t.tx, job)
}

func (t *txImpl[TTx]) InsertManyFast(ctx context.Context, params []river.InsertManyParams) (int, error) {
	return t.b.client.InsertManyFastTx(ctx, t.tx, params)
}
