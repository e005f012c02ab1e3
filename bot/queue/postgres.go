package queue

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

func openPostgres(ctx context.Context, o Options) (backend, error) {
	pool, err := pgxpool.New(ctx, o.URL)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err) // pgx errors do not echo the password
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	client, err := newClient(ctx, riverpgxv5.New(pool), o, false)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres queue: %w", err)
	}
	return &riverBackend[pgx.Tx]{
		name:     "postgres",
		client:   client,
		begin:    func(ctx context.Context) (pgx.Tx, error) { return pool.Begin(ctx) },
		commit:   func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) },
		rollback: func(ctx context.Context, tx pgx.Tx) error { return tx.Rollback(ctx) },
		exec: func(ctx context.Context, tx pgx.Tx, q string, args ...any) (int64, error) {
			tag, err := tx.Exec(ctx, q, args...)
			if err != nil {
				return 0, err
			}
			return tag.RowsAffected(), nil
		},
		query: func(ctx context.Context, tx pgx.Tx, q string, args ...any) (Rows, error) {
			rows, err := tx.Query(ctx, q, args...)
			if err != nil {
				return nil, err
			}
			return pgRows{rows}, nil
		},
		complete: func(ctx context.Context, tx pgx.Tx, job *rivertype.JobRow) error {
			_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, &river.Job[rowArgs]{JobRow: job})
			return err
		},
		pingFn:  pool.Ping,
		closeFn: pool.Close,
	}, nil
}

type pgRows struct{ pgx.Rows }

func (r pgRows) Close() { r.Rows.Close() }
