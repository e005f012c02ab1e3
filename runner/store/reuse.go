package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/manifest"
)

// Reuse by digest: a build whose inputs digest was already built and
// published by the same repository is not built again; the published
// artifacts are copied server-side into the new build's place and a new
// manifest, naming the reused build (reused_from), is written last.

// ReuseQuery says which earlier build a new build could reuse.
type ReuseQuery struct {
	Image        string
	InputsDigest string // "sha256:<hex>", as the catalog computes it
	// Repository is the template repository's address. Only builds whose
	// manifest records this same repository qualify: the digest covers the
	// files, not where they came from, and a fork's build is not ours.
	Repository string
	// Exclude is the new build's own place, never its own source.
	Exclude Ref
}

// Candidate is a published build that a new build may reuse.
type Candidate struct {
	Ref       Ref
	Manifest  *manifest.Manifest
	Published time.Time
}

// FindReusable returns the build to reuse for q: a published build of
// q.Image from q.Repository with q.InputsDigest that succeeded, is not a
// revoked release and is not built on a revoked base. Releases come first
// (newest version), then MR builds (newest first). When a revoked release
// has the digest, the inputs themselves are withdrawn and the result is a
// *RevokedError. ErrNotFound when nothing qualifies.
func FindReusable(ctx context.Context, st Store, q ReuseQuery) (*Candidate, error) {
	if q.Image == "" || q.InputsDigest == "" || q.Repository == "" {
		return nil, fmt.Errorf("find a build to reuse: image, inputs digest and repository are required")
	}
	builds, err := Builds(ctx, st, q.Image)
	if err != nil {
		return nil, fmt.Errorf("find a build of %s to reuse: %w", q.Image, err)
	}
	revoked, err := Revocations(ctx, st, q.Image)
	if err != nil {
		return nil, fmt.Errorf("find a build of %s to reuse: %w", q.Image, err)
	}
	var found *Candidate
	for _, b := range builds {
		if b.Ref == q.Exclude {
			continue
		}
		m, err := readManifest(ctx, st, b.Ref)
		if err != nil {
			return nil, fmt.Errorf("find a build of %s to reuse: %w", q.Image, err)
		}
		if m.InputsDigest != q.InputsDigest {
			continue
		}
		if r, ok := revoked[b.Ref.Version]; ok && b.Ref.Kind == KindRelease {
			return nil, fmt.Errorf("inputs %s of %s: %w", q.InputsDigest, q.Image, &RevokedError{Revocation: r})
		}
		if found != nil || !reusable(m, q.Repository) {
			continue
		}
		if m.BaseImage != nil && m.BaseImage.Version != "" {
			err := CheckBase(ctx, st, m.BaseImage.Image, m.BaseImage.Version)
			if errors.Is(err, ErrRevoked) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("find a build of %s to reuse: %w", q.Image, err)
			}
		}
		found = &Candidate{Ref: b.Ref, Manifest: m, Published: b.Published}
		// Keep looking only for a revoked release with the same digest,
		// which withdraws every build of it; revocations are few.
		if len(revoked) == 0 {
			break
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no published build of %s at %s: %w", q.Image, q.InputsDigest, ErrNotFound)
	}
	return found, nil
}

// reusable: a succeeded build of this repository with its files listed.
func reusable(m *manifest.Manifest, repo string) bool {
	ok := m.Status == "" || m.Status == "succeeded"
	return ok && m.Repository == repo && len(m.Files) > 0
}

func readManifest(ctx context.Context, st Store, ref Ref) (*manifest.Manifest, error) {
	data, err := ReadManifest(ctx, st, ref)
	if err != nil {
		return nil, err
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", ref, err)
	}
	return m, nil
}

// ReuseRequest is one reuse: the found build, where the new build goes and
// what the new manifest says about it.
type ReuseRequest struct {
	From        *Candidate
	To          Ref
	BuildID     string
	GitSHA      string
	MR          int // 0 for a release
	TriggeredBy string
	Started     time.Time
	Secrets     []string // refused in the new manifest (manifest.Marshal)
	Retry       Retry
	Log         *zerolog.Logger
	Attester    Attester // signs the new build's provenance; nil: unsigned
}

// Reused is what Reuse stored, with the new manifest.
type Reused struct {
	Published
	Manifest *manifest.Manifest
}

// Reuse copies req.From's files server-side to req.To, each checked against
// the sha256 the source manifest records, then writes the new manifest
// (naming the source in reused_from) last, so the new build is complete or
// invisible. The rules of Publish apply: a release is immutable, an MR
// build's older manifest is hidden first, a failure removes the copies.
func Reuse(ctx context.Context, st Store, req ReuseRequest) (*Reused, error) {
	src := req.From
	if src == nil || src.Manifest == nil {
		return nil, errors.New("reuse: no source build")
	}
	if err := req.To.Validate(); err != nil {
		return nil, fmt.Errorf("reuse %s: %w", src.Ref, err)
	}
	if req.To == src.Ref {
		return nil, fmt.Errorf("reuse %s: source and destination are the same build", src.Ref)
	}
	if req.To.Image != src.Manifest.Image {
		return nil, fmt.Errorf("reuse %s for %s: another image", src.Ref, req.To)
	}
	if req.To.Kind == KindRelease && req.To.Version != src.Manifest.Version {
		return nil, fmt.Errorf("reuse %s as %s: its files are of version %s", src.Ref, req.To, src.Manifest.Version)
	}
	m := newManifest(src, req)
	want := map[string]string{}
	for _, f := range src.Manifest.Files {
		want[f.Name] = f.SHA256
	}
	m.Finished = time.Now().UTC()
	data, err := manifest.Marshal(m, req.Secrets)
	if err != nil {
		return nil, fmt.Errorf("reuse %s as %s: %w", src.Ref, req.To, err)
	}
	pub, err := Promote(ctx, st, src.Ref, req.To, data, PromoteOptions{Retry: req.Retry, Log: req.Log, Attester: req.Attester, Want: want})
	if err != nil {
		return nil, fmt.Errorf("reuse %s as %s: %w", src.Ref, req.To, err)
	}
	return &Reused{Published: pub, Manifest: m}, nil
}

// newManifest is the source's manifest (what was built, how, what came
// out) with this build's identity, and the source named.
func newManifest(src *Candidate, req ReuseRequest) *manifest.Manifest {
	c := *src.Manifest
	m := &c
	m.BuildID, m.GitSHA, m.MR, m.TriggeredBy = req.BuildID, req.GitSHA, req.MR, req.TriggeredBy
	m.Release = req.To.Kind == KindRelease
	m.Started = req.Started.UTC()
	m.SourceBuild = nil
	m.Published = nil // copies outside the bucket belong to the source
	m.ReusedFrom = &manifest.SourceBuild{BuildID: src.Manifest.BuildID, MR: src.Manifest.MR, GitSHA: src.Manifest.GitSHA, Path: src.Ref.Prefix()}
	return m
}
