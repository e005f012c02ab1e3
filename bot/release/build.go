package release

import (
	"context"
	"fmt"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
)

// Builder runs one build (runner.Runner implements it).
type Builder interface {
	Build(ctx context.Context, cat *catalog.Catalog, req runner.Request, onEvent runner.EventFunc) (*runner.Result, error)
}

// BuildRelease is the work of one queued release build: build req's image
// from cat (a checkout of req.MergeCommit) into outDir, publish it as the
// release with the release manifest fields, and set its commit status. The
// bot's release job calls it; secrets are refused in the manifest.
func (r *Releaser) BuildRelease(ctx context.Context, b Builder, cat *catalog.Catalog, req BuildRequest, buildID, outDir string,
	secrets []string, onEvent runner.EventFunc) (*runner.Result, error) {
	status := func(state forge.State, desc string) {
		st := forge.Status{Context: "imagebot/" + req.Image, State: state, Description: desc}
		if r.PageURL != "" {
			st.TargetURL = r.PageURL + "/" + req.Image
		}
		if err := r.notifier().SetStatus(context.WithoutCancel(ctx), req.Repo, req.MergeCommit, st); err != nil {
			r.Log.Warn().Err(err).Str("image", req.Image).Msg("set release status")
		}
	}
	// A re-run (after a restart, or a duplicate job) of a release that is
	// already published with these inputs has nothing left to do.
	if m, err := store.DecodeManifest(ctx, r.Store, store.Release(req.Image, req.Version)); err == nil {
		if m.InputsDigest == req.Digest {
			status(forge.StateSuccess, fmt.Sprintf("%s released", req.Version))
			return nil, nil
		}
		err := fmt.Errorf("%s %s is already released with other inputs: %w", req.Image, req.Version, store.ErrExists)
		status(forge.StateFailure, statusText(Decision{Version: req.Version, Err: err}))
		return nil, err
	}
	status(forge.StateRunning, fmt.Sprintf("release build of %s running", req.Version))
	res, err := b.Build(ctx, cat, runner.Request{Image: req.Image, Version: req.Version, BuildID: buildID, OutDir: outDir,
		Bases:  store.BaseGuard{Store: r.Store}, // this repository's releases and revocations
		GitSHA: req.MergeCommit, MR: req.MR, TriggeredBy: req.TriggeredBy, Repository: repository(req.Repo)}, onEvent)
	if err == nil && res.Status != runner.StatusSucceeded {
		err = fmt.Errorf("release build of %s %s %s at step %q: %s", req.Image, req.Version, res.Status, res.LastStep, res.Error)
	}
	var published []manifest.Location
	if err == nil {
		published, err = r.publishVSphere(ctx, cat.Images[req.Image], res)
	}
	if err == nil {
		err = publishRelease(ctx, r.Store, res, req, secrets, published, r.Attester)
	}
	if err != nil {
		status(forge.StateFailure, statusText(Decision{Version: req.Version, Err: err}))
		return res, err
	}
	status(forge.StateSuccess, fmt.Sprintf("%s released", req.Version))
	return res, nil
}

// PublishRelease stores a finished release build under
// <image>/releases/<version>/ (immutable: an existing release is
// store.ErrExists): the artifacts with their .sha256 files, build.log, and
// the manifest last, with the merge commit, the MR and the base release.
func PublishRelease(ctx context.Context, st store.Store, res *runner.Result, req BuildRequest, secrets []string) error {
	return publishRelease(ctx, st, res, req, secrets, nil, nil)
}

// publishRelease is PublishRelease recording published, the copies made
// outside the bucket (a vSphere content library item), in the manifest.
func publishRelease(ctx context.Context, st store.Store, res *runner.Result, req BuildRequest, secrets []string, published []manifest.Location, attester store.Attester) error {
	m := &manifest.Manifest{Image: res.Image, Version: res.Version, BuildID: res.BuildID, Status: string(res.Status),
		InputsDigest: res.Digest, PackerVersion: res.PackerVersion, Builder: res.Builder, Started: res.Started, Finished: res.Finished,
		TriggeredBy: req.TriggeredBy}
	var files []store.LocalFile
	for _, f := range res.Files {
		if f.Format == "manifest" { // the runner's own: keep what it knows
			if rm, err := manifest.Read(f.Path); err == nil {
				m = rm
			}
		}
	}
	m.Files = nil
	m.Release, m.GitSHA, m.MR = true, req.MergeCommit, req.MR
	if req.Base != nil {
		m.BaseImage = req.Base
	}
	m.Published = append(m.Published, published...)
	for _, f := range res.Files {
		switch f.Format {
		case "manifest", "sha256":
			continue
		case "log":
			files = append(files, store.LocalFile{Name: store.LogName, Path: f.Path, SHA256: f.SHA256, ContentType: "text/plain; charset=utf-8"})
			continue
		}
		files = append(files, store.LocalFile{Name: f.Name, Path: f.Path, SHA256: f.SHA256, WithSHA256File: true})
		m.Files = append(m.Files, manifest.File{Name: f.Name, Format: f.Format, Size: f.Size, SHA256: f.SHA256})
	}
	data, err := manifest.Marshal(m, secrets)
	if err != nil {
		return fmt.Errorf("release manifest of %s: %w", res.BuildID, err)
	}
	if data, err = WithFields(data, map[string]any{"merge_commit": req.MergeCommit}); err != nil {
		return err
	}
	ref := store.Release(req.Image, req.Version)
	if _, err := store.Publish(ctx, st, ref.Prefix(), files, data, store.PublishOptions{Attester: attester}); err != nil {
		return fmt.Errorf("publish %s: %w", ref, err)
	}
	return nil
}

// repository is the address a release's manifest records for reuse by
// digest: the repository's web URL, else its clone URL (as MR builds).
func repository(r forge.Repo) string {
	if r.WebURL != "" {
		return r.WebURL
	}
	return r.CloneURL
}
