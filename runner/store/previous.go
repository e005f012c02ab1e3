package store

import (
	"context"
	"fmt"

	"github.com/Masterminds/semver/v3"
)

// Previous returns the release a new release of version is compared with:
// the newest release of image whose semantic version is lower, never a
// revoked one, stable versions preferred to pre-releases as Latest does.
// Unlike Latest it does not return version itself once that is published,
// which is what a release build's report needs. ErrNotFound when there is
// none.
func Previous(ctx context.Context, st Store, image, version string) (Ref, error) {
	cur, err := semver.NewVersion(version)
	if err != nil {
		return Ref{}, fmt.Errorf("release before %s of %s: %w", version, image, err)
	}
	builds, err := Builds(ctx, st, image)
	if err != nil {
		return Ref{}, err
	}
	revoked, err := revokedVersions(ctx, st, image)
	if err != nil {
		return Ref{}, err
	}
	var pre *Ref
	for _, b := range builds { // releases first, newest first
		if b.Ref.Kind != KindRelease || revoked[b.Ref.Version] {
			continue
		}
		v, err := semver.NewVersion(b.Ref.Version)
		if err != nil || !v.LessThan(cur) {
			continue
		}
		if v.Prerelease() == "" {
			return b.Ref, nil
		}
		if pre == nil {
			r := b.Ref
			pre = &r
		}
	}
	if pre != nil {
		return *pre, nil
	}
	return Ref{}, fmt.Errorf("release before %s of %s: %w", version, image, ErrNotFound)
}
