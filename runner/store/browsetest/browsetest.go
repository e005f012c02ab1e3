// Package browsetest publishes small but real builds (files, .sha256
// files, a manifest) into a store through store.Publish, for the tests of
// what reads the bucket: runner/store's versions, bot/release, bot/web and
// the CLI.
package browsetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
)

// Build describes a build to publish.
type Build struct {
	Ref    store.Ref
	Digest string // inputs digest; "sha256:" + something
	// Version is the image version an MR build built (a release's is its Ref's).
	Version string
	GitSHA  string
	// Files maps file names to contents; the format is the extension.
	Files map[string][]byte
	Log   string // build.log content ("" for none)
	// Extra fields merged into the manifest JSON (e.g. merge_commit).
	Modify func(m *manifest.Manifest)
}

// Publish publishes b into st and returns its manifest.
func Publish(t testing.TB, st store.Store, b Build) *manifest.Manifest {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	version := b.Version
	if b.Ref.Kind == store.KindRelease {
		version = b.Ref.Version
	}
	m := &manifest.Manifest{
		Image: b.Ref.Image, Version: version, BuildID: "b-" + strings.ReplaceAll(b.Ref.String(), "@", "-"),
		Status: "succeeded", GitSHA: b.GitSHA, MR: b.Ref.MR, Release: b.Ref.Kind == store.KindRelease,
		InputsDigest: b.Digest, PackerVersion: "1.9.4", Builder: "qemu", TriggeredBy: "alice",
		Started: time.Now().Add(-3 * time.Minute).UTC(), Finished: time.Now().UTC(),
	}
	names := make([]string, 0, len(b.Files))
	for n := range b.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	var files []store.LocalFile
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, b.Files[n], 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b.Files[n])
		hexSum := hex.EncodeToString(sum[:])
		m.Files = append(m.Files, manifest.File{Name: n, Format: strings.TrimPrefix(filepath.Ext(n), "."), Size: int64(len(b.Files[n])), SHA256: hexSum})
		files = append(files, store.LocalFile{Name: n, Path: p, SHA256: hexSum, WithSHA256File: true})
	}
	if b.Log != "" {
		p := filepath.Join(dir, store.LogName)
		if err := os.WriteFile(p, []byte(b.Log), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, store.LocalFile{Name: store.LogName, Path: p, ContentType: "text/plain; charset=utf-8"})
	}
	if b.Modify != nil {
		b.Modify(m)
	}
	data, err := manifest.Marshal(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Publish(ctx, st, b.Ref.Prefix(), files, data, store.PublishOptions{}); err != nil {
		t.Fatalf("publish %s: %v", b.Ref, err)
	}
	return m
}
