package state

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/queue"
)

// OutboxKey names one forge write target (a status context on a commit,
// or one comment).
type OutboxKey struct {
	Forge, Repo, Target string
}

func (k OutboxKey) args() []any { return []any{k.Forge, k.Repo, k.Target} }

// PutOutbox stores payload as the target's latest write.
func PutOutbox(ctx context.Context, tx queue.Tx, k OutboxKey, repo forge.Repo, payload []byte) error {
	repoJSON, _ := json.Marshal(repo)
	if _, err := tx.Exec(ctx, `INSERT INTO imagebot_outbox (forge, repo, target, repo_json, payload, version) VALUES ($1, $2, $3, $4, $5, 1)
		ON CONFLICT (forge, repo, target) DO UPDATE SET payload = excluded.payload, version = imagebot_outbox.version + 1`,
		k.Forge, k.Repo, k.Target, string(repoJSON), string(payload)); err != nil {
		return fmt.Errorf("store forge write %s: %w", k.Target, err)
	}
	return nil
}

// Outbox is a target's latest write and the version delivered.
type Outbox struct {
	Repo          forge.Repo
	Payload       []byte
	Version, Sent int64
}

// GetOutbox loads a target's latest write.
func GetOutbox(ctx context.Context, tx queue.Tx, k OutboxKey) (Outbox, error) {
	var o Outbox
	var repoJSON, payload string
	if err := queue.QueryRow(ctx, tx, `SELECT repo_json, payload, version, sent_version FROM imagebot_outbox
		WHERE forge = $1 AND repo = $2 AND target = $3`, k.args(), &repoJSON, &payload, &o.Version, &o.Sent); err != nil {
		return o, err
	}
	_ = json.Unmarshal([]byte(repoJSON), &o.Repo)
	o.Payload = []byte(payload)
	return o, nil
}

// OutboxSent records version as delivered and returns the target's
// current version (newer when a write was stored meanwhile).
func OutboxSent(ctx context.Context, tx queue.Tx, k OutboxKey, version int64) (int64, error) {
	if _, err := tx.Exec(ctx, `UPDATE imagebot_outbox SET sent_version = $1 WHERE forge = $2 AND repo = $3 AND target = $4`,
		version, k.Forge, k.Repo, k.Target); err != nil {
		return 0, err
	}
	var v int64
	err := queue.QueryRow(ctx, tx, `SELECT version FROM imagebot_outbox WHERE forge = $1 AND repo = $2 AND target = $3`, k.args(), &v)
	return v, err
}
