// Package release owns what a push to the default branch means: for every
// image whose inputs changed, at the version in its env.yaml, it decides to
// do nothing (already released with the same inputs), to refuse (released
// with other inputs: the version must be bumped), to promote an MR build of
// exactly the same inputs (a server-side copy, no rebuild), or to queue a
// release build. It is logic over small interfaces, so it is tested alone.
package release

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/vsphere"
)

// Action is what the release flow does for one image.
type Action string

const (
	UpToDate Action = "up_to_date" // released with the same inputs digest: nothing to do
	Refuse   Action = "refuse"     // released with another digest: the version must be bumped
	Promote  Action = "promote"    // an MR build of the same digest is copied into the release
	Build    Action = "build"      // a release build is queued
)

// Push is a push to the default branch, usually a merge.
type Push struct {
	Repo   forge.Repo
	Before string // the old head
	After  string // the new head: the merge commit
	// MR is the merged merge request when the bot knows it; nil for a
	// direct push (then refusals can only be told by commit status).
	MR    *forge.MergeRequest
	Actor string
}

// BuildRequest asks the bot to queue one release build.
type BuildRequest struct {
	Repo        forge.Repo
	Image       string
	Version     string
	Digest      string
	MergeCommit string
	MR          int // 0 for a direct push
	Base        *manifest.BaseImage
	Prefix      string // the release's key prefix in the store
	TriggeredBy string
}

// Forge is what release needs of a forge (forge.Forge has it).
type Forge interface {
	CreateComment(ctx context.Context, repo forge.Repo, mr int, body string) (int64, error)
	SetStatus(ctx context.Context, repo forge.Repo, sha string, st forge.Status) error
	GetMergeRequest(ctx context.Context, repo forge.Repo, mr int) (forge.MergeRequest, error)
}

// Notifier delivers what release tells the forge: commit statuses and the
// comment on the merged MR. The bot's report outbox implements it, so a
// forge outage delays them but loses none; tests leave it nil and the
// writes go to Forge directly.
type Notifier interface {
	SetStatus(ctx context.Context, repo forge.Repo, sha string, st forge.Status) error
	Comment(ctx context.Context, repo forge.Repo, mr int, body string) error
}

// Queue queues release builds (the bot's durable queue implements it).
// The bot publishes the result under req.Prefix with the manifest fields
// ManifestFields gives.
type Queue interface {
	QueueRelease(ctx context.Context, req BuildRequest) error
}

// Decision is what was decided for one image, and why.
type Decision struct {
	Image   string
	Version string
	Digest  string
	Action  Action
	Reason  string // one sentence for people
	// ReleasedDigest is the digest of the existing release (UpToDate, Refuse).
	ReleasedDigest string
	// From is the MR build a promotion copied from.
	From *store.Ref
	Base *manifest.BaseImage
	Err  error // what went wrong carrying the decision out
}

// Releaser carries out a push's release decisions.
type Releaser struct {
	Store store.Store
	Forge Forge
	Queue Queue
	// Notify delivers statuses and comments; nil: straight to Forge.
	Notify Notifier
	// PageURL links statuses to the web page ("https://bot/images"); optional.
	PageURL string
	Log     zerolog.Logger
	// VSphere is the deployment's vCenter: release builds of images with a
	// content library are published there; nil: never.
	VSphere *vsphere.Config
	// Attester signs each release's provenance; nil publishes unsigned.
	Attester store.Attester
	// Published is told of each release made by promotion (notifications,
	// cascades); release builds are the bot's job's to tell. nil: nobody.
	Published func(ctx context.Context, push Push, image, version string)
}

// Release decides and acts for every affected image of cat, in the order
// given (the catalog's Affected: bases first). It keeps going after one
// image fails and returns every decision and the errors joined.
func (r *Releaser) Release(ctx context.Context, push Push, cat *catalog.Catalog, affected []string) ([]Decision, error) {
	return r.release(ctx, push, cat, affected, nil)
}

// release decides for affected and tells the forge about those decisions
// and the failed ones given, in one comment.
func (r *Releaser) release(ctx context.Context, push Push, cat *catalog.Catalog, affected []string, failed []Decision) ([]Decision, error) {
	var (
		out     []Decision
		errs    []error
		refused = map[string]bool{}
	)
	for _, name := range affected {
		img, ok := cat.Images[name]
		if !ok {
			errs = append(errs, fmt.Errorf("release %s: not in the catalog", name))
			continue
		}
		d := r.decide(ctx, push, cat, img, refused)
		if d.Err == nil && d.Action == Build {
			// Pending before it is queued: the build's own statuses follow.
			r.setStatus(ctx, push, d)
		}
		if d.Err == nil {
			d.Err = r.act(ctx, push, cat.Images[d.Image], &d)
		}
		if d.Err != nil || d.Action != Build {
			r.setStatus(ctx, push, d)
		}
		if d.Action == Refuse {
			refused[name] = true
		}
		if d.Err != nil {
			errs = append(errs, fmt.Errorf("release %s %s: %w", d.Image, d.Version, d.Err))
		}
		r.Log.Info().Str("image", d.Image).Str("version", d.Version).Str("action", string(d.Action)).
			Str("reason", d.Reason).AnErr("error", d.Err).Msg("release decision")
		out = append(out, d)
	}
	for _, d := range failed {
		r.setStatus(ctx, push, d)
		errs = append(errs, d.Err)
	}
	out = append(out, failed...)
	r.tell(ctx, push, out)
	return out, errors.Join(errs...)
}

