package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imagebot/imagebot/runner/store"
)

// policyFile is the shape of a channel policy file (docs/provenance.md).
type policyFile struct {
	Channels store.ChannelPolicy `yaml:"channels"`
}

// loadPolicy reads a channel policy; nil (everyone may) without a file.
func loadPolicy(path string) (store.ChannelPolicy, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("channel policy: %w", err)
	}
	var pf policyFile
	if err := yaml.Unmarshal(data, &pf); err != nil {
		return nil, fmt.Errorf("channel policy %s: %w", path, err)
	}
	if pf.Channels == nil {
		return nil, fmt.Errorf("channel policy %s: no channels: key (want channels: {stable: [alice]})", path)
	}
	return pf.Channels, nil
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
	if !policy.Allows(channel, who) {
		return fmt.Errorf("%s may not move channel %s (policy %s)", who, channel, *lf.policy)
	}
	ref, err := releaseArg(ctx, st, arg)
	if err != nil {
		return err
	}
	c, err := store.SetChannel(ctx, st, ref, channel, who, time.Now())
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
