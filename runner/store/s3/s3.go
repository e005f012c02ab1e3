// Package s3 is the artifact store in an S3-compatible bucket (MinIO, AWS S3)
// through minio-go/v7.
//
// Uploads larger than a part are multipart uploads whose parts go out
// several at once (memory: streams+1 parts, 40 MiB by default), each part
// carrying its SHA-256 checksum so the server refuses damaged parts. The
// whole object's sha256 is computed while streaming, beside the senders
// (upload.go); when the caller gave an
// expected digest and the bytes differ, the upload is aborted before it
// completes, so no wrong object is ever created. After completing, the
// object is re-stat'ed: its size, the server's SHA-256 checksum (composite
// over parts for multipart uploads) and the sha256 kept as user metadata
// ("x-amz-meta-sha256") must match what was sent.
//
// Objects of MR builds carry the tag imagebot-build=mr, which the bucket
// lifecycle rule set by EnsureRetention expires; releases carry
// imagebot-build=release.
package s3

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/store"
)

const (
	// TagKey is the object tag that tells MR builds from releases.
	TagKey = "imagebot-build"
	// RetentionRuleID names the lifecycle rule EnsureRetention manages.
	RetentionRuleID = "imagebot-mr-retention"
	// metaSHA256 is the user-metadata key of the object's hex sha256.
	metaSHA256 = "sha256"

	defaultPartSize = 8 << 20
	defaultExpiry   = time.Hour // short: links in comments and pages are public
	maxPresign      = 7 * 24 * time.Hour
	maxParts        = 10000
)

// Store is a bucket holding the layout of package store.
type Store struct {
	c        *minio.Client
	presign  *minio.Client // c, or a client for the public endpoint
	bucket   string
	partSize uint64
	streams  int
	expiry   time.Duration
	log      zerolog.Logger
}

var _ store.Store = (*Store)(nil)

// New connects to the bucket of cfg, creating it when cfg.CreateBucket is
// set, and applies cfg.RetentionDays. Keys are read from the environment or
// files (S3Config.Credentials) and never logged. log may be nil.
func New(ctx context.Context, cfg store.S3Config, log *zerolog.Logger) (*Store, error) {
	if err := (store.Config{S3: &cfg}).Validate(); err != nil {
		return nil, err
	}
	access, secret, err := cfg.Credentials()
	if err != nil {
		return nil, err
	}
	presign, err := presignClient(cfg, access, secret)
	if err != nil {
		return nil, err
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:           credentials.NewStaticV4(access, secret, ""),
		Secure:          !cfg.Insecure,
		Region:          cfg.Region,
		TrailingHeaders: true,
		// Publish retries whole uploads with its own backoff; a few quick
		// retries per request are enough here.
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("storage.s3: %w", err)
	}
	if presign == nil {
		presign = c
	}
	s := &Store{c: c, presign: presign, bucket: cfg.Bucket, partSize: defaultPartSize, streams: defaultStreams, expiry: defaultExpiry, log: zerolog.Nop()}
	if log != nil {
		s.log = *log
	}
	if cfg.PartSizeMiB > 0 {
		if cfg.PartSizeMiB < 5 {
			return nil, fmt.Errorf("storage.s3.part_size_mib: %d is below S3's 5 MiB minimum", cfg.PartSizeMiB)
		}
		s.partSize = uint64(cfg.PartSizeMiB) << 20
	}
	if cfg.PresignExpiry > 0 {
		s.expiry = min(cfg.PresignExpiry, maxPresign)
	}
	if err := s.ensureBucket(ctx, cfg.CreateBucket); err != nil {
		return nil, err
	}
	if cfg.RetentionDays > 0 {
		if err := s.EnsureRetention(ctx, cfg.RetentionDays); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// presignClient returns a client for the public endpoint, or nil. Presigning
// is computed locally; the region is fixed so it never asks the server.
func presignClient(cfg store.S3Config, access, secret string) (*minio.Client, error) {
	if cfg.PublicEndpoint == "" {
		return nil, nil
	}
	u, err := url.Parse(cfg.PublicEndpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("storage.s3.public_endpoint %q: want http(s)://host[:port]", cfg.PublicEndpoint)
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(access, secret, ""),
		Secure: u.Scheme == "https",
		Region: region,
	})
	if err != nil {
		return nil, fmt.Errorf("storage.s3.public_endpoint: %w", err)
	}
	return c, nil
}

func (s *Store) ensureBucket(ctx context.Context, create bool) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("storage.s3: check bucket %s: %w", s.bucket, mapErr(err))
	}
	if ok {
		return nil
	}
	if !create {
		return fmt.Errorf("storage.s3: bucket %s does not exist (create it, or set create_bucket)", s.bucket)
	}
	if err := s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("storage.s3: create bucket %s: %w", s.bucket, mapErr(err))
	}
	return nil
}

