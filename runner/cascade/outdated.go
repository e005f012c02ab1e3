// Package cascade owns base-image cascades: it finds the images whose
// latest release was built on an older release of their base than the
// base's latest (outdated children, from the manifests in the bucket), and
// produces the change that moves them on: a patch bump of each child's
// env.yaml version, as one merge request per base release, with the
// base's package diff in the description when both inventories exist. A
// scheduled refresh (runner/schedule) uses the same bump. The change is
// plain data; the bot opens it on the forge (forge.Forge.OpenChange).
package cascade

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/Masterminds/semver/v3"

	"github.com/imagebot/imagebot/runner/store"
)

// Outdated is an image whose latest release was built on an older
// release of its base than the base's latest.
type Outdated struct {
	Image      string `json:"image"`
	Version    string `json:"version"`     // the image's latest release
	Base       string `json:"base"`        // its base image
	BuiltOn    string `json:"built_on"`    // the base release that release was built on
	BaseLatest string `json:"base_latest"` // the base's latest release
}

func (o Outdated) String() string {
	return fmt.Sprintf("%s@%s is built on %s@%s; %s@%s is newer", o.Image, o.Version, o.Base, o.BuiltOn, o.Base, o.BaseLatest)
}

// Check is the outdated state of every released image, read from the
// bucket: each image's latest (non-revoked) release and the base release
// its manifest names.
func Check(ctx context.Context, st store.Store) ([]Outdated, error) {
	images, err := store.Images(ctx, st)
	if err != nil {
		return nil, err
	}
	latest := map[string]string{} // image -> its latest release version, "" when none
	get := func(image string) (string, error) {
		if v, ok := latest[image]; ok {
			return v, nil
		}
		ref, err := store.Latest(ctx, st, image)
		if errors.Is(err, store.ErrNotFound) {
			latest[image] = ""
			return "", nil
		}
		if err != nil {
			return "", err
		}
		latest[image] = ref.Version
		return ref.Version, nil
	}
	var out []Outdated
	for _, image := range images {
		v, err := get(image)
		if err != nil || v == "" {
			if err != nil {
				return nil, err
			}
			continue
		}
		base, on, err := builtOn(ctx, st, store.Release(image, v))
		if err != nil {
			return nil, err
		}
		if base == "" {
			continue
		}
		bv, err := get(base)
		if err != nil {
			return nil, err
		}
		if bv != "" && older(on, bv) {
			out = append(out, Outdated{Image: image, Version: v, Base: base, BuiltOn: on, BaseLatest: bv})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Image < out[j].Image })
	return out, nil
}

// Children returns the outdated images built on base.
func Children(all []Outdated, base string) []Outdated {
	var out []Outdated
	for _, o := range all {
		if o.Base == base {
			out = append(out, o)
		}
	}
	return out
}

// ByImage indexes outdated images by name (for the page and the API).
func ByImage(all []Outdated) map[string]Outdated {
	out := make(map[string]Outdated, len(all))
	for _, o := range all {
		out[o.Image] = o
	}
	return out
}

// older reports whether version a precedes b ("" precedes everything).
func older(a, b string) bool {
	if a == "" {
		return true
	}
	va, ea := semver.NewVersion(a)
	vb, eb := semver.NewVersion(b)
	if ea != nil || eb != nil {
		return a != b
	}
	return va.LessThan(vb)
}

// builtOn reads the base release a release's manifest names ("", "" when none).
func builtOn(ctx context.Context, st store.Store, ref store.Ref) (string, string, error) {
	b, err := store.ReadManifest(ctx, st, ref)
	if err != nil {
		return "", "", fmt.Errorf("read the manifest of %s: %w", ref, err)
	}
	var m struct {
		BaseImage *struct {
			Image   string `json:"image"`
			Version string `json:"version"`
		} `json:"base_image"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return "", "", fmt.Errorf("decode the manifest of %s: %w", ref, err)
	}
	if m.BaseImage == nil {
		return "", "", nil
	}
	return m.BaseImage.Image, m.BaseImage.Version, nil
}
