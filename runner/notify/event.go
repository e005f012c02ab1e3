// Package notify owns imagebot's notifications: the events (release
// published, release revoked, build failed on the default branch, base
// outdated, cascade merge request opened), the sinks that deliver them (a
// generic webhook whose JSON body is signed with HMAC-SHA256 like GitHub's
// webhooks, and Slack's incoming-webhook format), their configuration, and
// the verification a receiver does. One Send is one attempt: retries belong
// to the caller (the bot's outbox), which a *DeliveryError tells whether
// another attempt can succeed. Secrets (webhook secrets, Slack URLs) come
// from files or the environment, never from YAML, and never reach an error
// or a log.
package notify

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/store"
)

// Kind names an event.
type Kind string

const (
	ReleasePublished Kind = "release.published"
	ReleaseRevoked   Kind = "release.revoked"
	BuildFailed      Kind = "build.failed" // a build on the default branch
	BaseOutdated     Kind = "base.outdated"
	CascadeOpened    Kind = "cascade.opened" // a bump merge request was opened
)

// Kinds are every event kind, in the order documentation lists them.
var Kinds = []Kind{ReleasePublished, ReleaseRevoked, BuildFailed, BaseOutdated, CascadeOpened}

func knownKind(k Kind) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Event is one notification. It is the generic webhook's JSON body as is
// (docs/notifications.md); empty fields are left out.
type Event struct {
	// ID is unique per event and stays the same over retries, so a
	// receiver can drop a delivery it has already seen.
	ID         string    `json:"id"`
	Kind       Kind      `json:"event"`
	At         time.Time `json:"at"`
	Image      string    `json:"image,omitempty"`
	Version    string    `json:"version,omitempty"`
	Repository string    `json:"repository,omitempty"`
	Actor      string    `json:"actor,omitempty"`  // who released, revoked, merged
	Reason     string    `json:"reason,omitempty"` // why revoked, why the build failed
	BuildID    string    `json:"build_id,omitempty"`
	// Base is the base release ("base9@1.2.0") an outdated or cascade event is about.
	Base string `json:"base,omitempty"`
	// Images are the children an outdated or cascade event is about.
	Images []string `json:"images,omitempty"`
	// URL links to the page of the release or build, or to the merge request.
	URL string `json:"url,omitempty"`
}

// NewID returns a random event id.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Summary is the event in one line of plain text.
func (e Event) Summary() string {
	ref := e.Image
	if e.Version != "" {
		ref += "@" + e.Version
	}
	switch e.Kind {
	case ReleasePublished:
		return fmt.Sprintf("Released %s", ref)
	case ReleaseRevoked:
		return fmt.Sprintf("Revoked %s by %s: %s", ref, e.Actor, e.Reason)
	case BuildFailed:
		return fmt.Sprintf("Build of %s failed on the default branch: %s", ref, e.Reason)
	case BaseOutdated:
		return fmt.Sprintf("%d image(s) built on an older release than %s: %v", len(e.Images), e.Base, e.Images)
	case CascadeOpened:
		if e.Base == "" {
			return fmt.Sprintf("Opened a merge request refreshing %v: %s", e.Images, e.Reason)
		}
		return fmt.Sprintf("Opened a merge request bumping %v onto %s", e.Images, e.Base)
	}
	return fmt.Sprintf("%s %s", e.Kind, ref)
}

// Revoked is one release.revoked event per release a revocation newly
// revoked (descendants included); page is the web page's root URL ("" none).
func Revoked(revoked []store.Revocation, repository, page string) []Event {
	out := make([]Event, 0, len(revoked))
	for _, r := range revoked {
		ev := Event{ID: NewID(), Kind: ReleaseRevoked, At: r.At, Image: r.Image, Version: r.Version,
			Repository: repository, Actor: r.By, Reason: r.Reason}
		if r.Cause != "" {
			ev.Reason += " (built on revoked " + r.Cause + ")"
		}
		if page != "" {
			ev.URL = strings.TrimSuffix(page, "/") + "/images/" + r.Image + "/" + r.Version
		}
		out = append(out, ev)
	}
	return out
}