// Bucket returns the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// tags returns the retention tag for a key of the layout (of any
// repository: see store.RepoStore).
func tags(key string) map[string]string {
	_, rest := store.SplitRepo(key)
	ref, _, err := store.ParseKey(rest)
	if err != nil {
		return nil
	}
	return map[string]string{TagKey: string(ref.Kind)}
}

// Put streams r to key; see the package comment for what is verified.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts store.PutOptions) (store.Object, error) {
	if size < 0 {
		return s.putSpooled(ctx, key, r, opts)
	}
	if opts.IfAbsent {
		// Multipart completions do not carry If-None-Match through
		// minio-go, so check first; single PUTs (manifests) also send it.
		if _, err := s.Stat(ctx, key); err == nil {
			return store.Object{}, fmt.Errorf("put %s: %w", key, store.ErrExists)
		} else if !errors.Is(err, store.ErrNotFound) {
			return store.Object{}, fmt.Errorf("put %s: %w", key, err)
		}
	}
	partSize := s.partSizeFor(size)
	po := minio.PutObjectOptions{
		ContentType: opts.ContentType,
		UserTags:    tags(key),
		PartSize:    uint64(partSize),
		NumThreads:  1,
		Checksum:    minio.ChecksumSHA256,
		// The SHA-256 checksum of each part already protects the bytes;
		// signing the payload's SHA-256 too would hash everything again.
		DisableContentSha256: true,
	}
	if opts.SHA256 != "" {
		po.UserMetadata = map[string]string{metaSHA256: opts.SHA256}
	}
	if opts.IfAbsent {
		po.SetMatchETagExcept("*")
	}
	var up upload
	if size > partSize {
		var err error
		if up, err = s.putParallel(ctx, key, r, size, partSize, opts.SHA256, po); err != nil {
			return store.Object{}, fmt.Errorf("put %s: %w", key, err)
		}
	} else {
		hr := newHashingReader(r, size, partSize, opts.SHA256)
		if _, err := s.c.PutObject(ctx, s.bucket, key, hr, size, po); err != nil {
			return store.Object{}, fmt.Errorf("put %s: %w", key, mapErr(err))
		}
		up = upload{sum: hr.sum(), checksum: hr.checksum()}
	}
	obj, err := s.check(ctx, key, size, up)
	if err != nil {
		// The object is wrong: do not leave it where readers look.
		_ = s.c.RemoveObject(context.WithoutCancel(ctx), s.bucket, key, minio.RemoveObjectOptions{})
		return store.Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	return obj, nil
}

// partSizeFor grows the configured part size, in whole MiB, for objects
// that would need more than S3's 10,000 parts.
func (s *Store) partSizeFor(size int64) int64 {
	ps := int64(s.partSize)
	if need := (size + maxParts - 1) / maxParts; need > ps {
		ps = (need + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return ps
}

// check re-stats a just-written object against what was streamed.
func (s *Store) check(ctx context.Context, key string, size int64, up upload) (store.Object, error) {
	info, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return store.Object{}, fmt.Errorf("verify: %w", mapErr(err))
	}
	sum := up.sum
	if info.Size != size {
		return store.Object{}, fmt.Errorf("verify: stored %d bytes, sent %d: %w", info.Size, size, store.ErrCorrupt)
	}
	if want := up.checksum; info.ChecksumSHA256 != "" && info.ChecksumSHA256 != want {
		return store.Object{}, fmt.Errorf("verify: server checksum %s, sent %s: %w", info.ChecksumSHA256, want, store.ErrCorrupt)
	}
	if meta := info.UserMetadata[http.CanonicalHeaderKey(metaSHA256)]; meta != "" && meta != sum {
		return store.Object{}, fmt.Errorf("verify: recorded sha256 %s, sent %s: %w", meta, sum, store.ErrCorrupt)
	}
	obj := object(info)
	obj.SHA256 = sum
	return obj, nil
}

// putSpooled handles an unknown size by spooling to a temporary file, so
// that the upload can still be verified part by part.
func (s *Store) putSpooled(ctx context.Context, key string, r io.Reader, opts store.PutOptions) (store.Object, error) {
	f, err := os.CreateTemp("", "imagebot-s3-*")
	if err != nil {
		return store.Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, r)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return store.Object{}, fmt.Errorf("put %s: spool: %w", key, err)
	}
	return s.Put(ctx, key, f, n, opts)
}

