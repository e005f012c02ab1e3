package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/imagebot/imagebot/bot/report"
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
func (b *Bot) recordDetails(ctx context.Context, a BuildArgs, res *runner.Result) {
	// The release to compare with is this repository's (store keys are per
	// repository); a repository that cannot store builds has none.
	st, err := repoStore(b.artifactStore(), b.deps.RepoPrefix, a.Forge, a.RepoName)
	if err != nil {
		st = nil
	}
	d := b.details(ctx, res, st)
	data := ""
	if !d.Empty() {
		j, err := json.Marshal(d)
		if err != nil {
			b.log.Warn().Err(err).Str("build", a.BuildID).Msg("encode build details")
			return
		}
		data = string(j)
	}
	if err := b.setBuild(ctx, a, state.Details(data)); err != nil {
		b.log.Warn().Err(err).Str("build", a.BuildID).Msg("record build details")
	}
}

// details collects what the comment shows of res. Every string goes
// through the redactor; the renderer escapes them.
func (b *Bot) details(ctx context.Context, res *runner.Result, st store.Store) *report.Details {
	d := &report.Details{}
	for _, c := range res.Checks {
		d.Checks = append(d.Checks, report.Check{File: b.redact(c.File), Line: c.Line, Check: b.redact(c.Check),
			Passed: c.Passed, Detail: b.redact(c.Detail)})
	}
	for _, s := range res.Skipped {
		d.Skipped = append(d.Skipped, b.redact(s))
	}
	for _, a := range res.Artifacts {
		if len(a.IDs) == 0 {
			continue
		}
		ids := map[string]string{}
		for region, id := range a.IDs {
			ids[b.redact(region)] = b.redact(id)
		}
		d.Cloud = append(d.Cloud, report.CloudArtifact{Source: b.redact(a.Source), IDs: ids})
	}
	var inv *inventory.Inventory
	sizes := map[string]int64{}
	disks := false
	for _, f := range res.Files {
		switch f.Format {
		case "manifest":
			if m, err := manifest.Read(f.Path); err == nil {
				for _, h := range m.Hygiene {
					d.Hygiene = append(d.Hygiene, report.Finding{Check: b.redact(h.Check), Detail: b.redact(h.Detail), Error: h.Error})
				}
			}
		case "inventory":
			var err error
			if inv, err = inventory.ReadFile(f.Path); err != nil {
				d.DiffNote = "no package list: " + b.redact(err.Error())
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
	b.compareWithRelease(ctx, st, d, imagediff.Side{Image: res.Image, Version: res.Version, Inventory: inv, Sizes: sizes})
	return d
}

// compareWithRelease fills d's diff against the image's latest release in
// st; none yet leaves it empty: "first build: N packages".
func (b *Bot) compareWithRelease(ctx context.Context, st store.Store, d *report.Details, new imagediff.Side) {
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, diffTimeout)
	defer cancel()
	ref, err := store.Latest(ctx, st, new.Image)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err != nil {
		d.DiffNote = "no diff: " + b.redact(err.Error())
		return
	}
	old, err := imagediff.Load(ctx, st, ref)
	if err != nil {
		d.DiffNote = fmt.Sprintf("no diff against %s %s: %s", ref.Image, ref.Version, b.redact(err.Error()))
		return
	}
	if old.Inventory == nil {
		d.DiffNote = fmt.Sprintf("no diff: %s %s was published without a package list", ref.Image, ref.Version)
		return
	}
	diff := imagediff.Compare(old, new)
	d.Diff = &diff
}

// artifactStore is where releases are read from: the bot's store, else
// the publisher's.
func (b *Bot) artifactStore() store.Store {
	if b.deps.Store != nil {
		return b.deps.Store
	}
	if p, ok := b.deps.Publish.(*StorePublisher); ok {
		return p.Store
	}
	return nil
}
