// Package backend opens the store a configuration names (a local directory
// or an S3 bucket) and runs the retention that backend needs: a periodic
// sweep for a local directory; nothing for S3, whose bucket lifecycle rule
// expires MR builds by itself.
package backend

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
	"github.com/imagebot/imagebot/runner/store/s3"
)

// Open validates cfg and opens its backend. For S3 it checks the bucket
// (creating it when configured) and sets the retention rule. log may be nil.
func Open(ctx context.Context, cfg store.Config, log *zerolog.Logger) (store.Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Local != nil {
		return local.New(*cfg.Local)
	}
	return s3.New(ctx, *cfg.S3, log)
}

// Describe names the store for logs and status pages, without secrets.
func Describe(cfg store.Config) string {
	switch {
	case cfg.Local != nil:
		return "local directory " + cfg.Local.Dir
	case cfg.S3 != nil:
		scheme := "https"
		if cfg.S3.Insecure {
			scheme = "http"
		}
		return fmt.Sprintf("s3 bucket %s at %s://%s", cfg.S3.Bucket, scheme, cfg.S3.Endpoint)
	}
	return "no store"
}

// RunRetention sweeps expired MR builds of a local store every interval
// (and once at start) until ctx ends. For S3, or without retention_days, it
// returns at once.
func RunRetention(ctx context.Context, st store.Store, cfg store.Config, every time.Duration, log zerolog.Logger) {
	l, ok := st.(*local.Store)
	if !ok || cfg.Local == nil || cfg.Local.RetentionDays <= 0 {
		return
	}
	keep := time.Duration(cfg.Local.RetentionDays) * 24 * time.Hour
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		removed, err := l.Sweep(ctx, keep)
		if err != nil {
			log.Warn().Err(err).Msg("sweep of expired MR builds failed")
		} else if len(removed) > 0 {
			log.Info().Strs("builds", removed).Msg("expired MR builds removed")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
