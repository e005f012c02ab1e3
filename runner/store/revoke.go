package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

const revocationsDir = "revocations"

// Revocation withdraws a release: it stays downloadable (for forensics) but
// is never latest, never a channel's target and never a base of new builds.
// Stored as JSON at RevocationKey; documented in docs/provenance.md.
type Revocation struct {
	Image   string    `json:"image"`
	Version string    `json:"version"`
	By      string    `json:"revoked_by"`
	At      time.Time `json:"revoked_at"`
	Reason  string    `json:"reason"`
	// Cause names the revoked base ("base9@1.0.0") when this release was
	// revoked because it was built on it (--descendants).
	Cause string `json:"cause,omitempty"`
}

// Ref returns the revoked release.
func (r Revocation) Ref() Ref { return Release(r.Image, r.Version) }

func (r Revocation) String() string {
	s := fmt.Sprintf("%s@%s was revoked by %s at %s: %s", r.Image, r.Version, r.By, r.At.UTC().Format(time.RFC3339), r.Reason)
	if r.Cause != "" {
		s += " (built on revoked " + r.Cause + ")"
	}
	return s
}

// RevokedError is returned when a revoked release is asked for where
// revoked releases are refused.
type RevokedError struct{ Revocation Revocation }

func (e *RevokedError) Error() string { return e.Revocation.String() }

// ErrRevoked matches any *RevokedError with errors.Is.
var ErrRevoked = errors.New("release is revoked")

// Is makes errors.Is(err, ErrRevoked) true for a *RevokedError.
func (e *RevokedError) Is(target error) bool { return target == ErrRevoked }

// RevocationsPrefix is where an image's revocations live.
func RevocationsPrefix(image string) string { return image + "/" + revocationsDir + "/" }

// RevocationKey is the key of a release's revocation.
func RevocationKey(image, version string) string {
	return RevocationsPrefix(image) + version + ".json"
}

// RevokeRequest says what to revoke.
type RevokeRequest struct {
	Release Ref // a published release
	By      string
	Reason  string
	// Descendants also revokes every release built on it, transitively.
	Descendants bool
	Now         time.Time
}

// RevokeResult is what Revoke changed.
type RevokeResult struct {
	Revoked  []Revocation // newly revoked, the asked-for release first
	Already  []Revocation // were revoked before
	Channels []Channel    // channels moved back, as they are now
}

// Revoke writes the revocation of a release (and, when asked, of its
// descendants), then moves every channel that pointed at a revoked release
// back to the newest non-revoked release it held before.
func Revoke(ctx context.Context, st Store, req RevokeRequest) (RevokeResult, error) {
	var res RevokeResult
	ref := req.Release
	if err := ref.Validate(); err != nil || ref.Kind != KindRelease {
		return res, fmt.Errorf("revoke %s: want a release (image@version): %v", ref, err)
	}
	if strings.TrimSpace(req.Reason) == "" || strings.TrimSpace(req.By) == "" {
		return res, fmt.Errorf("revoke %s: a reason and who revokes are required", ref)
	}
	if _, err := st.Stat(ctx, ref.Key(ManifestName)); err != nil {
		return res, fmt.Errorf("revoke %s: no such release: %w", ref, err)
	}
	todo := []Revocation{{Image: ref.Image, Version: ref.Version, By: req.By, At: req.Now.UTC(), Reason: req.Reason}}
	if req.Descendants {
		kids, err := descendants(ctx, st, ref)
		if err != nil {
			return res, fmt.Errorf("revoke %s: %w", ref, err)
		}
		for _, k := range kids {
			todo = append(todo, Revocation{Image: k.child.Image, Version: k.child.Version, By: req.By, At: req.Now.UTC(),
				Reason: req.Reason, Cause: k.parent.String()})
		}
	}
	images := map[string]bool{}
	for _, r := range todo {
		old, err := writeRevocation(ctx, st, r)
		if errors.Is(err, ErrExists) {
			res.Already = append(res.Already, old)
			continue
		}
		if err != nil {
			return res, err
		}
		res.Revoked = append(res.Revoked, r)
		images[r.Image] = true
	}
	for image := range images {
		moved, err := fallBackChannels(ctx, st, image, req.By, req.Now)
		res.Channels = append(res.Channels, moved...)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// writeRevocation stores r unless the release is already revoked (then it
// returns the existing revocation and ErrExists).
func writeRevocation(ctx context.Context, st Store, r Revocation) (Revocation, error) {
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return r, err
	}
	key := RevocationKey(r.Image, r.Version)
	_, err = putJSON(ctx, st, key, append(body, '\n'), true)
	if errors.Is(err, ErrExists) {
		old, rerr := ReadRevocation(ctx, st, r.Image, r.Version)
		if rerr != nil {
			return r, rerr
		}
		return *old, ErrExists
	}
	if err != nil {
		return r, fmt.Errorf("revoke %s@%s: write %s: %w", r.Image, r.Version, key, err)
	}
	return r, nil
}

// ReadRevocation returns a release's revocation; nil, nil when it is not revoked.
func ReadRevocation(ctx context.Context, st Store, image, version string) (*Revocation, error) {
	var r Revocation
	err := getJSON(ctx, st, RevocationKey(image, version), &r)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the revocation of %s@%s: %w", image, version, err)
	}
	return &r, nil
}

