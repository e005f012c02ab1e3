package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/imagebot/imagebot/runner/store"
)

// defaultStreams is how many parts are sent at once. Upload memory is
// (streams+1) parts: one being read while the others are on the wire.
const defaultStreams = 4

// chunk is one part in flight. Its buffer goes back to the pool once both
// the whole-object hasher and the sender are done with it.
type chunk struct {
	n    int
	data []byte
	refs atomic.Int32
	pool chan []byte
}

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 {
		c.pool <- c.data[:cap(c.data)]
	}
}

// upload is the result of a parallel multipart upload: the object's hex
// sha256 and the S3 composite SHA-256 checksum the server must report.
type upload struct {
	sum, checksum string
}

// putParallel sends size bytes of r to key as a multipart upload whose
// parts go out streams at a time. One goroutine reads parts in order into a
// bounded pool of buffers; one hashes the whole object in order while the
// senders hash and send their part, so hashing overlaps sending. The upload
// is completed only when the whole object's sha256 equals want (when
// given); on any error it is aborted, so no object appears.
func (s *Store) putParallel(ctx context.Context, key string, r io.Reader, size, partSize int64, want string, po minio.PutObjectOptions) (upload, error) {
	core := minio.Core{Client: s.c}
	// Ask for a composite SHA-256 checksum over the parts; Core does not
	// derive this header from po.Checksum.
	meta := make(map[string]string, len(po.UserMetadata)+1)
	for k, v := range po.UserMetadata {
		meta[k] = v
	}
	meta["X-Amz-Checksum-Algorithm"] = minio.ChecksumSHA256.String()
	po.UserMetadata = meta
	id, err := core.NewMultipartUpload(ctx, s.bucket, key, po)
	if err != nil {
		return upload{}, mapErr(err)
	}
	parts, sum, err := s.sendParts(ctx, core, key, id, r, size, partSize)
	if err == nil && want != "" && sum != want {
		err = store.Permanent(fmt.Errorf("source sha256 %s, want %s: %w", sum, want, store.ErrCorrupt))
	}
	if err == nil {
		_, err = core.CompleteMultipartUpload(ctx, s.bucket, key, id, parts, minio.PutObjectOptions{})
		err = mapErr(err)
	}
	if err != nil {
		if aerr := core.AbortMultipartUpload(context.WithoutCancel(ctx), s.bucket, key, id); aerr != nil {
			s.log.Warn().Err(aerr).Str("key", key).Msg("abort multipart upload")
		}
		return upload{}, err
	}
	c := sha256.New()
	for _, p := range parts {
		d, _ := base64.StdEncoding.DecodeString(p.ChecksumSHA256)
		c.Write(d)
	}
	return upload{sum: sum, checksum: base64.StdEncoding.EncodeToString(c.Sum(nil)) + "-" + strconv.Itoa(len(parts))}, nil
}

// sendParts reads, hashes and sends every part; it returns the parts to
// complete in order and the whole object's hex sha256.
func (s *Store) sendParts(ctx context.Context, core minio.Core, key, id string, r io.Reader, size, partSize int64) ([]minio.CompletePart, string, error) {
	nparts := int((size + partSize - 1) / partSize)
	streams := min(s.streams, nparts)
	pool := make(chan []byte, streams+1)
	for range streams + 1 {
		pool <- nil // buffers are allocated on first use
	}
	parts := make([]minio.CompletePart, nparts)
	toHash := make(chan *chunk, streams+1)
	toSend := make(chan *chunk, streams+1)
	g, gctx := errgroup.WithContext(ctx)
	full := sha256.New()
	g.Go(func() error {
		for c := range toHash {
			full.Write(c.data)
			c.release()
		}
		return nil
	})
	for range streams {
		g.Go(func() error {
			for c := range toSend {
				p, err := s.sendPart(gctx, core, key, id, c)
				c.release()
				if err != nil {
					return err
				}
				parts[c.n-1] = p
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(toHash)
		defer close(toSend)
		return readParts(gctx, r, size, partSize, pool, toHash, toSend)
	})
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	return parts, hex.EncodeToString(full.Sum(nil)), nil
}

// readParts fills buffers from the pool with consecutive parts of r and
// hands each to the hasher and to a sender.
func readParts(ctx context.Context, r io.Reader, size, partSize int64, pool chan []byte, toHash, toSend chan<- *chunk) error {
	for n, off := 1, int64(0); off < size; n, off = n+1, off+partSize {
		var buf []byte
		select {
		case buf = <-pool:
		case <-ctx.Done():
			return ctx.Err()
		}
		if buf == nil {
			buf = make([]byte, partSize)
		}
		buf = buf[:min(partSize, size-off)]
		if _, err := io.ReadFull(r, buf); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read part %d: %w", n, err)
		}
		c := &chunk{n: n, data: buf, pool: pool}
		c.refs.Store(2)
		// toHash and toSend hold as many chunks as the pool has
		// buffers, so these sends never block for long.
		select {
		case toHash <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case toSend <- c:
		case <-ctx.Done():
			c.release()
			return ctx.Err()
		}
	}
	return nil
}

// sendPart sends one part with its SHA-256 checksum, which the server
// checks against the bytes it received.
func (s *Store) sendPart(ctx context.Context, core minio.Core, key, id string, c *chunk) (minio.CompletePart, error) {
	d := sha256.Sum256(c.data)
	sum := base64.StdEncoding.EncodeToString(d[:])
	hdr := make(map[string][]string, 2)
	hdr[minio.ChecksumSHA256.Key()] = []string{sum}
	hdr["X-Amz-Sdk-Checksum-Algorithm"] = []string{minio.ChecksumSHA256.String()}
	p, err := core.PutObjectPart(ctx, s.bucket, key, id, c.n, bytes.NewReader(c.data), int64(len(c.data)),
		minio.PutObjectPartOptions{CustomHeader: hdr, DisableContentSha256: true})
	if err != nil {
		return minio.CompletePart{}, fmt.Errorf("part %d: %w", c.n, mapErr(err))
	}
	if p.ChecksumSHA256 != "" && p.ChecksumSHA256 != sum {
		return minio.CompletePart{}, fmt.Errorf("part %d: server checksum %s, sent %s: %w", c.n, p.ChecksumSHA256, sum, store.ErrCorrupt)
	}
	return minio.CompletePart{PartNumber: c.n, ETag: p.ETag, ChecksumSHA256: sum}, nil
}
