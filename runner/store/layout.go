package store

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The bucket layout (documented in the README):
//
//	<image>/releases/<version>/<image>-<version>.qcow2      release artifacts
//	<image>/releases/<version>/<image>-<version>.qcow2.sha256
//	<image>/releases/<version>/manifest.json                written last: the build exists once it does
//	<image>/releases/<version>/build.log
//	<image>/releases/<version>/provenance.intoto.jsonl      signed provenance (DSSE), before the manifest
//	<image>/mr/<iid>/<short-sha>/...                        the same files for a merge-request build
//	<image>/revocations/<version>.json                      a revoked release: who, when, why
//	<image>/channels/<channel>.json                         a channel: the release it points at, and its moves
//
// docs/provenance.md documents the last three for readers with any S3 client.
// A build is one prefix; its manifest.json is the commit point. Readers ignore
// a prefix without one.

// Kind says whether a build is a release or a merge-request build.
type Kind string

const (
	KindRelease Kind = "release"
	KindMR      Kind = "mr"
)

// Names of the fixed files of a build.
const (
	ManifestName = "manifest.json"
	LogName      = "build.log"
	// AttestationName is a build's signed provenance: one DSSE envelope
	// (JSON, one line) holding an in-toto statement (runner/attest).
	AttestationName = "provenance.intoto.jsonl"
	// AttestationType is its content type.
	AttestationType = "application/vnd.dsse.envelope.v1+json"
	// SHA256Suffix is appended to an artifact's name for its checksum file,
	// whose content is "<hex>  <name>\n" (sha256sum -c reads it).
	SHA256Suffix = ".sha256"
	// ShortSHALen is how many hex digits of the commit name an MR build.
	ShortSHALen = 8

	releasesDir = "releases"
	mrDir       = "mr"
)

var (
	imageRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]*$`)
	shaRE     = regexp.MustCompile(`^[0-9a-f]{7,40}$`)
	fileRE    = regexp.MustCompile(`^[0-9A-Za-z_][0-9A-Za-z._+-]*$`)
)

// Ref names one build: a release of an image at a version, or an MR build at
// a commit.
type Ref struct {
	Image   string
	Kind    Kind
	Version string // releases only
	MR      int    // MR builds only: the merge request's iid
	SHA     string // MR builds only: the short commit sha
}

// Release returns the Ref of a release.
func Release(image, version string) Ref {
	return Ref{Image: image, Kind: KindRelease, Version: version}
}

// MRBuild returns the Ref of a merge-request build; sha is shortened to ShortSHALen.
func MRBuild(image string, mr int, sha string) Ref {
	return Ref{Image: image, Kind: KindMR, MR: mr, SHA: ShortSHA(sha)}
}

// ShortSHA returns the first ShortSHALen hex digits of a commit sha, lowercased.
func ShortSHA(sha string) string {
	sha = strings.ToLower(sha)
	if len(sha) > ShortSHALen {
		return sha[:ShortSHALen]
	}
	return sha
}

// Validate reports what is wrong with r, naming the field.
func (r Ref) Validate() error {
	if !imageRE.MatchString(r.Image) {
		return fmt.Errorf("image %q: want lowercase letters, digits, '.', '_' or '-'", r.Image)
	}
	switch r.Kind {
	case KindRelease:
		if !versionRE.MatchString(r.Version) {
			return fmt.Errorf("version %q: want letters, digits, '.', '+', '_' or '-'", r.Version)
		}
	case KindMR:
		if r.MR <= 0 {
			return fmt.Errorf("merge request %d: want a positive iid", r.MR)
		}
		if !shaRE.MatchString(r.SHA) {
			return fmt.Errorf("commit %q: want 7 to 40 lowercase hex digits", r.SHA)
		}
	default:
		return fmt.Errorf("kind %q: want %q or %q", r.Kind, KindRelease, KindMR)
	}
	return nil
}

// Prefix returns the build's prefix, ending in "/". It panics on nothing:
// an invalid Ref gives a prefix that Validate would refuse, so callers that
// take Refs from outside validate first (Publish does).
func (r Ref) Prefix() string {
	if r.Kind == KindMR {
		return r.Image + "/" + mrDir + "/" + strconv.Itoa(r.MR) + "/" + r.SHA + "/"
	}
	return r.Image + "/" + releasesDir + "/" + r.Version + "/"
}

// Key returns the key of a file of the build.
func (r Ref) Key(file string) string { return r.Prefix() + file }

// String names the build for people: "rocky9@1.2.0" or "rocky9@mr12-1a2b3c4d".
func (r Ref) String() string {
	if r.Kind == KindMR {
		return fmt.Sprintf("%s@mr%d-%s", r.Image, r.MR, r.SHA)
	}
	return r.Image + "@" + r.Version
}

// ArtifactName returns the conventional file name of an artifact:
// "<image>-<version>.<ext>".
func ArtifactName(image, version, ext string) string {
	return image + "-" + version + "." + strings.TrimPrefix(ext, ".")
}

// ImagePrefix returns the prefix of everything stored for an image.
func ImagePrefix(image string) string { return image + "/" }

// ReleasesPrefix returns the prefix under which an image's releases live.
func ReleasesPrefix(image string) string { return image + "/" + releasesDir + "/" }

// MRPrefix returns the prefix under which an image's MR builds live.
func MRPrefix(image string) string { return image + "/" + mrDir + "/" }

// ParseKey splits a key (or a build prefix ending in "/") into the build it
// belongs to and the file name within it ("" for a prefix).
func ParseKey(key string) (Ref, string, error) {
	parts := strings.Split(key, "/")
	bad := func(why string) (Ref, string, error) {
		return Ref{}, "", fmt.Errorf("key %q: %s", key, why)
	}
	if len(parts) < 3 {
		return bad("want <image>/releases/<version>/<file> or <image>/mr/<iid>/<sha>/<file>")
	}
	var ref Ref
	var rest []string
	switch parts[1] {
	case releasesDir:
		ref = Release(parts[0], parts[2])
		rest = parts[3:]
	case mrDir:
		if len(parts) < 4 {
			return bad("MR build key lacks the commit")
		}
		iid, err := strconv.Atoi(parts[2])
		if err != nil {
			return bad(fmt.Sprintf("merge request %q is not a number", parts[2]))
		}
		ref = Ref{Image: parts[0], Kind: KindMR, MR: iid, SHA: parts[3]}
		rest = parts[4:]
	default:
		return bad(fmt.Sprintf("second segment %q: want %q or %q", parts[1], releasesDir, mrDir))
	}
	if err := ref.Validate(); err != nil {
		return bad(err.Error())
	}
	switch {
	case len(rest) == 0, len(rest) == 1 && rest[0] == "":
		return ref, "", nil
	case len(rest) == 1 && fileRE.MatchString(rest[0]):
		return ref, rest[0], nil
	default:
		return bad(fmt.Sprintf("file %q: want one plain file name", strings.Join(rest, "/")))
	}
}

// ValidFileName reports whether name can be a file of a build.
func ValidFileName(name string) bool { return fileRE.MatchString(name) }
