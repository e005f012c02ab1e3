package release

import (
	"context"
	"fmt"

	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/vsphere"
)

// publishVSphere copies a release build's OVAs to the vSphere content
// library of img (env.yaml's vsphere.content_library, else the deployment's
// for images built on vSphere) and returns where, for the release manifest.
// Nothing happens without a vCenter configured or a library named.
func (r *Releaser) publishVSphere(ctx context.Context, img *catalog.Image, res *runner.Result) ([]manifest.Location, error) {
	if r.VSphere == nil || img == nil {
		return nil, nil
	}
	named := img.Env.VSphere != nil && img.Env.VSphere.ContentLibrary != ""
	if !named && !vsphere.UsesVSphere(img, nil) {
		return nil, nil
	}
	var out []manifest.Location
	for _, f := range res.Files {
		if f.Format != "ova" {
			continue
		}
		loc, err := vsphere.PublishRelease(ctx, *r.VSphere, img, res.Version, f.Path)
		if err != nil {
			return nil, fmt.Errorf("publish %s to the vSphere content library: %w", f.Name, err)
		}
		if loc != nil {
			r.Log.Info().Str("image", img.Name).Str("where", loc.Where).Msg("release published to the vSphere content library")
			out = append(out, *loc)
		}
	}
	return out, nil
}
