package store

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ChannelPolicy says who may move which channel. Channels maps a channel
// name (or "*" for any channel it does not name) to the people allowed;
// an entry "@name" means every member of Groups[name], and "*" means
// anyone. A nil policy allows everyone; with a policy, a channel it does
// not name falls back to "*", and without that nobody may move it. Shape
// in YAML (docs/provenance.md), the same in a policy file and in the bot's
// configuration:
//
//	channels:
//	  stable: [alice, "@release-managers"]
//	  "*": [release-bot]
//	groups:
//	  release-managers: [bob, carol]
type ChannelPolicy struct {
	Channels map[string][]string `yaml:"channels"`
	Groups   map[string][]string `yaml:"groups,omitempty"`
}

// Allows reports whether who may move channel.
func (p *ChannelPolicy) Allows(channel, who string) bool {
	if p == nil {
		return true
	}
	people, ok := p.Channels[channel]
	if !ok {
		people = p.Channels["*"]
	}
	for _, w := range people {
		if w == who || w == "*" {
			return true
		}
		if g, ok := strings.CutPrefix(w, "@"); ok {
			for _, m := range p.Groups[g] {
				if m == who {
					return true
				}
			}
		}
	}
	return false
}

// Check reports every mistake in the policy: a channel key that is not a
// valid channel name nor "*", an empty entry, a group that is not defined.
// where names the file or section, for the messages.
func (p *ChannelPolicy) Check(where string) error {
	if p == nil {
		return nil
	}
	if len(p.Channels) == 0 {
		return fmt.Errorf("%s: channels is empty (want e.g. channels: {stable: [alice]})", where)
	}
	var errs []error
	for _, name := range sortedNames(p.Channels) {
		if name != "*" {
			if err := ValidChannel(name); err != nil {
				errs = append(errs, fmt.Errorf("%s: channels.%s: %w", where, name, err))
			}
		}
		for i, w := range p.Channels[name] {
			g, isGroup := strings.CutPrefix(w, "@")
			switch {
			case strings.TrimSpace(w) == "" || w == "@":
				errs = append(errs, fmt.Errorf("%s: channels.%s[%d] is empty", where, name, i))
			case isGroup && p.Groups[g] == nil:
				errs = append(errs, fmt.Errorf("%s: channels.%s[%d]: group %q is not defined under groups", where, name, i, g))
			}
		}
	}
	return errors.Join(errs...)
}

func sortedNames(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ChannelDeniedError says the channel policy does not let User move Channel.
type ChannelDeniedError struct{ Image, Channel, User string }

func (e *ChannelDeniedError) Error() string {
	return fmt.Sprintf("%s may not move channel %s of %s: the channel policy does not allow it", e.User, e.Channel, e.Image)
}

// ErrChannelDenied matches any *ChannelDeniedError with errors.Is.
var ErrChannelDenied = errors.New("channel move not allowed")

// Is makes errors.Is(err, ErrChannelDenied) true for a *ChannelDeniedError.
func (e *ChannelDeniedError) Is(target error) bool { return target == ErrChannelDenied }
