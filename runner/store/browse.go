package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Build is one published build: a prefix whose manifest exists.
type Build struct {
	Ref       Ref
	Published time.Time // when its manifest was written
}

// Images returns the names of the images that have anything stored.
func Images(ctx context.Context, st Store) ([]string, error) {
	dirs, err := st.Dirs(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []string
	for _, d := range dirs {
		if imageRE.MatchString(d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// Builds returns an image's published builds: releases first, newest version
// first by semantic version, then MR builds, newest first. Prefixes without a
// manifest (in progress, failed, killed) are not builds and are left out.
func Builds(ctx context.Context, st Store, image string) ([]Build, error) {
	if !imageRE.MatchString(image) {
		return nil, fmt.Errorf("list builds: image %q is not a valid name", image)
	}
	objs, err := st.List(ctx, ImagePrefix(image))
	if err != nil {
		return nil, fmt.Errorf("list builds of %s: %w", image, err)
	}
	var rel, mr []Build
	for _, o := range objs {
		ref, file, err := ParseKey(o.Key)
		if err != nil || file != ManifestName {
			continue
		}
		b := Build{Ref: ref, Published: o.Modified}
		if ref.Kind == KindRelease {
			rel = append(rel, b)
		} else {
			mr = append(mr, b)
		}
	}
	sort.SliceStable(rel, func(i, j int) bool { return versionLess(rel[j].Ref.Version, rel[i].Ref.Version) })
	sort.SliceStable(mr, func(i, j int) bool { return mr[i].Published.After(mr[j].Published) })
	return append(rel, mr...), nil
}

// versionLess orders semantic versions by precedence; versions that do not
// parse sort before all that do, among themselves by string.
func versionLess(a, b string) bool {
	va, ea := semver.NewVersion(a)
	vb, eb := semver.NewVersion(b)
	switch {
	case ea != nil && eb != nil:
		return a < b
	case ea != nil:
		return true
	case eb != nil:
		return false
	}
	if va.Equal(vb) {
		return a < b
	}
	return va.LessThan(vb)
}

// Latest returns the newest release of an image by semantic version,
// preferring stable versions to pre-releases and never a revoked release.
// ErrNotFound when there is none.
func Latest(ctx context.Context, st Store, image string) (Ref, error) {
	builds, err := Builds(ctx, st, image)
	if err != nil {
		return Ref{}, err
	}
	revoked, err := revokedVersions(ctx, st, image)
	if err != nil {
		return Ref{}, err
	}
	var pre *Ref
	for _, b := range builds {
		if b.Ref.Kind != KindRelease || revoked[b.Ref.Version] {
			continue
		}
		v, err := semver.NewVersion(b.Ref.Version)
		if err != nil {
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
	return Ref{}, fmt.Errorf("latest release of %s: %w", image, ErrNotFound)
}

// Resolve turns what a person types after "image@" into a Ref: "latest", a
// channel ("stable": the release it points at), a release version, or
// "mr<iid>-<sha>" as Ref.String prints it.
func Resolve(ctx context.Context, st Store, image, version string) (Ref, error) {
	if version == "" || version == "latest" {
		return Latest(ctx, st, image)
	}
	if ValidChannel(version) == nil && imageRE.MatchString(image) {
		c, err := ReadChannel(ctx, st, image, version)
		switch {
		case err == nil && c.Version == "":
			return Ref{}, fmt.Errorf("resolve %s@%s: the channel points at no release (all it held are revoked): %w", image, version, ErrNotFound)
		case err == nil:
			return Release(image, c.Version), nil
		case !errors.Is(err, ErrNotFound):
			return Ref{}, fmt.Errorf("resolve %s@%s: %w", image, version, err)
		}
		// No such channel: a release may still have that name.
	}
	if rest, ok := strings.CutPrefix(version, "mr"); ok {
		if iid, sha, ok := strings.Cut(rest, "-"); ok {
			ref, _, err := ParseKey(image + "/" + mrDir + "/" + iid + "/" + sha + "/")
			if err == nil {
				return ref, nil
			}
		}
	}
	ref := Release(image, version)
	if err := ref.Validate(); err != nil {
		return Ref{}, fmt.Errorf("resolve %s@%s: %w", image, version, err)
	}
	return ref, nil
}

// Files returns the objects of a published build, sorted by key, the
// manifest included. ErrNotFound when the build has no manifest.
func Files(ctx context.Context, st Store, ref Ref) ([]Object, error) {
	if err := ref.Validate(); err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	objs, err := st.List(ctx, ref.Prefix())
	if err != nil {
		return nil, fmt.Errorf("list files of %s: %w", ref, err)
	}
	var out []Object
	found := false
	for _, o := range objs {
		_, file, err := ParseKey(o.Key)
		if err != nil || file == "" {
			continue
		}
		found = found || file == ManifestName
		out = append(out, o)
	}
	if !found {
		return nil, fmt.Errorf("build %s: %w", ref, ErrNotFound)
	}
	return out, nil
}

// ReadManifest returns a build's manifest (at most 16 MiB).
func ReadManifest(ctx context.Context, st Store, ref Ref) ([]byte, error) {
	rc, _, err := st.Get(ctx, ref.Key(ManifestName))
	if err != nil {
		return nil, fmt.Errorf("read manifest of %s: %w", ref, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("read manifest of %s: %w", ref, err)
	}
	return b, nil
}

// Sweep deletes the MR builds of every image whose manifest (or, for a build
// that never got one, whose newest object) is older than olderThan. The
// manifest goes first so a build being swept is never seen incomplete. It
// returns the prefixes removed. S3 buckets normally expire MR builds with a
// lifecycle rule instead (see s3.Store.EnsureRetention).
func Sweep(ctx context.Context, st Store, olderThan time.Duration, now time.Time) ([]string, error) {
	repos, err := RepoPrefixes(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	var removed []string
	for _, prefix := range append([]string{""}, repos...) {
		got, err := sweepRepo(ctx, RepoStore(st, prefix), olderThan, now)
		for _, p := range got {
			removed = append(removed, prefix+p)
		}
		if err != nil {
			return removed, err
		}
	}
	sort.Strings(removed)
	return removed, nil
}

// sweepRepo is Sweep for the images of one repository.
func sweepRepo(ctx context.Context, st Store, olderThan time.Duration, now time.Time) ([]string, error) {
	images, err := Images(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	cutoff := now.Add(-olderThan)
	var removed []string
	for _, image := range images {
		objs, err := st.List(ctx, MRPrefix(image))
		if err != nil {
			return removed, fmt.Errorf("sweep %s: %w", image, err)
		}
		for prefix, keys := range groupBuilds(objs) {
			if keys.age.After(cutoff) {
				continue
			}
			if err := deleteBuild(ctx, st, prefix, keys.keys); err != nil {
				return removed, fmt.Errorf("sweep: %w", err)
			}
			removed = append(removed, prefix)
		}
	}
	return removed, nil
}

type buildKeys struct {
	keys []string
	age  time.Time // the manifest's time, or the newest object's without one
	has  bool      // has a manifest
}

func groupBuilds(objs []Object) map[string]*buildKeys {
	out := map[string]*buildKeys{}
	for _, o := range objs {
		ref, file, err := ParseKey(o.Key)
		if err != nil || file == "" {
			continue
		}
		b := out[ref.Prefix()]
		if b == nil {
			b = &buildKeys{}
			out[ref.Prefix()] = b
		}
		b.keys = append(b.keys, o.Key)
		switch {
		case file == ManifestName:
			b.age, b.has = o.Modified, true
		case !b.has && o.Modified.After(b.age):
			b.age = o.Modified
		}
	}
	return out
}

// deleteBuild removes a build's objects, the manifest first.
func deleteBuild(ctx context.Context, st Store, prefix string, keys []string) error {
	sort.SliceStable(keys, func(i, j int) bool { return strings.HasSuffix(keys[i], "/"+ManifestName) })
	for _, k := range keys {
		if err := st.Delete(ctx, k); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("delete %s: %w", prefix, err)
		}
	}
	return nil
}

// DeleteBuild removes a published or partial build, manifest first.
func DeleteBuild(ctx context.Context, st Store, ref Ref) error {
	if err := ref.Validate(); err != nil {
		return fmt.Errorf("delete build: %w", err)
	}
	objs, err := st.List(ctx, ref.Prefix())
	if err != nil {
		return fmt.Errorf("delete %s: %w", ref, err)
	}
	keys := make([]string, 0, len(objs))
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return deleteBuild(ctx, st, ref.Prefix(), keys)
}
