package state

import (
	"context"
	"fmt"
	"time"

	"github.com/imagebot/imagebot/bot/queue"
)

// MaxSteps bounds a build's recorded timeline: a chatty template keeps its
// newest steps.
const MaxSteps = 100

// StepRecord is one entry of a build's step timeline: the bot's own phases
// (fetch, validate, publish) and the runner's step events, in order.
type StepRecord struct {
	Name    string    `json:"name"`
	Started time.Time `json:"started"`
}

// ResetSteps starts a build attempt's timeline afresh with first (a re-run
// after a restart does not show the dead attempt's steps).
func ResetSteps(ctx context.Context, tx queue.Tx, id string, first StepRecord) error {
	if _, err := tx.Exec(ctx, `DELETE FROM imagebot_build_step WHERE build_id = $1`, id); err != nil {
		return fmt.Errorf("reset steps of %s: %w", id, err)
	}
	return RecordSteps(ctx, tx, id, []StepRecord{first})
}

// RecordSteps appends steps to a build's timeline, keeping the newest MaxSteps.
func RecordSteps(ctx context.Context, tx queue.Tx, id string, steps []StepRecord) error {
	rows, err := tx.Query(ctx, `SELECT COALESCE(MAX(seq), 0) FROM imagebot_build_step WHERE build_id = $1`, id)
	if err != nil {
		return fmt.Errorf("read steps of %s: %w", id, err)
	}
	var last int64
	if rows.Next() {
		err = rows.Scan(&last)
	}
	rows.Close()
	if err != nil {
		return fmt.Errorf("read steps of %s: %w", id, err)
	}
	for _, s := range steps {
		last++
		if _, err := tx.Exec(ctx, `INSERT INTO imagebot_build_step (build_id, seq, name, started_ms) VALUES ($1, $2, $3, $4)`,
			id, last, s.Name, s.Started.UnixMilli()); err != nil {
			return fmt.Errorf("record step of %s: %w", id, err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM imagebot_build_step WHERE build_id = $1 AND seq <= $2`, id, last-MaxSteps); err != nil {
		return fmt.Errorf("trim steps of %s: %w", id, err)
	}
	return nil
}

// BuildSteps returns a build's timeline, oldest first.
func BuildSteps(ctx context.Context, tx queue.Tx, id string) ([]StepRecord, error) {
	rows, err := tx.Query(ctx, `SELECT name, started_ms FROM imagebot_build_step WHERE build_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("read steps of %s: %w", id, err)
	}
	defer rows.Close()
	var out []StepRecord
	for rows.Next() {
		var s StepRecord
		var ms int64
		if err := rows.Scan(&s.Name, &ms); err != nil {
			return nil, fmt.Errorf("scan step of %s: %w", id, err)
		}
		s.Started = msTime(ms)
		out = append(out, s)
	}
	return out, rows.Err()
}
