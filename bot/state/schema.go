// Package state owns the bot's own tables beside River's: their schema,
// their migrations and every query on them, typed. No other package of the
// bot writes SQL (bot/queue keeps River's). Each function runs inside a
// transaction the caller opens with queue.Queue.InTx, so a change and the
// job it queues commit together. The SQL is portable: SQLite (modernc) and
// PostgreSQL run the same statements. Details (details.go) is the shape of
// what a build found in its image, stored as JSON in its row and rendered
// by bot/report.
package state

import (
	"context"
	"fmt"
	"time"

	"github.com/imagebot/imagebot/bot/queue"
)

// schema is the bot's own tables beside River's; portable SQL.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS imagebot_build (
	id TEXT PRIMARY KEY,
	job_id BIGINT NOT NULL DEFAULT 0,
	forge TEXT NOT NULL,
	repo TEXT NOT NULL,
	repo_json TEXT NOT NULL,
	mr BIGINT NOT NULL,
	sha TEXT NOT NULL,
	image TEXT NOT NULL,
	digest TEXT NOT NULL,
	gen BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL,
	step TEXT NOT NULL DEFAULT '',
	note TEXT NOT NULL DEFAULT '',
	error TEXT NOT NULL DEFAULT '',
	triggered_by TEXT NOT NULL DEFAULT '',
	created_ms BIGINT NOT NULL,
	started_ms BIGINT NOT NULL DEFAULT 0,
	finished_ms BIGINT NOT NULL DEFAULT 0,
	files TEXT NOT NULL DEFAULT '[]',
	log_url TEXT NOT NULL DEFAULT '',
	log_path TEXT NOT NULL DEFAULT '',
	log_tail TEXT NOT NULL DEFAULT '',
	status_sent TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL DEFAULT 'mr',
	version TEXT NOT NULL DEFAULT '',
	details TEXT NOT NULL DEFAULT '')`,
	`CREATE INDEX IF NOT EXISTS imagebot_build_mr ON imagebot_build (forge, repo, mr)`,
	`CREATE INDEX IF NOT EXISTS imagebot_build_created ON imagebot_build (created_ms)`,
	`CREATE TABLE IF NOT EXISTS imagebot_mr (
	forge TEXT NOT NULL,
	repo TEXT NOT NULL,
	mr BIGINT NOT NULL,
	repo_json TEXT NOT NULL,
	head_sha TEXT NOT NULL DEFAULT '',
	comment_id BIGINT NOT NULL DEFAULT 0,
	version BIGINT NOT NULL DEFAULT 0,
	sent_version BIGINT NOT NULL DEFAULT 0,
	last_edit_ms BIGINT NOT NULL DEFAULT 0,
	notices TEXT NOT NULL DEFAULT '[]',
	PRIMARY KEY (forge, repo, mr))`,
	`CREATE TABLE IF NOT EXISTS imagebot_approval (
	forge TEXT NOT NULL,
	repo TEXT NOT NULL,
	mr BIGINT NOT NULL,
	sha TEXT NOT NULL,
	by_user TEXT NOT NULL,
	at_ms BIGINT NOT NULL,
	PRIMARY KEY (forge, repo, mr, sha))`,
	`CREATE TABLE IF NOT EXISTS imagebot_refused (
	forge TEXT NOT NULL,
	repo TEXT NOT NULL,
	mr BIGINT NOT NULL,
	sha TEXT NOT NULL,
	command TEXT NOT NULL,
	actor TEXT NOT NULL,
	PRIMARY KEY (forge, repo, mr, sha, command))`,
	`CREATE TABLE IF NOT EXISTS imagebot_build_step (
	build_id TEXT NOT NULL,
	seq BIGINT NOT NULL,
	name TEXT NOT NULL,
	started_ms BIGINT NOT NULL,
	PRIMARY KEY (build_id, seq))`,
	`CREATE TABLE IF NOT EXISTS imagebot_outbox (
	forge TEXT NOT NULL,
	repo TEXT NOT NULL,
	target TEXT NOT NULL,
	repo_json TEXT NOT NULL,
	payload TEXT NOT NULL,
	version BIGINT NOT NULL DEFAULT 0,
	sent_version BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (forge, repo, target))`,
}

// addedColumns are imagebot_build's columns added after it was first
// created, in order: a database made before them gets them, and their
// back-fill, at start.
var addedColumns = []struct{ name, add, fill string }{
	{"version", `ALTER TABLE imagebot_build ADD COLUMN version TEXT NOT NULL DEFAULT ''`, ""},
	// Release builds were marked by their note alone.
	{"kind", `ALTER TABLE imagebot_build ADD COLUMN kind TEXT NOT NULL DEFAULT 'mr'`,
		`UPDATE imagebot_build SET kind = 'release', version = substr(note, 9) WHERE note LIKE 'release %'`},
	// What the build found in its image, for its MR comment row.
	{"details", `ALTER TABLE imagebot_build ADD COLUMN details TEXT NOT NULL DEFAULT ''`, ""},
}

// Migrate creates the bot's tables and adds the columns an older database
// lacks.
func Migrate(ctx context.Context, q *queue.Queue) error {
	if err := q.Migrate(ctx, append(append([]string{}, schema...), heartbeatSchema...)); err != nil {
		return fmt.Errorf("create tables: %w", err)
	}
	return addColumns(ctx, q)
}

// addColumns adds the columns of addedColumns a database lacks.
func addColumns(ctx context.Context, q *queue.Queue) error {
	has := func(col string) bool {
		return q.InTx(ctx, func(tx queue.Tx) error {
			rows, err := tx.Query(ctx, `SELECT `+col+` FROM imagebot_build WHERE 1 = 0`)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
			return err
		}) == nil
	}
	for _, c := range addedColumns {
		if has(c.name) {
			continue
		}
		stmts := []string{c.add}
		if c.fill != "" {
			stmts = append(stmts, c.fill)
		}
		// Another replica starting at once may have added it meanwhile.
		if err := q.Migrate(ctx, stmts); err != nil && !has(c.name) {
			return fmt.Errorf("add column imagebot_build.%s: %w", c.name, err)
		}
	}
	return nil
}

// msTime is a stored millisecond time; 0 is the zero time.
func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
