package queue

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

func openSQLite(ctx context.Context, o Options) (backend, error) {
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o750); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	sync := "FULL"
	if o.Synchronous == "normal" {
		sync = "NORMAL"
	}
	v := url.Values{}
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous("+sync+")")
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "foreign_keys(ON)")
	// 1 MiB of page cache instead of SQLite's 2 MiB: the queue's hot pages
	// are few, and the rest is in the OS page cache.
	v.Add("_pragma", "cache_size(-1024)")
	// Checkpoints (which fsync the database file) run in the background
	// on their own connection, not inside a webhook's commit.
	v.Add("_pragma", "wal_autocheckpoint(0)")
	v.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+o.Path+"?"+v.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", o.Path, err)
	}
	// One connection: SQLite has one writer; River and the webhook batcher
	// take turns instead of failing with SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", o.Path, err)
	}
	ckpt, err := sql.Open("sqlite", "file:"+o.Path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", o.Path, err)
	}
	ckpt.SetMaxOpenConns(1)
	stopCkpt := make(chan struct{})
	ckptDone := make(chan struct{})
	go checkpointer(ckpt, stopCkpt, ckptDone, o)
	closeAll := func() {
		close(stopCkpt)
		<-ckptDone
		ckpt.Close()
		db.Close()
	}
	client, err := newClient(ctx, riversqlite.New(db), o, true)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("open sqlite queue: %w", err)
	}
	b := &riverBackend[*sql.Tx]{
		name:   "sqlite",
		client: client,
		begin:  func(ctx context.Context) (*sql.Tx, error) { return db.BeginTx(ctx, nil) },
		commit: func(_ context.Context, tx *sql.Tx) error { return tx.Commit() },
		rollback: func(_ context.Context, tx *sql.Tx) error {
			return tx.Rollback()
		},
		exec: func(ctx context.Context, tx *sql.Tx, q string, args ...any) (int64, error) {
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return 0, err
			}
			return res.RowsAffected()
		},
		query: func(ctx context.Context, tx *sql.Tx, q string, args ...any) (Rows, error) {
			rows, err := tx.QueryContext(ctx, q, args...)
			if err != nil {
				return nil, err
			}
			return sqlRows{rows}, nil
		},
		complete: func(ctx context.Context, tx *sql.Tx, job *rivertype.JobRow) error {
			_, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx, &river.Job[rowArgs]{JobRow: job})
			return err
		},
		pingFn:  db.PingContext,
		closeFn: closeAll,
	}
	if o.RequeueRunning {
		if err := requeueRunningSQLite(ctx, b); err != nil {
			b.close()
			return nil, err
		}
	}
	return b, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// requeueRunningSQLite hands jobs that a dead process left running back to
// the queue: this process is the only one using the file, so nothing else
// can be running them. A job on its last attempt is discarded instead; its
// worker never saw the end, so the bot reports it as interrupted.
func requeueRunningSQLite(ctx context.Context, b *riverBackend[*sql.Tx]) error {
	now := time.Now().UTC().Round(time.Millisecond).Format("2006-01-02 15:04:05.000")
	return b.inTx(ctx, func(tx Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = $1
			WHERE state = 'running' AND attempt >= max_attempts`, now); err != nil {
			return fmt.Errorf("discard interrupted jobs: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = $1
			WHERE state = 'running'`, now); err != nil {
			return fmt.Errorf("requeue interrupted jobs: %w", err)
		}
		return nil
	})
}

// checkpointer copies the WAL into the database file every second (PASSIVE:
// it never blocks the writer) and truncates the WAL when it has grown.
func checkpointer(db *sql.DB, stop <-chan struct{}, done chan<- struct{}, o Options) {
	defer close(done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			_, _ = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
			return
		case <-t.C:
			var busy, logPages, done int64
			if err := db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logPages, &done); err != nil {
				o.Log.Warn().Err(err).Msg("sqlite checkpoint")
				continue
			}
			if logPages > 20000 && logPages == done {
				_, _ = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
			}
		}
	}
}
