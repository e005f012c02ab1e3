// Package local is the artifact store in a directory on the bot's host (the
// embedded default). Keys are paths under the directory. A write goes to a
// temporary file under <dir>/.tmp, is hashed and checked while it is written,
// and is renamed into place only when complete, so a reader never sees half
// a file. Downloads go through the bot's own route (store.Handler).
package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/ctxio"
	"github.com/imagebot/imagebot/runner/store"
)

const tmpDir = ".tmp"

// Store is a directory holding the bucket layout.
type Store struct {
	root    string
	baseURL string
}

var _ store.Store = (*Store)(nil)

// New opens (and creates) the directory of cfg.
func New(cfg store.LocalConfig) (*Store, error) {
	root, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("storage.local.dir %q: %w", cfg.Dir, err)
	}
	if err := os.MkdirAll(filepath.Join(root, tmpDir), 0o755); err != nil {
		return nil, fmt.Errorf("storage.local.dir: %w", err)
	}
	if cfg.BaseURL != "" {
		if u, err := url.Parse(cfg.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("storage.local.base_url %q: want an absolute http(s) URL", cfg.BaseURL)
		}
	}
	return &Store{root: root, baseURL: strings.TrimSuffix(cfg.BaseURL, "/")}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.root }

// path maps a key to a file, refusing keys that could leave the directory or
// touch the store's own hidden files.
func (s *Store) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return "", fmt.Errorf("key %q: want a relative path to a file", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") || strings.ContainsRune(seg, '\\') {
			return "", fmt.Errorf("key %q: segment %q is not allowed", key, seg)
		}
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Put writes r to key through a temporary file, checking size and sha256.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts store.PutOptions) (store.Object, error) {
	dst, err := s.path(key)
	if err != nil {
		return store.Object{}, fmt.Errorf("put: %w", err)
	}
	tmp, sum, n, err := s.writeTemp(ctx, r)
	if err != nil {
		return store.Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	defer os.Remove(tmp)
	if size >= 0 && n != size {
		return store.Object{}, fmt.Errorf("put %s: got %d bytes, want %d: %w", key, n, size, store.ErrCorrupt)
	}
	if opts.SHA256 != "" && sum != opts.SHA256 {
		// The reader gave other bytes than expected: reading it again
		// would give the same.
		return store.Object{}, store.Permanent(fmt.Errorf("put %s: sha256 %s, want %s: %w", key, sum, opts.SHA256, store.ErrCorrupt))
	}
	if err := s.place(tmp, dst, opts.IfAbsent); err != nil {
		return store.Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	obj, err := s.Stat(ctx, key)
	obj.SHA256 = sum
	return obj, err
}

func (s *Store) writeTemp(ctx context.Context, r io.Reader) (path, sum string, n int64, err error) {
	f, err := os.CreateTemp(filepath.Join(s.root, tmpDir), "put-*")
	if err != nil {
		return "", "", 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	n, err = io.Copy(io.MultiWriter(f, h), ctxio.Reader(ctx, r))
	if err != nil {
		return "", "", 0, err
	}
	if err = f.Sync(); err != nil {
		return "", "", 0, err
	}
	if err = f.Close(); err != nil {
		return "", "", 0, err
	}
	return f.Name(), hex.EncodeToString(h.Sum(nil)), n, nil
}

// place moves a finished temporary file to dst; with ifAbsent a hard link
// makes the existence check and the write one atomic step.
func (s *Store) place(tmp, dst string, ifAbsent bool) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if !ifAbsent {
		return os.Rename(tmp, dst)
	}
	err := os.Link(tmp, dst)
	if errors.Is(err, fs.ErrExist) {
		return store.ErrExists
	}
	return err
}

// Get opens key for reading.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, store.Object, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, store.Object{}, fmt.Errorf("get: %w", err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, store.Object{}, fmt.Errorf("get %s: %w", key, notFound(err))
	}
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		f.Close()
		return nil, store.Object{}, fmt.Errorf("get %s: %w", key, store.ErrNotFound)
	}
	return f, object(key, fi), nil
}

