package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

const channelsDir = "channels"

var channelRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// Channel is a named pointer to one release of an image ("stable",
// "candidate", any name), with every move it made. Stored as JSON at
// ChannelKey; documented in docs/provenance.md.
type Channel struct {
	Image   string `json:"image"`
	Name    string `json:"channel"`
	Version string `json:"version"` // "" when every release it held is revoked
	// History lists the moves, oldest first.
	History []ChannelMove `json:"history"`
}

// ChannelMove is one move of a channel.
type ChannelMove struct {
	Version string    `json:"version"` // "" when moved to nothing
	From    string    `json:"from,omitempty"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	// Reason says why a move was not a promotion ("revocation of 1.3.0").
	Reason string `json:"reason,omitempty"`
}

// ChannelsPrefix is where an image's channels live.
func ChannelsPrefix(image string) string { return image + "/" + channelsDir + "/" }

// ChannelKey is the key of a channel.
func ChannelKey(image, name string) string { return ChannelsPrefix(image) + name + ".json" }

// ValidChannel reports what is wrong with a channel name: it must be a
// lowercase word that cannot be read as a version, "latest" or an MR build.
func ValidChannel(name string) error {
	switch {
	case !channelRE.MatchString(name):
		return fmt.Errorf("channel %q: want a lowercase letter, then letters, digits, '_' or '-'", name)
	case name == "latest":
		return fmt.Errorf("channel %q: latest is the newest release, not a channel", name)
	case mrNameRE.MatchString(name):
		return fmt.Errorf("channel %q: reads as a merge-request build", name)
	}
	if _, err := semver.NewVersion(name); err == nil {
		return fmt.Errorf("channel %q: reads as a version", name)
	}
	return nil
}

var mrNameRE = regexp.MustCompile(`^mr[0-9]`)

// ReadChannel returns a channel; ErrNotFound when it was never set.
func ReadChannel(ctx context.Context, st Store, image, name string) (Channel, error) {
	if err := ValidChannel(name); err != nil {
		return Channel{}, err
	}
	var c Channel
	if err := getJSON(ctx, st, ChannelKey(image, name), &c); err != nil {
		return Channel{}, fmt.Errorf("channel %s@%s: %w", image, name, err)
	}
	return c, nil
}

// Channels returns an image's channels, by name.
func Channels(ctx context.Context, st Store, image string) ([]Channel, error) {
	objs, err := st.List(ctx, ChannelsPrefix(image))
	if err != nil {
		return nil, fmt.Errorf("list the channels of %s: %w", image, err)
	}
	var out []Channel
	for _, o := range objs {
		name, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, ChannelsPrefix(image)), ".json")
		if !ok || ValidChannel(name) != nil {
			continue
		}
		c, err := ReadChannel(ctx, st, image, name)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ChannelRequest asks to point a channel of an image at a release.
type ChannelRequest struct {
	Release Ref    // a published, non-revoked release
	Channel string // e.g. "stable"
	By      string // who moves it: checked against Policy and recorded
	// Policy says who may move which channel; nil allows everyone.
	Policy *ChannelPolicy
	Now    time.Time
}

// SetChannel is the one code path that moves a channel on request: it
// checks the policy (a *ChannelDeniedError names the channel and the user),
// that the release is published and not revoked, then records who moved it
// and when. Two writers racing on the same channel: the last write wins
// (the store has no compare-and-swap). Revocations move channels back
// through fallBackChannels, which no policy stops.
func SetChannel(ctx context.Context, st Store, req ChannelRequest) (Channel, error) {
	release, name := req.Release, req.Channel
	if err := ValidChannel(name); err != nil {
		return Channel{}, err
	}
	if strings.TrimSpace(req.By) == "" {
		return Channel{}, fmt.Errorf("promote %s to %s: who moves the channel is required", release, name)
	}
	if !req.Policy.Allows(name, req.By) {
		return Channel{}, &ChannelDeniedError{Image: release.Image, Channel: name, User: req.By}
	}
	if err := release.Validate(); err != nil || release.Kind != KindRelease {
		return Channel{}, fmt.Errorf("promote %s to %s: want a release (image@version)", release, name)
	}
	if _, err := st.Stat(ctx, release.Key(ManifestName)); err != nil {
		return Channel{}, fmt.Errorf("promote %s to %s: no such release: %w", release, name, err)
	}
	if err := CheckBase(ctx, st, release.Image, release.Version); err != nil {
		return Channel{}, fmt.Errorf("promote %s to %s: %w", release, name, err)
	}
	c, err := ReadChannel(ctx, st, release.Image, name)
	if errors.Is(err, ErrNotFound) {
		c, err = Channel{Image: release.Image, Name: name}, nil
	}
	if err != nil {
		return Channel{}, err
	}
	c.History = append(c.History, ChannelMove{Version: release.Version, From: c.Version, By: req.By, At: req.Now.UTC()})
	c.Version = release.Version
	if err := writeChannel(ctx, st, c); err != nil {
		return Channel{}, err
	}
	return c, nil
}

func writeChannel(ctx context.Context, st Store, c Channel) error {
	body, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if _, err := putJSON(ctx, st, ChannelKey(c.Image, c.Name), append(body, '\n'), false); err != nil {
		return fmt.Errorf("write channel %s@%s: %w", c.Image, c.Name, err)
	}
	return nil
}

// fallBackChannels moves each channel of image that points at a revoked
// release back to the newest release in its history that is not revoked
// (or to nothing), and returns the channels it moved.
func fallBackChannels(ctx context.Context, st Store, image, by string, now time.Time) ([]Channel, error) {
	revoked, err := revokedVersions(ctx, st, image)
	if err != nil {
		return nil, err
	}
	chans, err := Channels(ctx, st, image)
	if err != nil {
		return nil, err
	}
	var moved []Channel
	for _, c := range chans {
		if c.Version == "" || !revoked[c.Version] {
			continue
		}
		back := ""
		for i := len(c.History) - 1; i >= 0; i-- {
			if v := c.History[i].Version; v != "" && !revoked[v] {
				back = v
				break
			}
		}
		c.History = append(c.History, ChannelMove{Version: back, From: c.Version, By: by, At: now.UTC(),
			Reason: "revocation of " + c.Version})
		c.Version = back
		if err := writeChannel(ctx, st, c); err != nil {
			return moved, err
		}
		moved = append(moved, c)
	}
	return moved, nil
}