func object(info minio.ObjectInfo) store.Object {
	return store.Object{
		Key:      info.Key,
		Size:     info.Size,
		SHA256:   info.UserMetadata[http.CanonicalHeaderKey(metaSHA256)],
		Modified: info.LastModified.UTC(),
	}
}

// Get opens key; the returned Object's SHA256 is the recorded one.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, store.Object, error) {
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, store.Object{}, fmt.Errorf("get %s: %w", key, mapErr(err))
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, store.Object{}, fmt.Errorf("get %s: %w", key, mapErr(err))
	}
	return obj, object(info), nil
}

// Stat describes key, with its recorded sha256.
func (s *Store) Stat(ctx context.Context, key string) (store.Object, error) {
	info, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return store.Object{}, fmt.Errorf("stat %s: %w", key, mapErr(err))
	}
	return object(info), nil
}

// List lists recursively; listings carry no metadata, so SHA256 is empty
// (Stat has it).
func (s *Store) List(ctx context.Context, prefix string) ([]store.Object, error) {
	var out []store.Object
	for info := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			return nil, fmt.Errorf("list %q: %w", prefix, mapErr(info.Err))
		}
		out = append(out, object(info))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Dirs lists the common prefixes one level under prefix.
func (s *Store) Dirs(ctx context.Context, prefix string) ([]string, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("dirs %q: want a prefix ending in /", prefix)
	}
	var out []string
	for info := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if info.Err != nil {
			return nil, fmt.Errorf("dirs %q: %w", prefix, mapErr(info.Err))
		}
		if name, ok := strings.CutSuffix(strings.TrimPrefix(info.Key, prefix), "/"); ok && name != "" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Copy copies server-side (multipart copy above 5 GiB), giving the copy the
// retention tag of its new place and the source's recorded sha256.
func (s *Store) Copy(ctx context.Context, src, dst string, opts store.PutOptions) (store.Object, error) {
	from, err := s.Stat(ctx, src)
	if err != nil {
		return store.Object{}, fmt.Errorf("copy %s: %w", src, err)
	}
	if opts.SHA256 != "" && from.SHA256 != "" && opts.SHA256 != from.SHA256 {
		return store.Object{}, fmt.Errorf("copy %s: recorded sha256 %s, want %s: %w", src, from.SHA256, opts.SHA256, store.ErrCorrupt)
	}
	if opts.IfAbsent {
		if _, err := s.Stat(ctx, dst); err == nil {
			return store.Object{}, fmt.Errorf("copy to %s: %w", dst, store.ErrExists)
		} else if !errors.Is(err, store.ErrNotFound) {
			return store.Object{}, fmt.Errorf("copy to %s: %w", dst, err)
		}
	}
	sum := opts.SHA256
	if sum == "" {
		sum = from.SHA256
	}
	dest := minio.CopyDestOptions{
		Bucket: s.bucket, Object: dst,
		ReplaceMetadata: true, ReplaceTags: true, UserTags: tags(dst),
		ContentType: opts.ContentType,
	}
	if sum != "" {
		dest.UserMetadata = map[string]string{metaSHA256: sum}
	}
	if _, err := s.c.ComposeObject(ctx, dest, minio.CopySrcOptions{Bucket: s.bucket, Object: src}); err != nil {
		return store.Object{}, fmt.Errorf("copy %s to %s: %w", src, dst, mapErr(err))
	}
	obj, err := s.Stat(ctx, dst)
	if err != nil {
		return store.Object{}, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	if obj.Size != from.Size {
		return store.Object{}, fmt.Errorf("copy %s to %s: %d bytes, source has %d: %w", src, dst, obj.Size, from.Size, store.ErrCorrupt)
	}
	return obj, nil
}

// Delete removes key and aborts any unfinished multipart upload to it (a
// killed publish leaves those behind).
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("delete %s: %w", key, mapErr(err))
	}
	if err := s.c.RemoveIncompleteUpload(ctx, s.bucket, key); err != nil {
		return fmt.Errorf("delete %s: abort unfinished upload: %w", key, mapErr(err))
	}
	return nil
}