// decide looks at the store only; it changes nothing.
func (r *Releaser) decide(ctx context.Context, push Push, cat *catalog.Catalog, img *catalog.Image, refused map[string]bool) Decision {
	d := Decision{Image: img.Name, Version: img.Env.Version, Digest: img.Digest}
	if b := img.Env.Base; b != "" {
		if refused[b] {
			d.Base = &manifest.BaseImage{Image: b}
			d.Action, d.Reason = Refuse, fmt.Sprintf("its base %s was refused, so %s cannot be released on it", b, img.Name)
			return d
		}
		if d.Base, d.Err = r.baseRelease(ctx, cat, b); d.Err != nil {
			return d
		}
	}
	m, err := store.DecodeManifest(ctx, r.Store, store.Release(img.Name, img.Env.Version))
	switch {
	case err == nil && m.InputsDigest == img.Digest:
		d.Action, d.ReleasedDigest = UpToDate, m.InputsDigest
		d.Reason = fmt.Sprintf("%s %s is already released with the same inputs; nothing to do", img.Name, img.Env.Version)
		return d
	case err == nil:
		d.Action, d.ReleasedDigest = Refuse, m.InputsDigest
		d.Reason = fmt.Sprintf("%s %s is already released with other inputs (%s, this merge has %s); releases are immutable: bump the version in %s/env.yaml",
			img.Name, img.Env.Version, short(m.InputsDigest), short(img.Digest), img.Dir)
		return d
	case !errors.Is(err, store.ErrNotFound):
		d.Err = err
		return d
	}
	from, err := r.findMRBuild(ctx, push, img)
	if err != nil {
		d.Err = err
		return d
	}
	if from != nil {
		d.Action, d.From = Promote, &from.Ref
		d.Reason = fmt.Sprintf("promoted from the MR build %s (same inputs %s); no rebuild", from.Name(), short(img.Digest))
		return d
	}
	d.Action = Build
	d.Reason = fmt.Sprintf("no build of inputs %s exists; a release build is queued", short(img.Digest))
	return d
}

// findMRBuild returns a complete build of the merged MR with exactly the
// image's digest and version, or nil. Only the merged MR's own builds
// count (issue 11 item 11): another MR's build of the same inputs, open,
// closed or foreign, is never released; a direct push (no MR) builds.
func (r *Releaser) findMRBuild(ctx context.Context, push Push, img *catalog.Image) (*store.Version, error) {
	if push.MR == nil {
		return nil, nil
	}
	vs, err := store.Versions(ctx, r.Store, img.Name)
	if err != nil {
		return nil, err
	}
	for i := range vs {
		v := &vs[i]
		if v.Kind == store.KindMR && v.MR == push.MR.Number && v.Manifest.InputsDigest == img.Digest && v.Manifest.Version == img.Env.Version {
			return v, nil // Versions sorts MR builds newest first
		}
	}
	return nil, nil
}

// baseRelease names the release of the base image a child is released on:
// the base's published release at its env.yaml version, or, when this push
// is releasing it too (bases go first), the version and digest it will have.
func (r *Releaser) baseRelease(ctx context.Context, cat *catalog.Catalog, name string) (*manifest.BaseImage, error) {
	base, ok := cat.Images[name]
	if !ok {
		return nil, fmt.Errorf("base image %s is not in the catalog", name)
	}
	b := &manifest.BaseImage{Image: name, Version: base.Env.Version, InputsDigest: base.Digest}
	m, err := store.DecodeManifest(ctx, r.Store, store.Release(name, base.Env.Version))
	switch {
	case err == nil:
		b.BuildID, b.InputsDigest = m.BuildID, m.InputsDigest
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	return b, nil
}

func (r *Releaser) act(ctx context.Context, push Push, img *catalog.Image, d *Decision) error {
	switch d.Action {
	case Promote:
		return r.promote(ctx, push, img, d)
	case Build:
		req := BuildRequest{
			Repo: push.Repo, Image: d.Image, Version: d.Version, Digest: d.Digest,
			MergeCommit: push.After, Base: d.Base, TriggeredBy: push.Actor,
			Prefix: store.Release(d.Image, d.Version).Prefix(),
		}
		if push.MR != nil {
			req.MR = push.MR.Number
		}
		if err := r.Queue.QueueRelease(ctx, req); err != nil {
			return fmt.Errorf("queue the release build: %w", err)
		}
	}
	return nil
}

func short(digest string) string {
	d := strings.TrimPrefix(digest, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return "sha256:" + d
}
