package bot

import (
	"context"

	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/bot/web"
)

// Build kinds and statuses; bot/state owns them.
const (
	kindMR        = state.KindMR
	kindRelease   = state.KindRelease
	statusQueued  = state.StatusQueued
	statusRunning = state.StatusRunning
)

// Build is one build as the bot records it; the status API returns it.
type Build = state.Build

// StepRecord is one entry of a build's step timeline.
type StepRecord = state.StepRecord

// PublishedFile is one artifact a build stored.
type PublishedFile = state.PublishedFile

// RecentBuilds returns the newest builds first (status API, web page).
func (b *Bot) RecentBuilds(ctx context.Context, limit int) ([]Build, error) {
	var out []Build
	err := b.q.InTx(ctx, func(tx queue.Tx) error {
		var err error
		out, err = state.RecentBuilds(ctx, tx, limit)
		return err
	})
	return out, err
}

// GetBuild returns one build by id (queue.ErrNoRows when unknown).
func (b *Bot) GetBuild(ctx context.Context, id string) (Build, error) {
	var out Build
	err := b.q.InTx(ctx, func(tx queue.Tx) error {
		var err error
		out, err = state.GetBuild(ctx, tx, id)
		if err != nil {
			return err
		}
		out.Steps, err = state.BuildSteps(ctx, tx, id)
		return err
	})
	if err == nil {
		if t, ok := b.builds.Running().Tail(id); ok {
			out.LogTail = t
		}
	}
	return out, err
}

// WebBuilds is the bot's build history as the web pages read it.
func (b *Bot) WebBuilds() web.Builds { return web.NewBuilds(b, b.deps.Forges, b.deps.RepoPrefix) }
