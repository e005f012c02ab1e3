package s3

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
)

// EnsureRetention makes the bucket expire MR builds after days: one
// lifecycle rule (ID imagebot-mr-retention) filtered on the object tag
// imagebot-build=mr, which Put and Copy give every object under
// <image>/mr/. A tag rather than a prefix because S3 lifecycle filters match
// prefixes from the start of the key and the layout puts the image name
// first: one tag rule covers every image, present and future, without
// rewriting the bucket's configuration whenever an image appears. Other
// rules in the bucket's configuration are kept. days == 0 removes the rule.
func (s *Store) EnsureRetention(ctx context.Context, days int) error {
	if days < 0 {
		return fmt.Errorf("storage.s3.retention_days: %d is negative", days)
	}
	cfg, err := s.c.GetBucketLifecycle(ctx, s.bucket)
	if err != nil {
		if minio.ToErrorResponse(err).Code != "NoSuchLifecycleConfiguration" {
			return fmt.Errorf("read lifecycle of bucket %s: %w", s.bucket, mapErr(err))
		}
		cfg = lifecycle.NewConfiguration()
	}
	rules := cfg.Rules[:0]
	for _, r := range cfg.Rules {
		if r.ID != RetentionRuleID {
			rules = append(rules, r)
		}
	}
	if days > 0 {
		rules = append(rules, lifecycle.Rule{
			ID:         RetentionRuleID,
			Status:     "Enabled",
			RuleFilter: lifecycle.Filter{Tag: lifecycle.Tag{Key: TagKey, Value: "mr"}},
			Expiration: lifecycle.Expiration{Days: lifecycle.ExpirationDays(days)},
		})
	}
	cfg.Rules = rules
	if err := s.c.SetBucketLifecycle(ctx, s.bucket, cfg); err != nil {
		return fmt.Errorf("set lifecycle of bucket %s: %w", s.bucket, mapErr(err))
	}
	s.log.Info().Str("bucket", s.bucket).Int("retention_days", days).Msg("MR build retention set")
	return nil
}

// Retention returns the days after which MR builds expire (0: no rule).
func (s *Store) Retention(ctx context.Context) (int, error) {
	cfg, err := s.c.GetBucketLifecycle(ctx, s.bucket)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchLifecycleConfiguration" {
			return 0, nil
		}
		return 0, fmt.Errorf("read lifecycle of bucket %s: %w", s.bucket, mapErr(err))
	}
	for _, r := range cfg.Rules {
		if r.ID == RetentionRuleID && r.Status == "Enabled" {
			return int(r.Expiration.Days), nil
		}
	}
	return 0, nil
}
