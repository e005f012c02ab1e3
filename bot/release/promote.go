package release

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
)

// ManifestFields are the fields a release manifest adds to a build's
// manifest: the merge commit, the MR, the base release it was built on, and
// for a promotion the MR build's prefix it came from. The bot merges them
// into the manifest of a release build it publishes.
func ManifestFields(req BuildRequest, from *manifest.SourceBuild) map[string]any {
	f := map[string]any{"merge_commit": req.MergeCommit, "release": true}
	if req.MR != 0 {
		f["mr"] = req.MR
	}
	if req.Base != nil {
		f["base_image"] = req.Base
	}
	if from != nil {
		f["source_build"] = from
	}
	return f
}

// promote copies the MR build's files into the release server-side
// (store.Promote: verified, never replacing a release, manifest last) with
// a release manifest that is the MR build's plus the release fields.
func (r *Releaser) promote(ctx context.Context, push Push, img *catalog.Image, d *Decision) error {
	src, err := store.DecodeManifest(ctx, r.Store, *d.From)
	if err != nil {
		return err
	}
	from := &manifest.SourceBuild{BuildID: src.BuildID, MR: src.MR, GitSHA: src.GitSHA, Path: d.From.Prefix()}
	req := BuildRequest{MergeCommit: push.After, Base: d.Base}
	if push.MR != nil {
		req.MR = push.MR.Number
	}
	fields := ManifestFields(req, from)
	published, err := r.publishPromotedVSphere(ctx, img, *d.From, d.Version, src.Files)
	if err != nil {
		return err
	}
	if len(published) > 0 {
		fields["published"] = published
	}
	body, err := WithFields(src.Raw, fields)
	if err != nil {
		return err
	}
	to := store.Release(d.Image, d.Version)
	if push.MR == nil {
		return fmt.Errorf("promote %s: no merged merge request", d.From) // findMRBuild promotes only a merge's own MR build
	}
	if _, err := store.Promote(ctx, r.Store, *d.From, to, body, store.PromoteOptions{Log: &r.Log, Attester: r.Attester, MergedMR: push.MR.Number}); err != nil {
		return fmt.Errorf("promote %s to %s: %w", d.From, to, err)
	}
	if r.Published != nil {
		r.Published(ctx, push, d.Image, d.Version)
	}
	return nil
}

// WithFields returns a manifest with fields set; every other field the
// runner wrote is kept as it was.
func WithFields(manifest []byte, fields map[string]any) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	for k, v := range fields {
		m[k] = v
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(out, '\n'), nil
}
