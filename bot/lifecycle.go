package bot

// The release lifecycle around a release build (issue 15): notifications
// through the outbox (bot/report/outbox, runner/notify) and the cascade
// of bump merge requests when a base image is released (runner/cascade).

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/web"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/cascade"
	"github.com/imagebot/imagebot/runner/notify"
)

// Notify queues notifications for every subscribed sink; a sink that
// fails is retried by the outbox.
func (b *Bot) Notify(ctx context.Context, evs []notify.Event) error { return b.outbox.Notify(ctx, evs) }

// afterRelease tells the sinks how a release build ended and, when it
// published a release and cascades are on, opens the bump merge requests
// of the images built on an older release of this one. Failures are
// logged: the release stands either way.
func (b *Bot) afterRelease(ctx context.Context, f forge.Forge, a ReleaseArgs, status, msg string) {
	ctx = context.WithoutCancel(ctx)
	ev := notify.Event{ID: notify.NewID(), At: time.Now().UTC(), Image: a.Image, Version: a.Version,
		Repository: a.Request.Repo.WebURL, Actor: a.Request.TriggeredBy, BuildID: a.BuildID}
	if status == string(runner.StatusSucceeded) {
		ev.Kind, ev.URL = notify.ReleasePublished, b.pagesURL(a.Forge, a.RepoName)+"/images/"+a.Image+"/"+a.Version
	} else {
		ev.Kind, ev.Reason, ev.URL = notify.BuildFailed, b.redact(msg), b.cfg.UI.PublicURL+"/builds/"+a.BuildID
	}
	if err := b.Notify(ctx, []notify.Event{ev}); err != nil {
		b.log.Warn().Err(err).Str("image", a.Image).Msg("queue the release notification")
	}
	if ev.Kind != notify.ReleasePublished || !b.cascades(a.Forge, a.RepoName) || b.deps.Store == nil {
		return
	}
	if err := b.cascade(ctx, f, a); err != nil {
		b.log.Warn().Err(err).Str("base", a.Image+"@"+a.Version).Msg("cascade")
	}
}

// cascades says whether cascades are on for a repository: cascade.enabled,
// and, when cascade.repositories lists any, only for those.
func (b *Bot) cascades(forgeName, repo string) bool {
	c := b.cfg.Cascade
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
func (b *Bot) cascade(ctx context.Context, f forge.Forge, a ReleaseArgs) error {
	st, err := b.repoStore(a.Forge, a.RepoName)
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
	dir, err := b.git.Checkout(ctx, a.Forge+"-"+a.RepoName, a.Request.Repo.CloneURL, a.SHA, user, token)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", forge.ShortSHA(a.SHA), err)
	}
	cat, err := b.deps.Catalog(ctx, dir)
	if err != nil {
		return err
	}
	changes, err := cascade.Changes(ctx, cat, st, a.Image, outdated, b.cfg.Cascade.Group)
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
		b.log.Info().Str("base", a.Image+"@"+a.Version).Int("mr", mr.Number).Bool("created", created).
			Str("images", strings.Join(images, ",")).Msg("cascade merge request")
		if created {
			base := a.Image + "@" + a.Version
			evs = append(evs,
				notify.Event{ID: notify.NewID(), Kind: notify.BaseOutdated, At: time.Now().UTC(), Base: base, Images: images,
					Repository: a.Request.Repo.WebURL, URL: b.pagesURL(a.Forge, a.RepoName) + "/images/" + a.Image},
				notify.Event{ID: notify.NewID(), Kind: notify.CascadeOpened, At: time.Now().UTC(), Base: base, Images: images,
					Repository: a.Request.Repo.WebURL, URL: mr.WebURL})
		}
	}
	return b.Notify(ctx, evs)
}

// pagesURL is where the images pages of a repository live.
func (b *Bot) pagesURL(forgeName, repo string) string {
	return b.cfg.UI.PublicURL + web.ImagesBase(b.deps.RepoPrefix, forgeName, repo)
}
