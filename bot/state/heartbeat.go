package state

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/queue"
)

// heartbeatSchema is one row per build: which attempt of its River job runs
// it, on which host, and when that host last said it was alive. The row is
// kept after the build ends (it is the fence a late host checks).
var heartbeatSchema = []string{
	`CREATE TABLE IF NOT EXISTS imagebot_build_heartbeat (
	build_id TEXT PRIMARY KEY,
	job_id BIGINT NOT NULL,
	attempt BIGINT NOT NULL,
	host TEXT NOT NULL,
	beat_ms BIGINT NOT NULL,
	lost_ms BIGINT NOT NULL DEFAULT 0)`,
	`CREATE INDEX IF NOT EXISTS imagebot_build_heartbeat_beat ON imagebot_build_heartbeat (lost_ms, beat_ms)`,
}

// Heartbeat is a build host's claim on one attempt of a build.
type Heartbeat struct {
	BuildID string
	JobID   int64
	Attempt int
	Host    string
}

// StartHeartbeat claims the build for h's attempt and beats once. lost
// reports whether an earlier attempt was taken from a lost host (the
// failover sweep marked it), for the build's note.
func StartHeartbeat(ctx context.Context, tx queue.Tx, h Heartbeat, now time.Time) (lost bool, err error) {
	var lostMS int64
	err = queue.QueryRow(ctx, tx, `SELECT lost_ms FROM imagebot_build_heartbeat WHERE build_id = $1`, []any{h.BuildID}, &lostMS)
	if err != nil && err != queue.ErrNoRows {
		return false, fmt.Errorf("read heartbeat of build %s: %w", h.BuildID, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO imagebot_build_heartbeat (build_id, job_id, attempt, host, beat_ms, lost_ms)
		VALUES ($1, $2, $3, $4, $5, 0)
		ON CONFLICT (build_id) DO UPDATE SET job_id = excluded.job_id, attempt = excluded.attempt,
		host = excluded.host, beat_ms = excluded.beat_ms, lost_ms = 0`,
		h.BuildID, h.JobID, int64(h.Attempt), h.Host, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("start heartbeat of build %s: %w", h.BuildID, err)
	}
	return lostMS > 0, nil
}

// Beat records that h's host still runs the build. ok is false when the
// claim is gone (the build was declared lost or another attempt took it):
// the host must stop the build.
func Beat(ctx context.Context, tx queue.Tx, h Heartbeat, now time.Time) (ok bool, err error) {
	n, err := tx.Exec(ctx, `UPDATE imagebot_build_heartbeat SET beat_ms = $1
		WHERE build_id = $2 AND attempt = $3 AND host = $4 AND lost_ms = 0`,
		now.UnixMilli(), h.BuildID, int64(h.Attempt), h.Host)
	if err != nil {
		return false, fmt.Errorf("heartbeat of build %s: %w", h.BuildID, err)
	}
	return n == 1, nil
}

// Superseded reports whether h's claim was taken away: the build was
// declared lost, or another attempt or host holds it. A build without a
// heartbeat row (heartbeats off) is never superseded.
func Superseded(ctx context.Context, tx queue.Tx, h Heartbeat) (bool, error) {
	var attempt, lostMS int64
	var host string
	err := queue.QueryRow(ctx, tx, `SELECT attempt, host, lost_ms FROM imagebot_build_heartbeat WHERE build_id = $1`,
		[]any{h.BuildID}, &attempt, &host, &lostMS)
	if err == queue.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read heartbeat of build %s: %w", h.BuildID, err)
	}
	return lostMS > 0 || attempt != int64(h.Attempt) || host != h.Host, nil
}

// LostBuild is a running build whose host stopped beating.
type LostBuild struct {
	Heartbeat
	Forge       string
	Repo        forge.Repo
	MR          int
	LastBeat    time.Time
	LastAttempt bool // the job has no attempt left
}

// LostBuilds returns the builds recorded running whose River job is still
// running the attempt that last beat before the given time.
func LostBuilds(ctx context.Context, tx queue.Tx, before time.Time) ([]LostBuild, error) {
	rows, err := tx.Query(ctx, `SELECT h.build_id, h.job_id, h.attempt, h.host, h.beat_ms, b.forge, b.repo_json, b.mr,
		j.attempt >= j.max_attempts
		FROM imagebot_build_heartbeat h
		JOIN imagebot_build b ON b.id = h.build_id
		JOIN river_job j ON j.id = h.job_id
		WHERE h.lost_ms = 0 AND h.beat_ms < $1 AND b.status = 'running' AND j.state = 'running' AND j.attempt = h.attempt`,
		before.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("find lost builds: %w", err)
	}
	defer rows.Close()
	var list []LostBuild
	for rows.Next() {
		var x LostBuild
		var attempt, beat, mr int64
		var repo string
		if err := rows.Scan(&x.BuildID, &x.JobID, &attempt, &x.Host, &beat, &x.Forge, &repo, &mr, &x.LastAttempt); err != nil {
			return nil, fmt.Errorf("find lost builds: %w", err)
		}
		_ = json.Unmarshal([]byte(repo), &x.Repo)
		x.Attempt, x.MR, x.LastBeat = int(attempt), int(mr), msTime(beat)
		list = append(list, x)
	}
	return list, rows.Err()
}

// TakeLost declares x's attempt lost and takes its River job back from the
// dead host, guarded by the job still running that attempt: back to
// available (another host takes it at once), or discarded when it has no
// attempt left. ok is false when the job moved meanwhile (nothing done).
// PostgreSQL only (the fleet's database; River's timestamps).
func TakeLost(ctx context.Context, tx queue.Tx, x LostBuild, now time.Time) (ok bool, err error) {
	q := `UPDATE river_job SET state = 'available', scheduled_at = now() WHERE id = $1 AND state = 'running' AND attempt = $2`
	if x.LastAttempt {
		q = `UPDATE river_job SET state = 'discarded', finalized_at = now() WHERE id = $1 AND state = 'running' AND attempt = $2`
	}
	n, err := tx.Exec(ctx, q, x.JobID, int64(x.Attempt))
	if err != nil {
		return false, fmt.Errorf("take back the job of lost build %s: %w", x.BuildID, err)
	}
	if n != 1 {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE imagebot_build_heartbeat SET lost_ms = $1 WHERE build_id = $2 AND attempt = $3`,
		now.UnixMilli(), x.BuildID, int64(x.Attempt)); err != nil {
		return false, fmt.Errorf("mark build %s lost: %w", x.BuildID, err)
	}
	return true, nil
}

// RescueStuck puts jobs of the given kinds (the outbox's: short, with
// timeouts of their own) that a dead process left running back on the
// queue: attempted more than olderThan ago, longer than any live worker
// may hold them, with attempts left. A job unique per MR that stays
// "running" would otherwise block every later update of that MR until
// River's rescuer (hours). PostgreSQL fleets; returns how many.
func RescueStuck(ctx context.Context, tx queue.Tx, kinds []string, olderThan time.Duration) (int64, error) {
	if len(kinds) == 0 {
		return 0, nil
	}
	args := []any{olderThan.Milliseconds()}
	in := ""
	for i, k := range kinds {
		if i > 0 {
			in += ", "
		}
		args = append(args, k)
		in += fmt.Sprintf("$%d", i+2)
	}
	n, err := tx.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now()
		WHERE state = 'running' AND attempt < max_attempts
		AND attempted_at < now() - ($1 * interval '1 millisecond') AND kind IN (`+in+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("rescue stuck outbox jobs: %w", err)
	}
	return n, nil
}
