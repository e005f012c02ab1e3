// Package lifecycle owns what happens around a release build (issue 15):
// the notification of how it ended (queued through the outbox, bot/report/outbox
// and runner/notify), the cascade of bump merge requests when a base image is
// released (runner/cascade), and the scheduled refresh, a River periodic job
// that opens a bump merge request when an image's refresh: comes due
// (runner/schedule).
package lifecycle

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/web"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/cascade"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/notify"
	"github.com/imagebot/imagebot/runner/store"
)

// Git checks out a repository at a commit or at the tip of a branch
// (bot/builds.GitFetcher).
type Git interface {
	Checkout(ctx context.Context, repoKey, cloneURL, sha, user, token string) (string, error)
	CheckoutBranch(ctx context.Context, repoKey, cloneURL, branch, user, token string) (string, error)
}

// Deps is what the lifecycle needs.
type Deps struct {
	Forges  map[string]forge.Forge // by Name(): the scheduler's repositories name one
	Git     Git
	Catalog func(ctx context.Context, root string) (*catalog.Catalog, error)
	// Store holds the releases; nil: nothing cascades or refreshes.
	Store store.Store
	// RepoPrefix gives a repository's key prefix in Store
	// (store.Config.RepoPrefix); nil: the root layout.
	RepoPrefix func(forgeName, repo string) (string, error)
	// Notify queues notifications (the outbox, which retries a failing sink).
	Notify    func(ctx context.Context, evs []notify.Event) error
	PublicURL string
	Cascade   config.Cascade
	// Redact masks the configured secrets in a failure reason.
	Redact func(string) string
	Log    zerolog.Logger
}

// Lifecycle is the release lifecycle of one bot.
type Lifecycle struct {
	d Deps
	// refreshMu makes scheduler ticks one at a time: they share the
	// branch checkouts.
	refreshMu sync.Mutex
}

// New returns the lifecycle over d.
func New(d Deps) *Lifecycle {
	if d.Redact == nil {
		d.Redact = func(s string) string { return s }
	}
	return &Lifecycle{d: d}
}

// AfterRelease tells the sinks how a release build ended and, when it
// published a release and cascades are on, opens the bump merge requests
// of the images built on an older release of this one. Failures are
// logged: the release stands either way.
func (l *Lifecycle) AfterRelease(ctx context.Context, f forge.Forge, a jobs.Release, status, msg string) {
	ctx = context.WithoutCancel(ctx)
	ev := notify.Event{ID: notify.NewID(), At: time.Now().UTC(), Image: a.Image, Version: a.Version,
		Repository: a.Request.Repo.WebURL, Actor: a.Request.TriggeredBy, BuildID: a.BuildID}
	if status == string(runner.StatusSucceeded) {
		ev.Kind, ev.URL = notify.ReleasePublished, l.pagesURL(a.Forge, a.RepoName)+"/images/"+a.Image+"/"+a.Version
	} else {
		ev.Kind, ev.Reason, ev.URL = notify.BuildFailed, l.d.Redact(msg), l.d.PublicURL+"/builds/"+a.BuildID
	}
	if err := l.d.Notify(ctx, []notify.Event{ev}); err != nil {
		l.d.Log.Warn().Err(err).Str("image", a.Image).Msg("queue the release notification")
	}
	if ev.Kind != notify.ReleasePublished || !l.cascades(a.Forge, a.RepoName) || l.d.Store == nil {
		return
	}
	if err := l.cascade(ctx, f, a); err != nil {
		l.d.Log.Warn().Err(err).Str("base", a.Image+"@"+a.Version).Msg("cascade")
	}
}

// cascades says whether cascades are on for a repository: cascade.enabled,
// and, when cascade.repositories lists any, only for those.
func (l *Lifecycle) cascades(forgeName, repo string) bool {
	c := l.d.Cascade
	if !c.Enabled {
		return false
	}
	if len(c.Repositories) == 0 {
		return true
	}
	for _, r := range c.Repositories {
		if r.Forge == forgeName && r.Repo == repo {
			return true
		}
	}
	return false
}

// cascade opens the bump merge requests for the images whose latest
// release is built on an older release of a.Image (one per base release,
// or per image with cascade.group: image). OpenChange never opens one
// twice, so a retried job or a replayed push changes nothing.
func (l *Lifecycle) cascade(ctx context.Context, f forge.Forge, a jobs.Release) error {
	st, err := l.repoStore(a.Forge, a.RepoName)
	if err != nil {
		return err
	}
	outdated, err := cascade.Check(ctx, st)
	if err != nil {
		return err
	}
	if len(cascade.Children(outdated, a.Image)) == 0 {
		return nil
	}
	user, token, err := forge.CloneAuthOf(ctx, f, a.Request.Repo)
	if err != nil {
		return err
	}
	dir, err := l.d.Git.Checkout(ctx, a.Forge+"-"+a.RepoName, a.Request.Repo.CloneURL, a.SHA, user, token)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", forge.ShortSHA(a.SHA), err)
	}
	cat, err := l.d.Catalog(ctx, dir)
	if err != nil {
		return err
	}
	changes, err := cascade.Changes(ctx, cat, st, a.Image, outdated, l.d.Cascade.Group)
	if err != nil {
		return err
	}
	var evs []notify.Event
	for _, c := range changes {
		files := make([]forge.File, 0, len(c.Files))
		var images []string
		for i, fl := range c.Files {
			files = append(files, forge.File{Path: fl.Path, Content: fl.Content})
			images = append(images, c.Bumps[i].Image)
		}
		mr, created, err := f.OpenChange(ctx, a.Request.Repo, forge.Change{Branch: c.Branch, Title: c.Title, Body: c.Body, Message: c.Message, Files: files})
		if err != nil {
			return err
		}
		l.d.Log.Info().Str("base", a.Image+"@"+a.Version).Int("mr", mr.Number).Bool("created", created).
			Str("images", strings.Join(images, ",")).Msg("cascade merge request")
		if created {
			base := a.Image + "@" + a.Version
			evs = append(evs,
				notify.Event{ID: notify.NewID(), Kind: notify.BaseOutdated, At: time.Now().UTC(), Base: base, Images: images,
					Repository: a.Request.Repo.WebURL, URL: l.pagesURL(a.Forge, a.RepoName) + "/images/" + a.Image},
				notify.Event{ID: notify.NewID(), Kind: notify.CascadeOpened, At: time.Now().UTC(), Base: base, Images: images,
					Repository: a.Request.Repo.WebURL, URL: mr.WebURL})
		}
	}
	return l.d.Notify(ctx, evs)
}

// repoStore is the store as repository repo of forgeName sees it (its own
// key prefix, store.RepoStore).
func (l *Lifecycle) repoStore(forgeName, repo string) (store.Store, error) {
	if l.d.RepoPrefix == nil || l.d.Store == nil {
		return l.d.Store, nil
	}
	pre, err := l.d.RepoPrefix(forgeName, repo)
	if err != nil {
		return nil, err
	}
	return store.RepoStore(l.d.Store, pre), nil
}

// pagesURL is where the images pages of a repository live.
func (l *Lifecycle) pagesURL(forgeName, repo string) string {
	return l.d.PublicURL + web.ImagesBase(l.d.RepoPrefix, forgeName, repo)
}
