package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/imagebot/imagebot/runner/ctxio"
)

// Download copies key to w and checks that what came is size bytes with the
// given sha256 (either may be unknown: size < 0, sha ""; then the backend's
// own record is used when it has one). On a mismatch it returns ErrCorrupt,
// after w has received the bytes: write to a temporary file and rename on
// success.
func Download(ctx context.Context, st Store, key string, w io.Writer, size int64, sha string) (Object, error) {
	rc, obj, err := st.Get(ctx, key)
	if err != nil {
		return Object{}, fmt.Errorf("download %s: %w", key, err)
	}
	defer rc.Close()
	if size < 0 {
		size = obj.Size
	}
	if sha == "" {
		sha = obj.SHA256
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), ctxio.Reader(ctx, rc))
	if err != nil {
		return Object{}, fmt.Errorf("download %s: %w", key, err)
	}
	got := Object{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Modified: obj.Modified}
	if err := checkObject(got, size, sha); err != nil {
		return got, fmt.Errorf("download: %w", err)
	}
	return got, nil
}

// Verify reads key back and checks its size and sha256 against want (want's
// Size < 0 or empty SHA256 are not checked; the backend's record is used).
func Verify(ctx context.Context, st Store, key string, size int64, sha string) error {
	_, err := Download(ctx, st, key, io.Discard, size, sha)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}

// Handler serves GET and HEAD of stored objects at
// <mount>/<key>: the download route a local store's BaseURL points at.
// Mount it with http.StripPrefix, e.g.
//
//	mux.Handle("/download/", http.StripPrefix("/download/", store.Handler(st)))
//
// Only keys of the layout are served.
func Handler(st Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		key := strings.TrimPrefix(r.URL.Path, "/")
		_, inRepo := SplitRepo(key) // a repository's builds: _repo/<name>/<image>/...
		if _, file, err := ParseKey(inRepo); err != nil || file == "" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		rc, obj, err := st.Get(r.Context(), key)
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		defer rc.Close()
		ctype := mime.TypeByExtension(path.Ext(key))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ctype)
		if obj.SHA256 != "" {
			w.Header().Set("X-Checksum-Sha256", obj.SHA256)
		}
		if rs, ok := rc.(io.ReadSeeker); ok {
			// Range requests let a multi-GiB download resume.
			http.ServeContent(w, r, path.Base(key), obj.Modified, rs)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(obj.Size, 10))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = io.Copy(w, rc)
	})
}
