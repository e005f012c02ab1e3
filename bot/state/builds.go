package state

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/queue"
)

// Build kinds.
const (
	KindMR      = "mr"
	KindRelease = "release"
)

// Build statuses beyond runner.Status.
const (
	StatusQueued  = "queued"
	StatusRunning = "running"
)

// PublishedFile is one artifact a build stored.
type PublishedFile struct {
	Name   string `json:"name"`
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	URL    string `json:"url"`
}

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
	Details *Details `json:"details,omitempty"`
	// RepoJSON is the forge.Repo the build was queued for.
	RepoJSON string `json:"-"`
	// LogPath is the full build log on this host.
	LogPath string `json:"-"`
	// StatusSent is the last commit status delivered, "state:sha".
	StatusSent string `json:"-"`
}

// Done reports whether the build has ended.
func (b Build) Done() bool { return b.Status != StatusQueued && b.Status != StatusRunning }

// ForgeRepo is the repository the build was queued for.
func (b Build) ForgeRepo() forge.Repo {
	var r forge.Repo
	_ = json.Unmarshal([]byte(b.RepoJSON), &r)
	return r
}

const buildCols = `id, job_id, forge, repo, repo_json, mr, sha, image, digest, gen, status, step, note, error,
	triggered_by, created_ms, started_ms, finished_ms, files, log_url, log_path, log_tail, status_sent, kind, version, details`