// Revocations returns an image's revocations by version.
func Revocations(ctx context.Context, st Store, image string) (map[string]Revocation, error) {
	versions, err := revokedVersions(ctx, st, image)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Revocation, len(versions))
	for v := range versions {
		r, err := ReadRevocation(ctx, st, image, v)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out[v] = *r
		}
	}
	return out, nil
}

// revokedVersions lists the revoked versions of an image from the keys alone.
func revokedVersions(ctx context.Context, st Store, image string) (map[string]bool, error) {
	objs, err := st.List(ctx, RevocationsPrefix(image))
	if err != nil {
		return nil, fmt.Errorf("list the revocations of %s: %w", image, err)
	}
	out := map[string]bool{}
	for _, o := range objs {
		v, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, RevocationsPrefix(image)), ".json")
		if ok && versionRE.MatchString(v) {
			out[v] = true
		}
	}
	return out, nil
}

// CheckBase returns a *RevokedError when the release image@version is
// revoked: new builds must not use it as their base.
func CheckBase(ctx context.Context, st Store, image, version string) error {
	r, err := ReadRevocation(ctx, st, image, version)
	if err != nil {
		return fmt.Errorf("check base %s@%s: %w", image, version, err)
	}
	if r != nil {
		return &RevokedError{Revocation: *r}
	}
	return nil
}

// BaseGuard is the runner's view of revocations (runner.Config.Bases).
type BaseGuard struct{ Store Store }

// CheckBase refuses a revoked base release (see CheckBase).
func (g BaseGuard) CheckBase(ctx context.Context, image, version string) error {
	return CheckBase(ctx, g.Store, image, version)
}

type descendant struct{ parent, child Ref }

// descendants returns every release built on ref, transitively, parents
// before children.
func descendants(ctx context.Context, st Store, ref Ref) ([]descendant, error) {
	images, err := Images(ctx, st)
	if err != nil {
		return nil, err
	}
	children := map[Ref][]Ref{} // base release -> releases built on it
	for _, image := range images {
		builds, err := Builds(ctx, st, image)
		if err != nil {
			return nil, err
		}
		for _, b := range builds {
			if b.Ref.Kind != KindRelease {
				continue
			}
			base, err := baseOf(ctx, st, b.Ref)
			if err != nil {
				return nil, err
			}
			if base != nil {
				children[*base] = append(children[*base], b.Ref)
			}
		}
	}
	var out []descendant
	seen := map[Ref]bool{ref: true}
	queue := []Ref{ref}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		kids := children[parent]
		sort.Slice(kids, func(i, j int) bool { return kids[i].String() < kids[j].String() })
		for _, k := range kids {
			if !seen[k] {
				seen[k] = true
				out = append(out, descendant{parent: parent, child: k})
				queue = append(queue, k)
			}
		}
	}
	return out, nil
}

// baseOf reads the base release a release's manifest names.
func baseOf(ctx context.Context, st Store, ref Ref) (*Ref, error) {
	var m struct {
		BaseImage *struct {
			Image   string `json:"image"`
			Version string `json:"version"`
		} `json:"base_image"`
	}
	if err := getJSON(ctx, st, ref.Key(ManifestName), &m); err != nil {
		return nil, fmt.Errorf("read the manifest of %s: %w", ref, err)
	}
	if m.BaseImage == nil || m.BaseImage.Image == "" || m.BaseImage.Version == "" {
		return nil, nil
	}
	b := Release(m.BaseImage.Image, m.BaseImage.Version)
	return &b, nil
}

// getJSON decodes a small object (at most 1 MiB).
func getJSON(ctx context.Context, st Store, key string, v any) error {
	rc, _, err := st.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// putJSON writes a small object, verified by its sha256.
func putJSON(ctx context.Context, st Store, key string, body []byte, ifAbsent bool) (Object, error) {
	sum := sha256.Sum256(body)
	return st.Put(ctx, key, bytes.NewReader(body), int64(len(body)),
		PutOptions{SHA256: hex.EncodeToString(sum[:]), IfAbsent: ifAbsent, ContentType: "application/json"})
}
