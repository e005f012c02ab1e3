package state

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/queue"
)

// MaxNotices is how many command replies an MR's comment keeps.
const MaxNotices = 5

// MRKey names one merge request of one repository of one forge.
type MRKey struct {
	Forge, Repo string
	MR          int
}

func (k MRKey) args() []any { return []any{k.Forge, k.Repo, k.MR} }

// UpsertMR records a merge request; head "" keeps the known head.
func UpsertMR(ctx context.Context, tx queue.Tx, forgeName string, repo forge.Repo, mr int, head string) error {
	repoJSON, _ := json.Marshal(repo)
	_, err := tx.Exec(ctx, `INSERT INTO imagebot_mr (forge, repo, mr, repo_json, head_sha) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (forge, repo, mr) DO UPDATE SET head_sha = CASE WHEN excluded.head_sha = '' THEN imagebot_mr.head_sha ELSE excluded.head_sha END`,
		forgeName, repo.FullName, mr, string(repoJSON), head)
	if err != nil {
		return fmt.Errorf("record merge request !%d: %w", mr, err)
	}
	return nil
}

// BumpMR marks the MR's report stale.
func BumpMR(ctx context.Context, tx queue.Tx, k MRKey) error {
	if _, err := tx.Exec(ctx, `UPDATE imagebot_mr SET version = version + 1 WHERE forge = $1 AND repo = $2 AND mr = $3`,
		k.args()...); err != nil {
		return fmt.Errorf("bump report of !%d: %w", k.MR, err)
	}
	return nil
}

// AddNotices appends notices to the MR's, keeping the newest MaxNotices.
func AddNotices(ctx context.Context, tx queue.Tx, k MRKey, notices []string) error {
	var old []string
	var raw string
	if err := queue.QueryRow(ctx, tx, `SELECT notices FROM imagebot_mr WHERE forge = $1 AND repo = $2 AND mr = $3`,
		k.args(), &raw); err != nil {
		return err
	}
	_ = json.Unmarshal([]byte(raw), &old)
	old = append(old, notices...)
	if len(old) > MaxNotices {
		old = old[len(old)-MaxNotices:]
	}
	j, _ := json.Marshal(old)
	_, err := tx.Exec(ctx, `UPDATE imagebot_mr SET notices = $1 WHERE forge = $2 AND repo = $3 AND mr = $4`,
		string(j), k.Forge, k.Repo, k.MR)
	return err
}

// MR is a merge request's report state.
type MR struct {
	Repo        forge.Repo
	Head        string
	CommentID   int64
	Version     int64
	SentVersion int64
	LastEdit    time.Time
	Notices     []string
}

// GetMR loads a merge request's report state.
func GetMR(ctx context.Context, tx queue.Tx, k MRKey) (MR, error) {
	var s MR
	var repoJSON, notices string
	var last int64
	if err := queue.QueryRow(ctx, tx, `SELECT repo_json, head_sha, comment_id, version, sent_version, last_edit_ms, notices
		FROM imagebot_mr WHERE forge = $1 AND repo = $2 AND mr = $3`, k.args(),
		&repoJSON, &s.Head, &s.CommentID, &s.Version, &s.SentVersion, &last, &notices); err != nil {
		return s, err
	}
	_ = json.Unmarshal([]byte(repoJSON), &s.Repo)
	_ = json.Unmarshal([]byte(notices), &s.Notices)
	s.LastEdit = msTime(last)
	return s, nil
}

// MRVersion returns the MR report's current version.
func MRVersion(ctx context.Context, tx queue.Tx, k MRKey) (int64, error) {
	var v int64
	err := queue.QueryRow(ctx, tx, `SELECT version FROM imagebot_mr WHERE forge = $1 AND repo = $2 AND mr = $3`, k.args(), &v)
	return v, err
}

// MRSent records the MR's comment and the report version it shows.
func MRSent(ctx context.Context, tx queue.Tx, k MRKey, commentID, version int64, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE imagebot_mr SET comment_id = $1, sent_version = $2, last_edit_ms = $3
		WHERE forge = $4 AND repo = $5 AND mr = $6`, commentID, version, at.UnixMilli(), k.Forge, k.Repo, k.MR)
	return err
}

// Approval is an /ok-to-build recorded for a head commit.
type Approval struct {
	SHA, By string
	At      time.Time
}

// LatestApproval returns the MR's newest approval (queue.ErrNoRows when none).
func LatestApproval(ctx context.Context, tx queue.Tx, k MRKey) (Approval, error) {
	var a Approval
	var at int64
	err := queue.QueryRow(ctx, tx, `SELECT sha, by_user, at_ms FROM imagebot_approval
		WHERE forge = $1 AND repo = $2 AND mr = $3 ORDER BY at_ms DESC LIMIT 1`, k.args(), &a.SHA, &a.By, &at)
	a.At = msTime(at)
	return a, err
}

// SaveApproval records an approval; a second one for the same commit is kept out.
func SaveApproval(ctx context.Context, tx queue.Tx, k MRKey, a Approval) error {
	_, err := tx.Exec(ctx, `INSERT INTO imagebot_approval (forge, repo, mr, sha, by_user, at_ms)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (forge, repo, mr, sha) DO NOTHING`,
		k.Forge, k.Repo, k.MR, a.SHA, a.By, a.At.UnixMilli())
	return err
}

// Refused is a build command refused at a commit, to replay on approval.
type Refused struct{ Command, Actor string }

// RefusedAt returns the commands refused at sha.
func RefusedAt(ctx context.Context, tx queue.Tx, k MRKey, sha string) ([]Refused, error) {
	rows, err := tx.Query(ctx, `SELECT command, actor FROM imagebot_refused WHERE forge = $1 AND repo = $2 AND mr = $3 AND sha = $4`,
		k.Forge, k.Repo, k.MR, sha)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Refused
	for rows.Next() {
		var r Refused
		if err := rows.Scan(&r.Command, &r.Actor); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SaveRefused records a refused command at sha.
func SaveRefused(ctx context.Context, tx queue.Tx, k MRKey, sha string, r Refused) error {
	_, err := tx.Exec(ctx, `INSERT INTO imagebot_refused (forge, repo, mr, sha, command, actor)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (forge, repo, mr, sha, command) DO NOTHING`,
		k.Forge, k.Repo, k.MR, sha, r.Command, r.Actor)
	return err
}
