package store

// Versions: what the store holds, the way people look for it: images,
// their versions (releases first, then MR builds), a version's files and
// decoded manifest (manifestread.go), and downloads that verify their
// sha256 as they stream (downloadfile.go). The web pages, `imagebot
// artifacts` and the release flow read the bucket through these (they were
// bot/browse).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Latest is the version name that means "the newest release".
const LatestName = "latest"

// ErrNoVersion means the image has no such version (or no release at all for latest).
var ErrNoVersion = errors.New("no such version")

// Version is one published build of an image: a release or an MR build.
// Only builds whose manifest is written (publishing's commit point) are versions.
type Version struct {
	Ref
	Prefix    string // store key prefix, ending in "/"
	Files     []Object
	Manifest  *Manifest
	Published time.Time // when the manifest was written
}

// Name is what `imagebot artifacts` and the web page call the version:
// "1.2.0" for a release, "mr12-1a2b3c4d" for an MR build.
func (v Version) Name() string {
	_, name, _ := strings.Cut(v.Ref.String(), "@")
	return name
}

// ImageVersion is the image's version: a release's name, or what an MR
// build's manifest says it built.
func (v Version) ImageVersion() string {
	if v.Kind == KindMR && v.Manifest != nil {
		return v.Manifest.Version
	}
	return v.Version
}

// File returns the stored object of a file by base name.
func (v Version) File(name string) (Object, bool) {
	for _, o := range v.Files {
		if o.Key == v.Prefix+name {
			return o, true
		}
	}
	return Object{}, false
}

// Versions lists an image's published versions with their files and
// manifests: releases first, newest semantic version first, then MR
// builds, newest first.
func Versions(ctx context.Context, st Store, image string) ([]Version, error) {
	builds, err := Builds(ctx, st, image)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrNoVersion)
	}
	if len(builds) == 0 {
		return nil, nil
	}
	objs, err := st.List(ctx, ImagePrefix(image))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", image, err)
	}
	files := map[string][]Object{}
	for _, o := range objs {
		ref, name, err := ParseKey(o.Key)
		if err == nil && name != "" {
			files[ref.Prefix()] = append(files[ref.Prefix()], o)
		}
	}
	out := make([]Version, 0, len(builds))
	for _, b := range builds {
		v := Version{Ref: b.Ref, Prefix: b.Ref.Prefix(), Files: files[b.Ref.Prefix()], Published: b.Published}
		if v.Manifest, err = DecodeManifest(ctx, st, b.Ref); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Resolve finds one version of an image by its Name, or "latest" (the
// newest stable release).
func ResolveVersion(ctx context.Context, st Store, image, name string) (Version, error) {
	ref, err := Resolve(ctx, st, image, name)
	if errors.Is(err, ErrNotFound) {
		return Version{}, fmt.Errorf("%s has no release yet: %w", image, ErrNoVersion)
	}
	if err != nil {
		return Version{}, fmt.Errorf("%s@%s: %w", image, name, ErrNoVersion)
	}
	files, err := Files(ctx, st, ref)
	if errors.Is(err, ErrNotFound) {
		return Version{}, fmt.Errorf("%s@%s: %w", image, name, ErrNoVersion)
	}
	if err != nil {
		return Version{}, err
	}
	v := Version{Ref: ref, Prefix: ref.Prefix(), Files: files}
	if o, ok := v.File(ManifestName); ok {
		v.Published = o.Modified
	}
	if v.Manifest, err = DecodeManifest(ctx, st, ref); err != nil {
		return Version{}, err
	}
	return v, nil
}

// ParseRef splits "image@version"; a bare "image" means image@latest.
func ParseRef(s string) (image, version string, err error) {
	image, version, _ = strings.Cut(s, "@")
	if version == "" {
		version = LatestName
	}
	if image == "" || strings.ContainsAny(image, "/ ") {
		return "", "", fmt.Errorf("%q: want image@version, e.g. rocky9@1.2.0, rocky9@latest or rocky9@mr12-1a2b3c4d", s)
	}
	return image, version, nil
}