// Stat describes key. The local store does not record checksums: SHA256 is
// empty (Put returns it; Download computes it).
func (s *Store) Stat(ctx context.Context, key string) (store.Object, error) {
	p, err := s.path(key)
	if err != nil {
		return store.Object{}, fmt.Errorf("stat: %w", err)
	}
	fi, err := os.Stat(p)
	if err == nil && fi.IsDir() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return store.Object{}, fmt.Errorf("stat %s: %w", key, notFound(err))
	}
	return object(key, fi), nil
}

func object(key string, fi fs.FileInfo) store.Object {
	return store.Object{Key: key, Size: fi.Size(), Modified: fi.ModTime().UTC()}
}

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return store.ErrNotFound
	}
	return err
}

// List walks the directory under prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Object, error) {
	start := s.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(s.root, filepath.FromSlash(prefix[:i]))
	}
	if !strings.HasPrefix(start, s.root) {
		return nil, fmt.Errorf("list %q: outside the store", prefix)
	}
	var out []store.Object
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if strings.HasPrefix(d.Name(), ".") && p != start {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(s.root, p)
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed while we walked
		}
		out = append(out, object(key, fi))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Dirs lists the sub-directories of prefix ("" or ending in "/").
func (s *Store) Dirs(ctx context.Context, prefix string) ([]string, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("dirs %q: want a prefix ending in /", prefix)
	}
	dir := s.root
	if prefix != "" {
		p, err := s.path(strings.TrimSuffix(prefix, "/"))
		if err != nil {
			return nil, fmt.Errorf("dirs: %w", err)
		}
		dir = p
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dirs %q: %w", prefix, err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Copy hard-links src to dst (a copy of the bytes where linking fails). The
// files are never written in place, so sharing an inode is safe.
func (s *Store) Copy(ctx context.Context, src, dst string, opts store.PutOptions) (store.Object, error) {
	sp, err := s.path(src)
	if err != nil {
		return store.Object{}, fmt.Errorf("copy: %w", err)
	}
	dp, err := s.path(dst)
	if err != nil {
		return store.Object{}, fmt.Errorf("copy: %w", err)
	}
	tmp := filepath.Join(s.root, tmpDir, fmt.Sprintf("copy-%d", time.Now().UnixNano()))
	if err := os.Link(sp, tmp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return store.Object{}, fmt.Errorf("copy %s: %w", src, store.ErrNotFound)
		}
		rc, obj, gerr := s.Get(ctx, src)
		if gerr != nil {
			return store.Object{}, fmt.Errorf("copy %s: %w", src, gerr)
		}
		defer rc.Close()
		return s.Put(ctx, dst, rc, obj.Size, opts)
	}
	defer os.Remove(tmp)
	if opts.SHA256 != "" {
		// The destination must hold what the caller expects, not merely
		// what the source holds now.
		if err := s.checkSum(ctx, tmp, opts.SHA256); err != nil {
			return store.Object{}, fmt.Errorf("copy %s to %s: %w", src, dst, err)
		}
	}
	if err := s.place(tmp, dp, opts.IfAbsent); err != nil {
		return store.Object{}, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	obj, err := s.Stat(ctx, dst)
	obj.SHA256 = opts.SHA256
	return obj, err
}

func (s *Store) checkSum(ctx context.Context, p, want string) error {
	got, err := store.HashFile(ctx, p)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("sha256 %s, want %s: %w", got, want, store.ErrCorrupt)
	}
	return nil
}

// Delete removes key and the directories it leaves empty.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("delete %s: %w", key, notFound(err))
	}
	for dir := filepath.Dir(p); dir != s.root && strings.HasPrefix(dir, s.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // not empty, or gone
			break
		}
	}
	return nil
}

// URL returns BaseURL/<key>; the bot serves it with store.Handler. The
// expiry does not apply: the route is as open as the bot's page.
func (s *Store) URL(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if _, err := s.path(key); err != nil {
		return "", fmt.Errorf("url: %w", err)
	}
	if s.baseURL == "" {
		return "", fmt.Errorf("url %s: storage.local.base_url is not set", key)
	}
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return s.baseURL + "/" + strings.Join(segs, "/"), nil
}

// Sweep removes MR builds older than olderThan (see store.Sweep).
func (s *Store) Sweep(ctx context.Context, olderThan time.Duration) ([]string, error) {
	return store.Sweep(ctx, s, olderThan, time.Now())
}
