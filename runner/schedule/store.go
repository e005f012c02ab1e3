package schedule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/imagebot/imagebot/runner/store"
)

// LedgerKey is where StoreLedger keeps an image's last handled tick.
func LedgerKey(image string) string { return image + "/refresh/last.json" }

// ledgerEntry is the JSON at LedgerKey (docs/provenance.md's bucket layout).
type ledgerEntry struct {
	Image      string    `json:"image"`
	Tick       time.Time `json:"tick"`
	RecordedAt time.Time `json:"recorded_at"`
}

// StoreLedger keeps the ledger as one small object per image in the bucket,
// readable by any S3 client.
type StoreLedger struct {
	Store store.Store
	Now   func() time.Time // nil: time.Now
}

// Last is the recorded tick (zero when none).
func (l StoreLedger) Last(ctx context.Context, image string) (time.Time, error) {
	rc, _, err := l.Store.Get(ctx, LedgerKey(image))
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read %s: %w", LedgerKey(image), err)
	}
	defer rc.Close()
	var e ledgerEntry
	b, err := io.ReadAll(io.LimitReader(rc, 1<<16))
	if err == nil {
		err = json.Unmarshal(b, &e)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read %s: %w", LedgerKey(image), err)
	}
	return e.Tick, nil
}

// Record stores tick as image's last handled tick. Two replicas recording
// the same tick write the same thing; an older tick never replaces a newer.
func (l StoreLedger) Record(ctx context.Context, image string, tick time.Time) error {
	if last, err := l.Last(ctx, image); err != nil || !last.Before(tick) {
		return err
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	b, err := json.MarshalIndent(ledgerEntry{Image: image, Tick: tick.UTC(), RecordedAt: now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	if _, err := l.Store.Put(ctx, LedgerKey(image), bytes.NewReader(b), int64(len(b)), store.PutOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("record the refresh of %s: %w", image, err)
	}
	return nil
}

// StoreReleases reads last releases from the bucket: the newest
// non-revoked release (store.Latest) and when its manifest was written.
type StoreReleases struct{ Store store.Store }

// LastRelease implements Releases.
func (r StoreReleases) LastRelease(ctx context.Context, image string) (string, time.Time, bool, error) {
	ref, err := store.Latest(ctx, r.Store, image)
	if errors.Is(err, store.ErrNotFound) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, err
	}
	obj, err := r.Store.Stat(ctx, ref.Key(store.ManifestName))
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("stat the manifest of %s: %w", ref, err)
	}
	return ref.Version, obj.Modified, true, nil
}
