// Package manifest owns a build's manifest.json: what was built (image,
// version, build id, git sha, MR, inputs digest), how (Packer version,
// builder), what came out (files with size and sha256), when and for whom.
// Write refuses a manifest that contains any configured secret, so a
// secret can never be published beside an artifact.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// SchemaVersion is the manifest format's version, written as "schema".
const SchemaVersion = 1

// FileName is the manifest's name beside a build's artifacts.
const FileName = "manifest.json"

// Manifest describes one build. Field names are the JSON keys documented in
// the README; add fields, never rename them.
type Manifest struct {
	Schema        int    `json:"schema"`
	Image         string `json:"image"`
	Version       string `json:"version"`
	BuildID       string `json:"build_id"`
	Status        string `json:"status,omitempty"` // succeeded, failed, ... (runner.Status)
	GitSHA        string `json:"git_sha,omitempty"`
	MR            int    `json:"mr,omitempty"` // merge request iid; 0 (omitted) for releases and local builds
	Release       bool   `json:"release"`      // published under releases/
	InputsDigest  string `json:"inputs_digest"`
	PackerVersion string `json:"packer_version,omitempty"`
	// Plugins are the Packer plugins of the runner's plugin directory the build ran with.
	Plugins []Plugin `json:"plugins,omitempty"`
	Builder string   `json:"builder,omitempty"` // qemu, vsphere-iso, vsphere-clone
	// Artifacts are what each source of the template produced, apart:
	// Packer's builder id and artifact id, cloud image ids by region
	// (amazon: region -> AMI id) and the files' base names.
	Artifacts []Artifact `json:"artifacts,omitempty"`
	Files     []File     `json:"files"`
	Started   time.Time  `json:"started"`
	Finished  time.Time  `json:"finished"`
	// DurationSeconds is Finished - Started, for readers that do not parse times.
	DurationSeconds float64 `json:"duration_seconds"`
	TriggeredBy     string  `json:"triggered_by,omitempty"`
	// SourceBuild is set on a release promoted from an earlier build of the
	// same inputs instead of rebuilt.
	SourceBuild *SourceBuild `json:"source_build,omitempty"`
	// ReusedFrom is set on a build whose artifacts were copied from an
	// earlier published build of the same inputs digest (reuse by digest,
	// runner/store.Reuse) instead of being built again.
	ReusedFrom *SourceBuild `json:"reused_from,omitempty"`
	// BaseImage is the release of the base image this one was built from.
	BaseImage *BaseImage `json:"base_image,omitempty"`
	// Published records copies outside the bucket, e.g. a vSphere content library item.
	Published []Location        `json:"published,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Repository is the address of the template repository built from; the
	// signed provenance (runner/attest) names it.
	Repository string `json:"repository,omitempty"`
	// Inventory summarises what the image contains (the full list is the
	// inventory and SBOM files among Files); nil when it was not read.
	Inventory *Inventory `json:"inventory,omitempty"`
	// Hygiene lists the clone-cleanliness findings of the offline inspection.
	Hygiene []HygieneFinding `json:"hygiene,omitempty"`
	// Checks are the env.yaml checks run in the booted artifact.
	Checks []Check `json:"checks,omitempty"`
	// Compaction is the sparsify step run before the artifacts were made;
	// nil when the disk could not be read offline (nothing was discarded).
	Compaction *Compaction `json:"compaction,omitempty"`
}

// Compaction records what discarding the build disk's free space gained.
// Each disk artifact's own before/after is File.SizeBefore and File.Size.
type Compaction struct {
	Method string `json:"method"` // e.g. "e2fsck -E discard"
	// DataBytesBefore and DataBytesAfter are the bytes of data the disk held
	// before and after its free space was discarded (allocated bytes of a
	// sparse raw copy): what every artifact writer has to copy.
	DataBytesBefore int64   `json:"data_bytes_before"`
	DataBytesAfter  int64   `json:"data_bytes_after"`
	Seconds         float64 `json:"seconds"`
}

// Inventory is the summary of an image's inventory.
type Inventory struct {
	OS             string  `json:"os"` // e.g. "Debian GNU/Linux 12 (bookworm)"
	Arch           string  `json:"arch,omitempty"`
	Kernel         string  `json:"kernel,omitempty"`
	PackageManager string  `json:"package_manager"`
	Packages       int     `json:"packages"`
	Seconds        float64 `json:"seconds"` // how long reading the disk took
}

// Check is the result of one check run in the booted artifact.
type Check struct {
	File   string `json:"file"`  // resources/checks/<file>.yaml
	Check  string `json:"check"` // "service ssh"
	Passed bool   `json:"passed"`
	Detail string `json:"detail,omitempty"`
}

// HygieneFinding is one hygiene problem; Error is set under hygiene: strict.
type HygieneFinding struct {
	Check  string `json:"check"`
	Detail string `json:"detail"`
	Error  bool   `json:"error,omitempty"`
}

// File is one artifact of the build.
type File struct {
	Name   string `json:"name"`   // base name, e.g. rocky9-1.2.0.ova
	Format string `json:"format"` // qcow2, ova, log, sha256
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// SizeBefore is a disk artifact's size before the finishing steps
	// (discard, compaction, compression): for the qcow2, the disk file
	// Packer left. 0 (omitted) for files that have no such stage.
	SizeBefore int64 `json:"size_before,omitempty"`
}

// Plugin is one Packer plugin, e.g. github.com/hashicorp/qemu 1.0.9.
type Plugin struct {
	Source  string `json:"source"`
	Version string `json:"version"`
}

// Artifact is what one source of the build produced.
type Artifact struct {
	Source    string            `json:"source"` // e.g. amazon-ebs.web
	BuilderID string            `json:"builder_id,omitempty"`
	ID        string            `json:"id,omitempty"`
	IDs       map[string]string `json:"ids,omitempty"` // by region
	Files     []string          `json:"files,omitempty"`
}

// SourceBuild identifies the build a promoted release (or a reused build)
// was copied from.
type SourceBuild struct {
	BuildID string `json:"build_id"`
	MR      int    `json:"mr,omitempty"`
	GitSHA  string `json:"git_sha,omitempty"`
	Path    string `json:"path,omitempty"` // its prefix in the bucket
}

// BaseImage is the base release an image derives from.
type BaseImage struct {
	Image        string `json:"image"`
	Version      string `json:"version"`
	BuildID      string `json:"build_id,omitempty"`
	InputsDigest string `json:"inputs_digest,omitempty"`
	// SHA256 is the hex digest of the base disk the build started from.
	SHA256 string `json:"sha256,omitempty"`
}

// Location is where a copy of an artifact was published outside the bucket.
type Location struct {
	Kind  string `json:"kind"`  // e.g. vsphere-content-library
	Where string `json:"where"` // e.g. library/item name or id
	File  string `json:"file,omitempty"`
}

// MinSecretLen is the shortest secret the guard looks for: shorter strings
// ("1", "no") occur everywhere and would refuse every manifest.
const MinSecretLen = 4

// SecretError says which fields of a manifest hold a secret, never the secret.
type SecretError struct{ Fields []string }

func (e *SecretError) Error() string {
	return "manifest refused: a configured secret appears in " + strings.Join(e.Fields, ", ")
}

// Marshal validates m, fills Schema and DurationSeconds, and encodes it as
// indented JSON. It returns a *SecretError when any of secrets appears in it.
func Marshal(m *Manifest, secrets []string) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	c := *m
	c.Schema = SchemaVersion
	if !c.Started.IsZero() && !c.Finished.IsZero() {
		c.DurationSeconds = c.Finished.Sub(c.Started).Round(time.Millisecond).Seconds()
	}
	if c.Files == nil {
		c.Files = []File{}
	}
	data, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	if err := CheckSecrets(data, secrets); err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

func (m *Manifest) validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"image", m.Image}, {"version", m.Version}, {"build_id", m.BuildID}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	for i, f := range m.Files {
		if f.Name == "" || len(f.SHA256) != 64 {
			missing = append(missing, fmt.Sprintf("files[%d] (name and a 64-hex sha256)", i))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("manifest incomplete: missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// CheckSecrets returns a *SecretError naming every JSON field of data in
// which one of secrets appears, raw or JSON-escaped.
func CheckSecrets(data []byte, secrets []string) error {
	var needles [][]byte
	for _, s := range secrets {
		if len(s) < MinSecretLen {
			continue
		}
		needles = append(needles, []byte(s))
		if esc, err := json.Marshal(s); err == nil {
			if e := esc[1 : len(esc)-1]; !bytes.Equal(e, []byte(s)) {
				needles = append(needles, e)
			}
		}
	}
	found := false
	for _, n := range needles {
		if bytes.Contains(data, n) {
			found = true
			break
		}
	}
	if !found {
		return nil
	}
	var v any
	fields := map[string]bool{}
	has := func(s string) bool {
		for _, n := range needles {
			if strings.Contains(s, string(n)) {
				return true
			}
		}
		return false
	}
	if json.Unmarshal(data, &v) == nil {
		walk("", v, has, func(path string) { fields[path] = true })
	}
	if len(fields) == 0 {
		fields["(undecodable)"] = true
	}
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	return &SecretError{Fields: names}
}

// walk calls found with the path of every key or value of v for which has
// is true. A key holding a secret is named "<key>" so the path stays clean.
func walk(path string, v any, has func(string) bool, found func(path string)) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			name := k
			if has(k) {
				name = "<key>"
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			if has(k) {
				found(p)
			}
			walk(p, e, has, found)
		}
	case []any:
		for i, e := range t {
			walk(fmt.Sprintf("%s[%d]", path, i), e, has, found)
		}
	case string:
		if has(t) {
			found(path)
		}
	case float64, bool, nil:
		if has(fmt.Sprint(t)) {
			found(path)
		}
	}
}

// Write writes m to path atomically (a temporary file renamed into place),
// refusing it when a secret appears in it.
func Write(path string, m *Manifest, secrets []string) error {
	data, err := Marshal(m, secrets)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".manifest-*.json")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Read reads and decodes a manifest. Unknown fields are accepted (newer
// writers may add some); a missing image, version or build id is an error.
func Read(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return m, nil
}

// Parse decodes a manifest from JSON.
func Parse(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("invalid JSON at byte %d: %w", se.Offset, err)
		}
		return nil, err
	}
	if m.Schema > SchemaVersion {
		return nil, fmt.Errorf("manifest schema %d is newer than this imagebot understands (%d)", m.Schema, SchemaVersion)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}
