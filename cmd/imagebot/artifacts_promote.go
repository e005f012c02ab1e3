package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imagebot/imagebot/runner/store"
)

// loadPolicy reads a channel policy file (docs/provenance.md); nil
// (everyone may) without a file.
func loadPolicy(path string) (*store.ChannelPolicy, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("channel policy: %w", err)
	}
	var p store.ChannelPolicy
	if err := yaml.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("channel policy %s: %w", path, err)
	}
	if err := p.Check("channel policy " + path); err != nil {
		return nil, err
	}
	return &p, nil
}

// promoteChannel points a channel at a release, if the policy allows who.
func promoteChannel(ctx context.Context, st store.Store, arg, channel string, lf *lifecycleFlags, stdout io.Writer) error {
	if err := store.ValidChannel(channel); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	policy, err := loadPolicy(*lf.policy)
	if err != nil {
		return err
	}
	who, err := actor()
	if err != nil {
		return err
	}
	ref, err := releaseArg(ctx, st, arg)
	if err != nil {
		return err
	}
	c, err := store.SetChannel(ctx, st, store.ChannelRequest{Release: ref, Channel: channel, By: who, Policy: policy, Now: time.Now()})
	if errors.Is(err, store.ErrChannelDenied) {
		return fmt.Errorf("%w (policy %s)", err, *lf.policy)
	}
	if err != nil {
		return err
	}
	from := c.History[len(c.History)-1].From
	if from == "" {
		from = "nothing"
	}
	fmt.Fprintf(stdout, "%s@%s -> %s (was %s), moved by %s\n", c.Image, c.Name, c.Version, from, who)
	return nil
}
