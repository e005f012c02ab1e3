// Package queue owns imagebot's durable queue and database: River on an
// embedded SQLite file by default (riversqlite on modernc.org/sqlite, WAL,
// one writer connection) or on PostgreSQL (riverpgxv5) for a fleet. It
// records webhook deliveries by id in the same transaction that enqueues
// the job handling them, batching concurrent deliveries into one commit.
package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"
)

// ErrNoRows is returned by QueryRow when the query matched nothing.
var ErrNoRows = errors.New("no rows")

// Rows is a result set of either driver.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Tx is one transaction: SQL on imagebot's own tables and River calls that
// commit or roll back with it. SQL uses $1, $2, ... placeholders, each used
// once and in order, so that it runs on SQLite and PostgreSQL alike.
type Tx interface {
	Exec(ctx context.Context, sql string, args ...any) (int64, error)
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	// InsertManyFast inserts without returning the rows (the webhook path).
	InsertManyFast(ctx context.Context, params []river.InsertManyParams) (int, error)
	// Cancel cancels a queued job now, or marks a running one so that its
	// worker's context is cancelled (River polls or is notified).
	Cancel(ctx context.Context, jobID int64) error
	Job(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	// Complete marks the running job (ctx is its worker's context) completed
	// in this transaction, so that what the transaction read and the job's
	// end are one step.
	Complete(ctx context.Context, job *rivertype.JobRow) error
}

// rowArgs stands for any job's arguments where only the row matters.
type rowArgs struct{}

func (rowArgs) Kind() string { return "" }

// QueryRow runs a query expected to return one row and scans it.
func QueryRow(ctx context.Context, tx Tx, sql string, args []any, dest ...any) error {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return ErrNoRows
	}
	return rows.Scan(dest...)
}

// Options configure Open.
type Options struct {
	Driver      string // sqlite or postgres
	Path        string // sqlite file
	URL         string // postgres connection string
	Synchronous string // sqlite: full or normal
	Workers     *river.Workers
	// Periodic are jobs River inserts on a schedule (on the leader only).
	Periodic []*river.PeriodicJob
	// Queues maps queue name to how many jobs of it this process works at
	// once; empty: this process only inserts (webhook intake).
	Queues      map[string]int
	RescueAfter time.Duration
	// BatchWindow is the longest the delivery batcher waits for more
	// deliveries before committing, and only while they arrive faster than
	// two per window; 0 never waits: it commits whatever has arrived
	// meanwhile.
	BatchWindow time.Duration
	// RequeueRunning is set for a single embedded process: at start, jobs
	// left running by a dead process are re-queued (or discarded after
	// their last attempt) at once instead of after RescueAfter.
	RequeueRunning bool
	Log            zerolog.Logger
	// Redact masks secrets in the error of a failed job before it is
	// logged; nil logs it as it is.
	Redact func(string) string
}

// Queue is the open database with its River client.
type Queue struct {
	b       backend
	log     zerolog.Logger
	batch   chan *acceptReq
	window  time.Duration
	done    chan struct{}
	working bool
}

// backend is one driver's implementation.
type backend interface {
	inTx(ctx context.Context, fn func(Tx) error) error
	start(ctx context.Context) error
	stop(ctx context.Context) error
	ping(ctx context.Context) error
	close()
	dialect() string
	subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// Open opens (and migrates) the database and creates the River client. Call
// Start to begin working jobs, Close at the end.
func Open(ctx context.Context, o Options) (*Queue, error) {
	var b backend
	var err error
	switch o.Driver {
	case "", "sqlite":
		b, err = openSQLite(ctx, o)
	case "postgres":
		b, err = openPostgres(ctx, o)
	default:
		return nil, fmt.Errorf("open queue: unknown driver %q", o.Driver)
	}
	if err != nil {
		return nil, err
	}
	q := &Queue{b: b, log: o.Log, batch: make(chan *acceptReq, 4096), window: o.BatchWindow,
		done: make(chan struct{}), working: len(o.Queues) > 0}
	if err := q.InTx(ctx, func(tx Tx) error { return migrate(ctx, tx, ownSchema) }); err != nil {
		b.close()
		return nil, fmt.Errorf("open queue: create tables: %w", err)
	}
	go q.runBatcher()
	return q, nil
}

// Dialect is "sqlite" or "postgres".
func (q *Queue) Dialect() string { return q.b.dialect() }

// Start begins working the configured queues.
func (q *Queue) Start(ctx context.Context) error {
	if !q.working {
		return nil
	}
	return q.b.start(ctx)
}

// Close stops working jobs (running ones are left to be re-queued), stops
// the batcher and closes the database.
func (q *Queue) Close(ctx context.Context) {
	if q.working {
		if err := q.b.stop(ctx); err != nil {
			q.log.Warn().Err(err).Msg("stop queue")
		}
	}
	close(q.batch)
	<-q.done
	q.b.close()
}

// InTx runs fn in a transaction, committed when fn returns nil.
func (q *Queue) InTx(ctx context.Context, fn func(Tx) error) error { return q.b.inTx(ctx, fn) }

// Ping checks that the database answers.
func (q *Queue) Ping(ctx context.Context) error { return q.b.ping(ctx) }

// Subscribe returns River events of the given kinds (job completed, failed,
// cancelled, ...) seen by this process, and a function to stop.
func (q *Queue) Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return q.b.subscribe(kinds...)
}

// Migrate runs CREATE TABLE/INDEX IF NOT EXISTS statements (portable SQL).
func (q *Queue) Migrate(ctx context.Context, stmts []string) error {
	return q.InTx(ctx, func(tx Tx) error { return migrate(ctx, tx, stmts) })
}

func migrate(ctx context.Context, tx Tx, stmts []string) error {
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", firstLine(s), err)
		}
	}
	return nil
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

var ownSchema = []string{
	`CREATE TABLE IF NOT EXISTS imagebot_delivery (
	forge TEXT NOT NULL,
	id TEXT NOT NULL,
	event TEXT NOT NULL,
	received_ms BIGINT NOT NULL,
	PRIMARY KEY (forge, id))`,
}

// Depth counts unfinished jobs per queue and state (available, scheduled,
// retryable, running) for the queue-depth metric.
func (q *Queue) Depth(ctx context.Context) (map[[2]string]int64, error) {
	out := map[[2]string]int64{}
	err := q.InTx(ctx, func(tx Tx) error {
		rows, err := tx.Query(ctx, `SELECT queue, state, count(*) FROM river_job
			WHERE state IN ('available','scheduled','retryable','running','pending') GROUP BY queue, state`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var queue, state string
			var n int64
			if err := rows.Scan(&queue, &state, &n); err != nil {
				return err
			}
			out[[2]string{queue, state}] = n
		}
		return rows.Err()
	})
	return out, err
}
