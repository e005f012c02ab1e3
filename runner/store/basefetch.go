package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// BaseFetcher gives a runner the base images its local cache lacks from the
// store, so that a fleet of build hosts shares bases: the base's published
// release at the version its env.yaml names, when that release was built
// from the same inputs digest and is not revoked (runner.Config.BaseStore).
type BaseFetcher struct{ Store Store }

// FetchBase downloads the qcow2 disk of the release image@version into dir,
// verifying its size and the sha256 the release's manifest records, and
// returns its path and sha256. ErrNotFound when there is no such release
// or it was built from other inputs than digest; a *RevokedError when it is
// revoked. On any error nothing is left in dir.
func (f BaseFetcher) FetchBase(ctx context.Context, image, version, digest, dir string) (string, string, error) {
	ref := Release(image, version)
	if err := ref.Validate(); err != nil {
		return "", "", fmt.Errorf("fetch base: %w", err)
	}
	m, err := readManifest(ctx, f.Store, ref)
	if err != nil {
		return "", "", fmt.Errorf("fetch base %s: %w", ref, err)
	}
	if m.InputsDigest != digest {
		return "", "", fmt.Errorf("fetch base %s: released from inputs %s, this build needs %s: %w", ref, m.InputsDigest, digest, ErrNotFound)
	}
	if err := CheckBase(ctx, f.Store, image, version); err != nil {
		return "", "", fmt.Errorf("fetch base: %w", err)
	}
	for _, file := range m.Files {
		if file.Format != "qcow2" {
			continue
		}
		if !ValidFileName(file.Name) {
			return "", "", fmt.Errorf("fetch base %s: manifest names file %q: want one plain file name", ref, file.Name)
		}
		path := filepath.Join(dir, file.Name)
		if err := download(ctx, f.Store, ref.Key(file.Name), path, file.Size, file.SHA256); err != nil {
			return "", "", fmt.Errorf("fetch base %s: %w", ref, err)
		}
		return path, file.SHA256, nil
	}
	return "", "", fmt.Errorf("fetch base %s: its manifest lists no qcow2 disk: %w", ref, ErrNotFound)
}

// download writes key to path through a temporary file renamed on success.
func download(ctx context.Context, st Store, key, path string, size int64, sha string) error {
	if sha == "" {
		return errors.New("download " + key + ": no sha256 to verify against")
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fetch-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = Download(ctx, st, key, tmp, size, sha)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
