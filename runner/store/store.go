// Package store owns where artifacts live: the bucket layout, the Store
// interface its backends (store/local, store/s3) implement, and publishing a
// build atomically (files first, verified; manifest last).
package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned when a key does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned when a write would replace an immutable object.
var ErrExists = errors.New("already exists")

// ErrCorrupt is returned when stored bytes do not match their expected size
// or sha256.
var ErrCorrupt = errors.New("checksum mismatch")

// Object describes one stored object.
type Object struct {
	Key      string
	Size     int64
	SHA256   string // hex; empty when the backend does not know it
	Modified time.Time
}

// PutOptions tune a write.
type PutOptions struct {
	// SHA256 is the expected hex digest; the write fails and leaves nothing
	// behind when the stored bytes do not match.
	SHA256 string
	// IfAbsent refuses to replace an existing object (ErrExists).
	IfAbsent    bool
	ContentType string
}

// Store is a flat key space of immutable-once-written objects.
type Store interface {
	// Put streams r (size bytes, -1 if unknown) to key and verifies it.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (Object, error)
	Get(ctx context.Context, key string) (io.ReadCloser, Object, error)
	Stat(ctx context.Context, key string) (Object, error)
	// List returns the objects under prefix, recursively, sorted by key.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Dirs returns the names of the immediate sub-prefixes of prefix (what an
	// S3 listing with delimiter "/" calls common prefixes), sorted, without
	// the prefix and without the trailing slash. Used to browse images.
	Dirs(ctx context.Context, prefix string) ([]string, error)
	// Copy copies src to dst without moving the bytes through imagebot where
	// the backend can (server-side copy).
	Copy(ctx context.Context, src, dst string, opts PutOptions) (Object, error)
	Delete(ctx context.Context, key string) error
	// URL returns an address a browser can download key from: presigned for
	// S3, the bot's own download route for a local directory.
	URL(ctx context.Context, key string, expiry time.Duration) (string, error)
}
