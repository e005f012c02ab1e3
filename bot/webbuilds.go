package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/web"
	"github.com/imagebot/imagebot/runner/store"
)

// WebBuilds is the bot's build history as the web pages read it.
func (b *Bot) WebBuilds() web.Builds { return webBuilds{b} }

type webBuilds struct{ b *Bot }

func (w webBuilds) Recent(ctx context.Context, limit int) ([]web.Build, error) {
	bs, err := w.b.RecentBuilds(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]web.Build, 0, len(bs))
	for _, bd := range bs {
		out = append(out, w.toWeb(bd))
	}
	return out, nil
}

func (w webBuilds) Build(ctx context.Context, id string) (web.Build, error) {
	bd, err := w.b.GetBuild(ctx, id)
	if errors.Is(err, queue.ErrNoRows) {
		return web.Build{}, web.ErrNotFound
	}
	if err != nil {
		return web.Build{}, err
	}
	return w.toWeb(bd), nil
}

// Log reads the runner's redacted build.log on this host from offset.
func (w webBuilds) Log(ctx context.Context, id string, offset int64) ([]byte, bool, error) {
	bd, err := w.b.GetBuild(ctx, id)
	if errors.Is(err, queue.ErrNoRows) {
		return nil, false, web.ErrNotFound
	}
	if err != nil {
		return nil, false, err
	}
	if bd.LogPath == "" {
		if bd.Done() {
			return []byte(bd.LogTail), true, nil
		}
		return nil, false, nil
	}
	f, err := os.Open(bd.LogPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, bd.Done(), nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read log of %s: %w", id, err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, false, err
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	return data, bd.Done() && len(data) < 1<<20, err
}

func (w webBuilds) toWeb(bd Build) web.Build {
	wb := web.Build{ID: bd.ID, Image: bd.Image, Kind: kindMR, MR: bd.MR, SHA: bd.SHA, Forge: bd.Forge, Repo: bd.Repo,
		MRURL: w.mrURL(bd), Status: bd.Status, Step: bd.Step, Queued: bd.Created, Started: bd.Started,
		Finished: bd.Finished, Error: bd.Error, TriggeredBy: bd.TriggeredBy}
	wb.Steps = webSteps(bd)
	wb.ImagesBase = web.ImagesBase(w.b.deps.RepoPrefix, bd.Forge, bd.Repo)
	if bd.Kind == kindRelease {
		wb.Kind, wb.Version = kindRelease, bd.Version
		if bd.Status == "succeeded" {
			wb.Artifact = bd.Version
		}
		return wb
	}
	if bd.Status == "succeeded" && bd.MR > 0 {
		ref := store.MRBuild(bd.Image, bd.MR, bd.SHA)
		wb.Artifact = fmt.Sprintf("mr%d-%s", ref.MR, ref.SHA)
	}
	return wb
}

// mrURL is the merge request's page on its forge ("" when unknown).
func (w webBuilds) mrURL(bd Build) string {
	f, err := w.b.forge(bd.Forge)
	if err != nil {
		return ""
	}
	return f.MergeRequestURL(bd.ForgeRepo(), bd.MR)
}

// webSteps is the build's timeline for the page: a step ends where the next
// starts, the last where the build ended (a failed build failed in it).
// Without a recorded timeline (a list row) it is the current step alone.
func webSteps(bd Build) []web.Step {
	failed := bd.Done() && bd.Status != "succeeded"
	if len(bd.Steps) == 0 {
		if bd.Step == "" {
			return nil
		}
		return []web.Step{{Name: bd.Step, Started: bd.Started, Finished: bd.Finished, Failed: failed}}
	}
	out := make([]web.Step, len(bd.Steps))
	for i, s := range bd.Steps {
		out[i] = web.Step{Name: s.Name, Started: s.Started}
		if i+1 < len(bd.Steps) {
			out[i].Finished = bd.Steps[i+1].Started
		}
	}
	last := &out[len(out)-1]
	last.Finished, last.Failed = bd.Finished, failed
	return out
}
