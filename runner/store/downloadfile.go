package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/imagebot/imagebot/runner/manifest"
)

// Download streams a version's file of a format (qcow2, ova) to w, hashing
// as it goes, and fails with ErrCorrupt when the bytes are not what the
// manifest says. The caller must discard what it wrote when Download fails.
func DownloadVersion(ctx context.Context, st Store, v Version, format string, w io.Writer) (manifest.File, error) {
	if v.Manifest == nil {
		return manifest.File{}, fmt.Errorf("%s@%s has no manifest", v.Image, v.Name())
	}
	f, err := v.Manifest.FileByFormat(format)
	if err != nil {
		return manifest.File{}, err
	}
	if _, err := Download(ctx, st, v.Prefix+f.Name, w, f.Size, f.SHA256); err != nil {
		return f, fmt.Errorf("%s@%s %s: %w", v.Image, v.Name(), f.Name, err)
	}
	return f, nil
}

// DownloadFile downloads into path through a temporary file beside it and
// renames it into place only once the size and sha256 matched: a corrupt
// or interrupted download is deleted and leaves nothing at path.
func DownloadVersionFile(ctx context.Context, st Store, v Version, format, path string) (manifest.File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return manifest.File{}, fmt.Errorf("create %s: %w", path, err)
	}
	f, err := DownloadVersion(ctx, st, v, format, tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", path, cerr)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return f, err
	}
	return f, nil
}
