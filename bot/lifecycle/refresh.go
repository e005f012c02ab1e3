package lifecycle

// Scheduled refresh (runner/schedule): a River periodic job looks at the
// default branch of each cascade.repositories entry and opens one bump
// merge request per image whose env.yaml refresh: came due while its last
// release is older; the bucket ledger makes that once per due time.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/runner/cascade"
	"github.com/imagebot/imagebot/runner/notify"
	"github.com/imagebot/imagebot/runner/schedule"
)

// Worker returns the River worker of the scheduler's tick.
func (l *Lifecycle) Worker() river.Worker[jobs.RefreshTick] { return &refreshWorker{l: l} }

type refreshWorker struct {
	river.WorkerDefaults[jobs.RefreshTick]
	l *Lifecycle
}

func (w *refreshWorker) Timeout(*river.Job[jobs.RefreshTick]) time.Duration { return 10 * time.Minute }

// Work is one scheduler tick; a repository that fails is logged and tried
// on the next tick.
func (w *refreshWorker) Work(ctx context.Context, _ *river.Job[jobs.RefreshTick]) error {
	w.l.RefreshTick(ctx, time.Now())
	return nil
}

// Periodic is the periodic job of the scheduler, when cascades are on and
// repositories are listed; nil otherwise.
func Periodic(c config.Cascade) []*river.PeriodicJob {
	if !c.Enabled || len(c.Repositories) == 0 {
		return nil
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(c.Tick),
		func() (river.JobArgs, *river.InsertOpts) {
			return jobs.RefreshTick{}, &river.InsertOpts{Queue: jobs.QueueEvents, MaxAttempts: 1}
		}, &river.PeriodicJobOpts{RunOnStart: true})}
}

// RefreshTick opens the refresh merge requests due at now in every
// configured repository and returns how many it opened.
func (l *Lifecycle) RefreshTick(ctx context.Context, now time.Time) int {
	l.refreshMu.Lock()
	defer l.refreshMu.Unlock()
	n := 0
	for _, r := range l.d.Cascade.Repositories {
		opened, err := l.refreshRepo(ctx, r, now)
		n += opened
		if err != nil {
			l.d.Log.Warn().Err(err).Str("repo", r.Repo).Msg("scheduled refresh")
		}
	}
	return n
}

func (l *Lifecycle) refreshRepo(ctx context.Context, r config.RefreshRepo, now time.Time) (int, error) {
	if l.d.Store == nil {
		return 0, errors.New("no store: nothing is released, nothing to refresh")
	}
	f, ok := l.d.Forges[r.Forge]
	if !ok {
		return 0, fmt.Errorf("forge %q is not configured", r.Forge)
	}
	repo := forge.Repo{FullName: r.Repo, CloneURL: r.CloneURL, DefaultBranch: r.Branch}
	user, token, err := forge.CloneAuthOf(ctx, f, repo)
	if err != nil {
		return 0, err
	}
	dir, err := l.d.Git.CheckoutBranch(ctx, r.Forge+"-"+r.Repo, r.CloneURL, r.Branch, user, token)
	if err != nil {
		return 0, fmt.Errorf("fetch %s of %s: %w", r.Branch, r.Repo, err)
	}
	cat, err := l.d.Catalog(ctx, dir)
	if err != nil {
		return 0, err
	}
	var entries []schedule.Entry
	for _, name := range cat.Order {
		if spec := cat.Images[name].Env.Refresh; spec != "" {
			if s, err := schedule.Parse(spec); err == nil {
				entries = append(entries, schedule.Entry{Image: name, Refresh: s})
			}
		}
	}
	st, err := l.repoStore(r.Forge, r.Repo)
	if err != nil {
		return 0, err
	}
	opened, err := schedule.Run(ctx, entries, schedule.StoreReleases{Store: st}, schedule.StoreLedger{Store: st}, now,
		func(ctx context.Context, d schedule.Due) error {
			c, err := cascade.ForRefresh(cat, d.Image, d.LastVersion, d.LastRelease, d.Tick)
			if err != nil {
				return err
			}
			files := make([]forge.File, 0, len(c.Files))
			for _, fl := range c.Files {
				files = append(files, forge.File{Path: fl.Path, Content: fl.Content})
			}
			mr, created, err := f.OpenChange(ctx, repo, forge.Change{Branch: c.Branch, Title: c.Title, Body: c.Body, Message: c.Message, Files: files})
			if err != nil {
				return err
			}
			l.d.Log.Info().Str("image", d.Image).Int("mr", mr.Number).Bool("created", created).Msg("scheduled refresh merge request")
			if created {
				return l.d.Notify(ctx, []notify.Event{{ID: notify.NewID(), Kind: notify.CascadeOpened, At: time.Now().UTC(),
					Image: d.Image, Images: []string{d.Image}, Reason: "scheduled refresh (" + cat.Images[d.Image].Env.Refresh + ")", URL: mr.WebURL}})
			}
			return nil
		})
	return len(opened), err
}
