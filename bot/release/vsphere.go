package release

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/vsphere"
)

// publishVSphere copies a release build's OVAs to the vSphere content
// library of img (env.yaml's vsphere.content_library, else the deployment's
// for images built on vSphere) and returns where, for the release manifest.
// Nothing happens without a vCenter configured or a library named.
func (r *Releaser) publishVSphere(ctx context.Context, img *catalog.Image, res *runner.Result) ([]manifest.Location, error) {
	if !r.toLibrary(img) {
		return nil, nil
	}
	var out []manifest.Location
	for _, f := range res.Files {
		if f.Format != "ova" {
			continue
		}
		loc, err := r.publishOVA(ctx, img, res.Version, f.Path)
		if err != nil {
			return nil, err
		}
		out = append(out, loc...)
	}
	return out, nil
}

// publishPromotedVSphere is publishVSphere for a promotion: the MR build's
// OVAs are in the store, so each is fetched into a temporary file first.
func (r *Releaser) publishPromotedVSphere(ctx context.Context, img *catalog.Image, from store.Ref, version string, files []manifest.File) ([]manifest.Location, error) {
	if !r.toLibrary(img) {
		return nil, nil
	}
	var out []manifest.Location
	for _, f := range files {
		if f.Format != "ova" {
			continue
		}
		dir, err := os.MkdirTemp("", "imagebot-promote-")
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, filepath.Base(f.Name))
		err = fetch(ctx, r.Store, from.Key(f.Name), path)
		var loc []manifest.Location
		if err == nil {
			loc, err = r.publishOVA(ctx, img, version, path)
		}
		os.RemoveAll(dir)
		if err != nil {
			return nil, err
		}
		out = append(out, loc...)
	}
	return out, nil
}

// toLibrary says whether img's releases go to a content library.
func (r *Releaser) toLibrary(img *catalog.Image) bool {
	if r.VSphere == nil || img == nil {
		return false
	}
	named := img.Env.VSphere != nil && img.Env.VSphere.ContentLibrary != ""
	return named || vsphere.UsesVSphere(img, nil)
}

func (r *Releaser) publishOVA(ctx context.Context, img *catalog.Image, version, path string) ([]manifest.Location, error) {
	loc, err := vsphere.PublishRelease(ctx, *r.VSphere, img, version, path)
	if err != nil {
		return nil, fmt.Errorf("publish %s to the vSphere content library: %w", filepath.Base(path), err)
	}
	if loc == nil {
		return nil, nil
	}
	r.Log.Info().Str("image", img.Name).Str("where", loc.Where).Msg("release published to the vSphere content library")
	return []manifest.Location{*loc}, nil
}

func fetch(ctx context.Context, st store.Store, key, path string) error {
	rc, _, err := st.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", key, err)
	}
	defer rc.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return fmt.Errorf("fetch %s: %w", key, err)
	}
	return f.Close()
}
