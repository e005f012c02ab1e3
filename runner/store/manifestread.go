package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/imagebot/imagebot/runner/manifest"
)

// Manifest is a build's manifest.json as the versions read it: the runner's
// manifest, the release fields bot/release adds, and the raw bytes.
type Manifest struct {
	manifest.Manifest
	// MergeCommit is the merge commit a release was made for.
	MergeCommit string `json:"merge_commit,omitempty"`
	Raw         []byte `json:"-"`
}

// ReadManifest fetches and decodes a build's manifest.json.
func DecodeManifest(ctx context.Context, st Store, ref Ref) (*Manifest, error) {
	raw, err := ReadManifest(ctx, st, ref)
	if err != nil {
		return nil, err
	}
	m, err := manifest.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("decode manifest of %s: %w", ref, err)
	}
	var extra struct {
		MergeCommit string `json:"merge_commit"`
	}
	_ = json.Unmarshal(raw, &extra) // Parse has already decoded it once
	return &Manifest{Manifest: *m, MergeCommit: extra.MergeCommit, Raw: raw}, nil
}

// FileByFormat returns the manifest's file of a format (qcow2, ova).
func (m *Manifest) FileByFormat(format string) (manifest.File, error) {
	var have []string
	for _, f := range m.Files {
		if f.Format == format {
			return f, nil
		}
		have = append(have, f.Format)
	}
	return manifest.File{}, fmt.Errorf("%s@%s has no %s file (it has %v): %w", m.Image, m.Version, format, have, ErrNoFormat)
}

// ErrNoFormat means a version has no file of the asked format.
var ErrNoFormat = errors.New("no such format")