func scanBuild(rows queue.Rows) (Build, error) {
	var b Build
	var mr, gen, created, started, finished int64
	var files, details string
	err := rows.Scan(&b.ID, &b.JobID, &b.Forge, &b.Repo, &b.RepoJSON, &mr, &b.SHA, &b.Image, &b.Digest, &gen,
		&b.Status, &b.Step, &b.Note, &b.Error, &b.TriggeredBy, &created, &started, &finished, &files,
		&b.LogURL, &b.LogPath, &b.LogTail, &b.StatusSent, &b.Kind, &b.Version, &details)
	if err != nil {
		return b, err
	}
	b.MR, b.Gen = int(mr), int(gen)
	b.Created = msTime(created)
	b.Started = msTime(started)
	b.Finished = msTime(finished)
	_ = json.Unmarshal([]byte(files), &b.Files)
	if details != "" {
		b.Details = &Details{}
		if json.Unmarshal([]byte(details), b.Details) != nil {
			b.Details = nil
		}
	}
	return b, nil
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

// GetBuild returns one build by id, without its steps (queue.ErrNoRows
// when unknown).
func GetBuild(ctx context.Context, tx queue.Tx, id string) (Build, error) {
	bs, err := queryBuilds(ctx, tx, `WHERE id = $1`, id)
	if err != nil {
		return Build{}, err
	}
	if len(bs) == 0 {
		return Build{}, queue.ErrNoRows
	}
	return bs[0], nil
}

// RecentBuilds returns the newest builds first.
func RecentBuilds(ctx context.Context, tx queue.Tx, limit int) ([]Build, error) {
	return queryBuilds(ctx, tx, `ORDER BY created_ms DESC, id DESC LIMIT $1`, limit)
}

// ActiveBuilds returns the builds queued or running anywhere.
func ActiveBuilds(ctx context.Context, tx queue.Tx) ([]Build, error) {
	return queryBuilds(ctx, tx, `WHERE status IN ($1, $2)`, StatusQueued, StatusRunning)
}

// ActiveMRBuilds returns an MR's builds queued or running.
func ActiveMRBuilds(ctx context.Context, tx queue.Tx, forgeName, repo string, mr int) ([]Build, error) {
	return queryBuilds(ctx, tx, `WHERE forge = $1 AND repo = $2 AND mr = $3 AND status IN ($4, $5)`,
		forgeName, repo, mr, StatusQueued, StatusRunning)
}

// MRBuilds returns the latest build of each image of an MR (the report's rows).
func MRBuilds(ctx context.Context, tx queue.Tx, forgeName, repo string, mr int) ([]Build, error) {
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

// NewBuild is a queued build's row.
type NewBuild struct {
	ID, Forge     string
	JobID         int64
	Repo          forge.Repo
	MR            int
	SHA, Image    string
	Digest        string
	Gen           int
	Note          string
	TriggeredBy   string
	Kind, Version string // Kind "" is KindMR
}

// InsertBuild records a build just queued.
func InsertBuild(ctx context.Context, tx queue.Tx, n NewBuild) error {
	if n.Kind == "" {
		n.Kind = KindMR
	}
	repoJSON, _ := json.Marshal(n.Repo)
	_, err := tx.Exec(ctx, `INSERT INTO imagebot_build (id, job_id, forge, repo, repo_json, mr, sha, image, digest, gen,
		status, note, triggered_by, created_ms, kind, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		n.ID, n.JobID, n.Forge, n.Repo.FullName, string(repoJSON), n.MR, n.SHA, n.Image, n.Digest, n.Gen,
		StatusQueued, n.Note, n.TriggeredBy, time.Now().UnixMilli(), n.Kind, n.Version)
	if err != nil {
		return fmt.Errorf("record build of %s: %w", n.Image, err)
	}
	return nil
}

// Change is one column of a build to set: see the constructors below.
type Change struct {
	col string
	val any
}

// Status sets a build's status.
func Status(s string) Change { return Change{"status", s} }

// Step sets a build's current step.
func Step(s string) Change { return Change{"step", s} }

// Note sets a build's note.
func Note(s string) Change { return Change{"note", s} }

// Error sets a build's error.
func Error(s string) Change { return Change{"error", s} }

// Started sets when a build started.
func Started(t time.Time) Change { return Change{"started_ms", t.UnixMilli()} }

// Finished sets when a build ended.
func Finished(t time.Time) Change { return Change{"finished_ms", t.UnixMilli()} }

// Files sets a build's published files.
func Files(f []PublishedFile) Change {
	j, _ := json.Marshal(f)
	return Change{"files", string(j)}
}

// LogURL sets where a build's published log is.
func LogURL(s string) Change { return Change{"log_url", s} }

// LogPath sets a build's full log on this host.
func LogPath(s string) Change { return Change{"log_path", s} }

// LogTail sets a build's last log lines.
func LogTail(s string) Change { return Change{"log_tail", s} }

// StatusSent records the commit status delivered, "state:sha".
func StatusSent(s string) Change { return Change{"status_sent", s} }

// DetailsJSON sets what a build found in its image (JSON of Details; "" clears it).
func DetailsJSON(j string) Change { return Change{"details", j} }

// UpdateBuild sets columns of a build.
func UpdateBuild(ctx context.Context, tx queue.Tx, id string, changes ...Change) error {
	if len(changes) == 0 {
		return nil
	}
	sets := make([]string, len(changes))
	args := make([]any, 0, len(changes)+1)
	for i, c := range changes {
		sets[i] = fmt.Sprintf("%s = $%d", c.col, i+1)
		args = append(args, c.val)
	}
	args = append(args, id)
	q := fmt.Sprintf(`UPDATE imagebot_build SET %s WHERE id = $%d`, strings.Join(sets, ", "), len(args))
	if _, err := tx.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("update build %s: %w", id, err)
	}
	return nil
}

// Abandoned is a build recorded running, with its River job's state.
type Abandoned struct {
	ID, Forge string
	Repo      forge.Repo
	MR        int
	JobState  string
}

// RunningBuilds returns the builds recorded running, with their job's
// state (a dead process left them so, or a fleet member runs them).
func RunningBuilds(ctx context.Context, tx queue.Tx) ([]Abandoned, error) {
	rows, err := tx.Query(ctx, `SELECT b.id, b.forge, b.repo_json, b.mr, j.state FROM imagebot_build b
		JOIN river_job j ON j.id = b.job_id WHERE b.status = 'running'`)
	if err != nil {
		return nil, fmt.Errorf("find interrupted builds: %w", err)
	}
	defer rows.Close()
	var list []Abandoned
	for rows.Next() {
		var x Abandoned
		var repo string
		var mr int64
		if err := rows.Scan(&x.ID, &x.Forge, &repo, &mr, &x.JobState); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(repo), &x.Repo)
		x.MR = int(mr)
		list = append(list, x)
	}
	return list, rows.Err()
}
