package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/report"
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
	// What the build found in its image, for its MR comment row (bot/details.go).
	{"details", `ALTER TABLE imagebot_build ADD COLUMN details TEXT NOT NULL DEFAULT ''`, ""},
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

// Build kinds.
const (
	kindMR      = "mr"
	kindRelease = "release"
)

// Build statuses beyond runner.Status.
const (
	statusQueued  = "queued"
	statusRunning = "running"
)

// Build is one build as the bot records it; the status API returns it.
type Build struct {
	ID          string          `json:"id"`
	JobID       int64           `json:"job_id"`
	Forge       string          `json:"forge"`
	Repo        string          `json:"repo"`
	MR          int             `json:"mr"`
	SHA         string          `json:"sha"`
	Image       string          `json:"image"`
	Kind        string          `json:"kind"`              // mr, or release (a release build of a merge)
	Version     string          `json:"version,omitempty"` // a release build's version
	Digest      string          `json:"digest"`
	Gen         int             `json:"gen"`
	Status      string          `json:"status"` // queued, running, succeeded, failed, cancelled, timed_out, interrupted
	Step        string          `json:"step"`
	Note        string          `json:"note,omitempty"`
	Error       string          `json:"error,omitempty"`
	TriggeredBy string          `json:"triggered_by"`
	Created     time.Time       `json:"created"`
	Started     time.Time       `json:"started,omitzero"`
	Finished    time.Time       `json:"finished,omitzero"`
	Files       []PublishedFile `json:"files"`
	LogURL      string          `json:"log_url,omitempty"`
	LogTail     string          `json:"log_tail,omitempty"`
	// Steps is the timeline (GetBuild fills it; lists leave it empty).
	Steps []StepRecord `json:"steps,omitempty"`
	// Details are what the finished build found in its image (package
	// diff, checks, hygiene, cloud ids, skipped sources).
	Details    *report.Details `json:"details,omitempty"`
	repoJSON   string
	logPath    string
	statusSent string
}

// Finished reports whether the build has ended.
func (b Build) Done() bool { return b.Status != statusQueued && b.Status != statusRunning }

const buildCols = `id, job_id, forge, repo, repo_json, mr, sha, image, digest, gen, status, step, note, error,
	triggered_by, created_ms, started_ms, finished_ms, files, log_url, log_path, log_tail, status_sent, kind, version, details`

func scanBuild(rows queue.Rows) (Build, error) {
	var b Build
	var mr, gen, created, started, finished int64
	var files, details string
	err := rows.Scan(&b.ID, &b.JobID, &b.Forge, &b.Repo, &b.repoJSON, &mr, &b.SHA, &b.Image, &b.Digest, &gen,
		&b.Status, &b.Step, &b.Note, &b.Error, &b.TriggeredBy, &created, &started, &finished, &files,
		&b.LogURL, &b.logPath, &b.LogTail, &b.statusSent, &b.Kind, &b.Version, &details)
	if err != nil {
		return b, err
	}
	b.MR, b.Gen = int(mr), int(gen)
	b.Created = msTime(created)
	b.Started = msTime(started)
	b.Finished = msTime(finished)
	_ = json.Unmarshal([]byte(files), &b.Files)
	if details != "" {
		b.Details = &report.Details{}
		if json.Unmarshal([]byte(details), b.Details) != nil {
			b.Details = nil
		}
	}
	return b, nil
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func (b Build) forgeRepo() forge.Repo {
	var r forge.Repo
	_ = json.Unmarshal([]byte(b.repoJSON), &r)
	return r
}

func queryBuilds(ctx context.Context, tx queue.Tx, where string, args ...any) ([]Build, error) {
	rows, err := tx.Query(ctx, `SELECT `+buildCols+` FROM imagebot_build `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("query builds: %w", err)
	}
	defer rows.Close()
	var out []Build
	for rows.Next() {
		b, err := scanBuild(rows)
		if err != nil {
			return nil, fmt.Errorf("scan build: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func getBuild(ctx context.Context, tx queue.Tx, id string) (Build, error) {
	bs, err := queryBuilds(ctx, tx, `WHERE id = $1`, id)
	if err != nil {
		return Build{}, err
	}
	if len(bs) == 0 {
		return Build{}, queue.ErrNoRows
	}
	return bs[0], nil
}

// mrBuilds returns the latest build of each image of an MR (the report's rows).
func mrBuilds(ctx context.Context, tx queue.Tx, forgeName, repo string, mr int) ([]Build, error) {
	all, err := queryBuilds(ctx, tx, `WHERE forge = $1 AND repo = $2 AND mr = $3 ORDER BY created_ms, id`, forgeName, repo, mr)
	if err != nil {
		return nil, err
	}
	latest := map[string]int{}
	var out []Build
	for _, b := range all {
		if i, ok := latest[b.Image]; ok {
			out[i] = b
			continue
		}
		latest[b.Image] = len(out)
		out = append(out, b)
	}
	return out, nil
}

// RecentBuilds returns the newest builds first (status API, web page).
func (b *Bot) RecentBuilds(ctx context.Context, limit int) ([]Build, error) {
	var out []Build
	err := b.q.InTx(ctx, func(tx queue.Tx) error {
		var err error
		out, err = queryBuilds(ctx, tx, `ORDER BY created_ms DESC, id DESC LIMIT $1`, limit)
		return err
	})
	return out, err
}

// GetBuild returns one build by id (queue.ErrNoRows when unknown).
func (b *Bot) GetBuild(ctx context.Context, id string) (Build, error) {
	var out Build
	err := b.q.InTx(ctx, func(tx queue.Tx) error {
		var err error
		out, err = getBuild(ctx, tx, id)
		if err != nil {
			return err
		}
		out.Steps, err = buildSteps(ctx, tx, id)
		return err
	})
	if err == nil {
		if t := b.tail(id); t != nil {
			out.LogTail = t.String()
		}
	}
	return out, err
}

// update sets columns of a build; sets is "col = $1, col2 = $2" with args in order.
func updateBuild(ctx context.Context, tx queue.Tx, id, sets string, args ...any) error {
	args = append(args, id)
	n := len(args)
	_, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE imagebot_build SET %s WHERE id = $%d`, sets, n), args...)
	if err != nil {
		return fmt.Errorf("update build %s: %w", id, err)
	}
	return nil
}
