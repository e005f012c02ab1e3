package builds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/imagediff"
	"github.com/imagebot/imagebot/runner/inventory"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
)

// What a finished build learnt about its image (runner/inspect and
// runner/verify: inventory, hygiene, checks; runner/sources: cloud ids,
// skipped sources) becomes the build's details column, which its MR
// comment row renders (bot/report Details). The files it reads are the
// runner's outputs: read before the build's files are removed.

// diffTimeout bounds reading the latest release from the store: a slow
// store delays the report, never the build's result.
const diffTimeout = time.Minute

// recordDetails stores res's details on the build; a failure to read the
// release to compare with is shown in the comment, not an error.
func (p *Pipeline) recordDetails(ctx context.Context, j *Job, res *runner.Result) {
	// The release to compare with is this repository's (store keys are per
	// repository); a repository that cannot store builds has none.
	st, err := p.repoStore(j.Forge, j.Repo.FullName)
	if err != nil {
		st = nil
	}
	data, err := p.detailsJSON(ctx, res, st, j.Kind == state.KindRelease)
	if err != nil {
		p.d.Log.Warn().Err(err).Str("build", j.ID).Msg("encode build details")
		return
	}
	if err := p.setBuild(ctx, j, state.DetailsJSON(data)); err != nil {
		p.d.Log.Warn().Err(err).Str("build", j.ID).Msg("record build details")
	}
}

// detailsJSON is the details column's value for res ("" when there is
// nothing to say). A release build compares with the release before its
// version (it is itself the latest once published), an MR build with the
// latest release.
func (p *Pipeline) detailsJSON(ctx context.Context, res *runner.Result, st store.Store, release bool) (string, error) {
	d := p.details(ctx, res, st, release)
	if d.Empty() {
		return "", nil
	}
	j, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	return string(j), nil
}

// details collects what the comment shows of res. Every string goes
// through the redactor; the renderer escapes them.
func (p *Pipeline) details(ctx context.Context, res *runner.Result, st store.Store, release bool) *state.Details {
	d := &state.Details{}
	for _, c := range res.Checks {
		d.Checks = append(d.Checks, state.Check{File: p.redact(c.File), Line: c.Line, Check: p.redact(c.Check),
			Passed: c.Passed, Detail: p.redact(c.Detail)})
	}
	for _, s := range res.Skipped {
		d.Skipped = append(d.Skipped, p.redact(s))
	}
	for _, a := range res.Artifacts {
		if len(a.IDs) == 0 {
			continue
		}
		ids := map[string]string{}
		for region, id := range a.IDs {
			ids[p.redact(region)] = p.redact(id)
		}
		d.Cloud = append(d.Cloud, state.CloudArtifact{Source: p.redact(a.Source), IDs: ids})
	}
	var inv *inventory.Inventory
	sizes := map[string]int64{}
	disks := false
	for _, f := range res.Files {
		switch f.Format {
		case "manifest":
			if m, err := manifest.Read(f.Path); err == nil {
				for _, h := range m.Hygiene {
					d.Hygiene = append(d.Hygiene, state.Finding{Check: p.redact(h.Check), Detail: p.redact(h.Detail), Error: h.Error})
				}
			}
		case "inventory":
			var err error
			if inv, err = inventory.ReadFile(f.Path); err != nil {
				d.DiffNote = "no package list: " + p.redact(err.Error())
			}
		case "qcow2", "ova":
			sizes[f.Format], disks = f.Size, true
		}
	}
	if inv == nil {
		if disks && d.DiffNote == "" && res.Status == runner.StatusSucceeded {
			d.DiffNote = "no package list: the disk could not be read offline (see the log)"
		}
		return d
	}
	d.Packages = len(inv.Packages)
	p.compareWithRelease(ctx, st, d, imagediff.Side{Image: res.Image, Version: res.Version, Inventory: inv, Sizes: sizes}, release)
	return d
}

// compareWithRelease fills d's diff against the image's latest release in
// st, or for a release build the release before new.Version
// (store.Previous); none yet leaves it empty: "first build: N packages".
func (p *Pipeline) compareWithRelease(ctx context.Context, st store.Store, d *state.Details, new imagediff.Side, release bool) {
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, diffTimeout)
	defer cancel()
	ref, err := store.Latest(ctx, st, new.Image)
	if release {
		ref, err = store.Previous(ctx, st, new.Image, new.Version)
	}
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err != nil {
		d.DiffNote = "no diff: " + p.redact(err.Error())
		return
	}
	old, err := imagediff.Load(ctx, st, ref)
	if err != nil {
		d.DiffNote = fmt.Sprintf("no diff against %s %s: %s", ref.Image, ref.Version, p.redact(err.Error()))
		return
	}
	if old.Inventory == nil {
		d.DiffNote = fmt.Sprintf("no diff: %s %s was published without a package list", ref.Image, ref.Version)
		return
	}
	diff := imagediff.Compare(old, new)
	d.Diff = &diff
}

// repoStore is the artifact store as repository repo of forgeName sees it
// (its own key prefix); nil when there is no store.
func (p *Pipeline) repoStore(forgeName, repo string) (store.Store, error) {
	return repoStore(p.artifactStore(), p.d.RepoPrefix, forgeName, repo)
}

// artifactStore is where releases are read from: the bot's store, else
// the publisher's.
func (p *Pipeline) artifactStore() store.Store {
	if p.d.Store != nil {
		return p.d.Store
	}
	if p, ok := p.d.Publish.(*StorePublisher); ok {
		return p.Store
	}
	return nil
}