// AbortIncomplete aborts the unfinished multipart uploads under prefix and
// returns their keys. MinIO lists unfinished uploads only by exact key, so
// there prefix must be a whole key; AWS S3 takes any prefix. MinIO also
// drops stale uploads by itself (after 24h by default).
func (s *Store) AbortIncomplete(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for up := range s.c.ListIncompleteUploads(ctx, s.bucket, prefix, true) {
		if up.Err != nil {
			return keys, fmt.Errorf("list unfinished uploads under %q: %w", prefix, mapErr(up.Err))
		}
		if err := s.c.RemoveIncompleteUpload(ctx, s.bucket, up.Key); err != nil {
			return keys, fmt.Errorf("abort upload of %s: %w", up.Key, mapErr(err))
		}
		keys = append(keys, up.Key)
	}
	return keys, nil
}

// URL presigns a GET of key, valid for expiry (default: the configured
// presign_expiry; at most 7 days, S3's limit).
func (s *Store) URL(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if expiry <= 0 {
		expiry = s.expiry
	}
	u, err := s.presign.PresignedGetObject(ctx, s.bucket, key, min(expiry, maxPresign), nil)
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", key, mapErr(err))
	}
	return u.String(), nil
}

// mapErr turns S3 error responses into the store's errors: missing keys are
// ErrNotFound, failed preconditions ErrExists, server-side trouble Transient.
func mapErr(err error) error {
	if err == nil || errors.Is(err, store.ErrCorrupt) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchKey", "NoSuchObject", "NoSuchUpload":
		return fmt.Errorf("%w (%s)", store.ErrNotFound, resp.Message)
	case "PreconditionFailed":
		return fmt.Errorf("%w (%s)", store.ErrExists, resp.Message)
	case "SlowDown", "SlowDownWrite", "SlowDownRead", "RequestTimeout", "InternalError",
		"ServiceUnavailable", "XMinioServerNotInitialized", "XMinioStorageFull", "IncompleteBody":
		return store.Transient(err)
	}
	if resp.StatusCode >= 500 {
		return store.Transient(err)
	}
	return err
}

// hashingReader computes the object's sha256 and each part's sha256 while
// minio-go reads it. When the last byte arrives and an expected digest was
// given but differs, it fails the read instead, so minio-go aborts the
// upload before completing it.
type hashingReader struct {
	r        io.Reader
	size     int64
	partSize int64
	want     string

	n     int64
	full  hash.Hash
	part  hash.Hash
	inPrt int64
	parts [][]byte
	final string
}

func newHashingReader(r io.Reader, size, partSize int64, want string) *hashingReader {
	return &hashingReader{r: r, size: size, partSize: partSize, want: want, full: sha256.New(), part: sha256.New()}
}

func (h *hashingReader) Read(p []byte) (int, error) {
	if rem := h.size - h.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	if len(p) == 0 {
		return 0, io.EOF
	}
	n, err := h.r.Read(p)
	h.add(p[:n])
	if h.n == h.size {
		h.final = hex.EncodeToString(h.full.Sum(nil))
		if h.want != "" && h.final != h.want {
			return 0, store.Permanent(fmt.Errorf("source sha256 %s, want %s: %w", h.final, h.want, store.ErrCorrupt))
		}
	}
	if err == io.EOF && h.n < h.size {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (h *hashingReader) add(b []byte) {
	h.full.Write(b)
	h.n += int64(len(b))
	for len(b) > 0 {
		take := min(int64(len(b)), h.partSize-h.inPrt)
		h.part.Write(b[:take])
		h.inPrt += take
		b = b[take:]
		if h.inPrt == h.partSize {
			h.parts = append(h.parts, h.part.Sum(nil))
			h.part.Reset()
			h.inPrt = 0
		}
	}
}

func (h *hashingReader) sum() string { return hex.EncodeToString(h.full.Sum(nil)) }

// checksum returns the S3 SHA-256 checksum the server should report: the
// plain digest for a single PUT, the digest of the part digests with "-N"
// for a multipart upload.
func (h *hashingReader) checksum() string {
	parts := h.parts
	if h.inPrt > 0 || len(parts) == 0 {
		parts = append(parts, h.part.Sum(nil))
	}
	if h.size <= h.partSize {
		return base64.StdEncoding.EncodeToString(h.full.Sum(nil))
	}
	c := sha256.New()
	for _, p := range parts {
		c.Write(p)
	}
	return base64.StdEncoding.EncodeToString(c.Sum(nil)) + "-" + strconv.Itoa(len(parts))
}
