// Package ctxio lets long copies (hashing, exporting, uploading disk images)
// stop when their context ends, by checking the context before every read.
package ctxio

import (
	"context"
	"io"
)

// Reader reads from r until ctx ends; after that every Read fails with
// ctx.Err().
func Reader(ctx context.Context, r io.Reader) io.Reader { return reader{ctx, r} }

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
