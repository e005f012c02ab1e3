package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner/store"
)

// History is the bot's build history (bot/builds reads it from bot/state,
// with the live log tail of a build running in this process).
type History interface {
	RecentBuilds(ctx context.Context, limit int) ([]state.Build, error)
	// GetBuild returns one build with its steps (queue.ErrNoRows when unknown).
	GetBuild(ctx context.Context, id string) (state.Build, error)
}

// NewBuilds is h as the pages read it; forges give each MR's address,
// prefix each repository's images pages (nil: the root layout).
func NewBuilds(h History, forges map[string]forge.Forge, prefix func(forge, repo string) (string, error)) Builds {
	return webBuilds{h, forges, prefix}
}

type webBuilds struct {
	h      History
	forges map[string]forge.Forge
	prefix func(forge, repo string) (string, error)
}

func (w webBuilds) Recent(ctx context.Context, limit int) ([]Build, error) {
	bs, err := w.h.RecentBuilds(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Build, 0, len(bs))
	for _, bd := range bs {
		out = append(out, w.toWeb(bd))
	}
	return out, nil
}

func (w webBuilds) Build(ctx context.Context, id string) (Build, error) {
	bd, err := w.h.GetBuild(ctx, id)
	if errors.Is(err, queue.ErrNoRows) {
		return Build{}, ErrNotFound
	}
	if err != nil {
		return Build{}, err
	}
	return w.toWeb(bd), nil
}

// Log reads the runner's redacted build.log on this host from offset.
func (w webBuilds) Log(ctx context.Context, id string, offset int64) ([]byte, bool, error) {
	bd, err := w.h.GetBuild(ctx, id)
	if errors.Is(err, queue.ErrNoRows) {
		return nil, false, ErrNotFound
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

func (w webBuilds) toWeb(bd state.Build) Build {
	wb := Build{ID: bd.ID, Image: bd.Image, Kind: state.KindMR, MR: bd.MR, SHA: bd.SHA, Forge: bd.Forge, Repo: bd.Repo,
		MRURL: w.mrURL(bd), Status: bd.Status, Step: bd.Step, Queued: bd.Created, Started: bd.Started,
		Finished: bd.Finished, Error: bd.Error, TriggeredBy: bd.TriggeredBy}
	wb.Steps = webSteps(bd)
	wb.ImagesBase = ImagesBase(w.prefix, bd.Forge, bd.Repo)
	wb.Found = webFound(bd.Details)
	if bd.Kind == state.KindRelease {
		wb.Kind, wb.Version = state.KindRelease, bd.Version
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
func (w webBuilds) mrURL(bd state.Build) string {
	f, ok := w.forges[bd.Forge]
	if !ok {
		return ""
	}
	return f.MergeRequestURL(bd.ForgeRepo(), bd.MR)
}

// webSteps is the build's timeline for the page: a step ends where the next
// starts, the last where the build ended (a failed build failed in it).
// Without a recorded timeline (a list row) it is the current step alone.
func webSteps(bd state.Build) []Step {
	failed := bd.Done() && bd.Status != "succeeded"
	if len(bd.Steps) == 0 {
		if bd.Step == "" {
			return nil
		}
		return []Step{{Name: bd.Step, Started: bd.Started, Finished: bd.Finished, Failed: failed}}
	}
	out := make([]Step, len(bd.Steps))
	for i, s := range bd.Steps {
		out[i] = Step{Name: s.Name, Started: s.Started}
		if i+1 < len(bd.Steps) {
			out[i].Finished = bd.Steps[i+1].Started
		}
	}
	last := &out[len(out)-1]
	last.Finished, last.Failed = bd.Finished, failed
	return out
}

// webFound is the build page's view of a build's recorded details.
func webFound(d *state.Details) *Found {
	if d == nil || d.Empty() {
		return nil
	}
	f := &Found{Packages: d.Packages, DiffNote: d.DiffNote}
	if d.Diff != nil {
		f.Diff = fmt.Sprintf("%s against %s %s", d.Diff.Summary(), d.Diff.Image, d.Diff.OldVersion)
	}
	for _, c := range d.Checks {
		f.Checks = append(f.Checks, FoundCheck{Name: c.Check, Where: fmt.Sprintf("%s.yaml:%d", c.File, c.Line), Passed: c.Passed, Detail: c.Detail})
	}
	for _, h := range d.Hygiene {
		f.Hygiene = append(f.Hygiene, h.Check+": "+h.Detail)
	}
	return f
}
