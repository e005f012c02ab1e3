// Package events turns forge events into work: a comment's commands are
// parsed, checked against the trust policy and queued as build jobs
// (comment -> command -> trust -> enqueue); a push to an MR supersedes its
// older builds, a closed or merged MR cancels its queued ones, /ok-to-build
// approves a head and replays the commands refused at it, and a push to
// the default branch starts the release flow. It owns the event job's
// worker; it writes to no forge (notices go to the report outbox).
package events

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/builds"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/trust"
)

// Deps is what the event handling is built from; nothing else is reached.
type Deps struct {
	Queue       *queue.Queue // or Bind
	Forges      map[string]forge.Forge
	Trust       trust.Policy
	MaxCommands int // per comment
	Git         *builds.GitFetcher
	Catalog     builds.LoadCatalog
	// Running cancels the builds running in this process (/cancel, a push).
	Running *builds.Tracker
	// ReleasePush runs the release flow for a push to a default branch;
	// nil: this imagebot releases nothing.
	ReleasePush func(ctx context.Context, f forge.Forge, ev forge.Event) error
	Log         zerolog.Logger
}

// Handler handles the event jobs.
type Handler struct{ d Deps }

// New is the event handling over d.
func New(d Deps) *Handler { return &Handler{d: d} }

// Bind gives the handler the queue once that is open (its worker is
// registered before).
func (b *Handler) Bind(q *queue.Queue) { b.d.Queue = q }

// Worker is the River worker of the event jobs.
func (b *Handler) Worker() river.Worker[jobs.Event] { return &eventWorker{b: b} }

func (b *Handler) forge(name string) (forge.Forge, error) {
	f, ok := b.d.Forges[name]
	if !ok {
		return nil, fmt.Errorf("forge %q is not configured", name)
	}
	return f, nil
}
