// Package withdraw owns what a revocation does beyond the bucket: it
// revokes through runner/store (optionally with every release built on the
// revoked one), then takes each newly revoked release's copies published
// outside the bucket out of service. Today those are vSphere content library
// items, recorded in the release manifest's "published" list: each is
// deleted, or renamed when the configuration says so (it then stays for
// forensics but no longer matches the name deployments ask for).
package withdraw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/vsphere"
)

// Modes of withdrawal.
const (
	ModeDelete = "delete"
	ModeRename = "rename"
)

// DefaultSuffix is appended to a renamed item's name.
const DefaultSuffix = "-REVOKED"

// Config says how revoked content library items are withdrawn. In the
// bot's configuration it is the `revocation:` section.
type Config struct {
	// Mode is "delete" (the default, also "") or "rename".
	Mode string `yaml:"mode,omitempty"`
	// Suffix is appended to a renamed item; "" means DefaultSuffix.
	Suffix string `yaml:"suffix,omitempty"`
}

// Check reports a mode that is neither delete nor rename.
func (c Config) Check() error {
	switch c.Mode {
	case "", ModeDelete, ModeRename:
		return nil
	}
	return fmt.Errorf("revocation.mode %q: want delete or rename", c.Mode)
}

// renameTo is the new name of item, or "" to delete it.
func (c Config) renameTo(item string) string {
	if c.Mode != ModeRename {
		return ""
	}
	s := c.Suffix
	if s == "" {
		s = DefaultSuffix
	}
	return item + s
}

// Library withdraws content library items: vsphere.WithdrawOVA against one
// vCenter (VSphere), or a test double.
type Library interface {
	Withdraw(ctx context.Context, library, item, renameTo string) (vsphere.Location, error)
}

// VSphere is the Library of one vCenter.
type VSphere struct{ Config vsphere.Config }

// Withdraw deletes or renames the item (vsphere.WithdrawOVA).
func (v VSphere) Withdraw(ctx context.Context, library, item, renameTo string) (vsphere.Location, error) {
	return vsphere.WithdrawOVA(ctx, v.Config, library, item, renameTo)
}

// Withdrawal is what happened to one published copy of a revoked release.
type Withdrawal struct {
	Release store.Ref
	From    manifest.Location // as the manifest recorded it
	// RenamedTo is the item's new name ("" when deleted or not found).
	RenamedTo string
	// Missing says the item was no longer in the library.
	Missing bool
}

func (w Withdrawal) String() string {
	switch {
	case w.Missing:
		return fmt.Sprintf("%s: %s was already gone", w.Release, w.From.Where)
	case w.RenamedTo != "":
		return fmt.Sprintf("%s: renamed %s to %s", w.Release, w.From.Where, w.RenamedTo)
	}
	return fmt.Sprintf("%s: deleted %s", w.Release, w.From.Where)
}

// Result is the revocation's effect in the bucket and outside it.
type Result struct {
	store.RevokeResult
	Withdrawn []Withdrawal
	// Left are published copies nothing withdrew (no Library configured,
	// or a kind of publication this package does not know).
	Left []Withdrawal
}

// Revoke revokes req.Release (and its descendants when req.Descendants)
// and withdraws the content library items of every release it newly
// revoked. lib may be nil when no vCenter is configured: the items are
// then reported in Left. A failed withdrawal does not undo the revocation;
// the error names each item that could not be withdrawn, and the others
// are still tried.
func Revoke(ctx context.Context, st store.Store, req store.RevokeRequest, lib Library, cfg Config) (Result, error) {
	var res Result
	if err := cfg.Check(); err != nil {
		return res, err
	}
	rr, err := store.Revoke(ctx, st, req)
	res.RevokeResult = rr
	if err != nil {
		return res, err
	}
	var errs []error
	for _, r := range rr.Revoked {
		ref := r.Ref()
		locs, err := published(ctx, st, ref)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, loc := range locs {
			w, done, err := withdrawOne(ctx, lib, cfg, ref, loc)
			switch {
			case err != nil:
				errs = append(errs, err)
			case done:
				res.Withdrawn = append(res.Withdrawn, w)
			default:
				res.Left = append(res.Left, w)
			}
		}
	}
	return res, errors.Join(errs...)
}

func withdrawOne(ctx context.Context, lib Library, cfg Config, ref store.Ref, loc manifest.Location) (Withdrawal, bool, error) {
	w := Withdrawal{Release: ref, From: loc}
	if loc.Kind != vsphere.ManifestKind || lib == nil {
		return w, false, nil
	}
	where, err := vsphere.ParseLocation(loc.Where)
	if err != nil {
		return w, false, fmt.Errorf("withdraw %s: %w", ref, err)
	}
	rename := cfg.renameTo(where.Item)
	got, err := lib.Withdraw(ctx, where.Library, where.Item, rename)
	if err != nil {
		return w, false, fmt.Errorf("withdraw %s from %s: %w", ref, loc.Where, err)
	}
	w.Missing = got.ItemID == ""
	if !w.Missing {
		w.RenamedTo = rename
	}
	zerolog.Ctx(ctx).Info().Stringer("release", ref).Str("where", loc.Where).Str("renamed_to", w.RenamedTo).
		Bool("missing", w.Missing).Msg("withdrew a revoked release's published copy")
	return w, true, nil
}

// published reads the "published" list of a release's manifest.
func published(ctx context.Context, st store.Store, ref store.Ref) ([]manifest.Location, error) {
	rc, _, err := st.Get(ctx, ref.Key(store.ManifestName))
	if err != nil {
		return nil, fmt.Errorf("withdraw %s: read its manifest: %w", ref, err)
	}
	defer rc.Close()
	var m struct {
		Published []manifest.Location `json:"published"`
	}
	b, err := io.ReadAll(io.LimitReader(rc, 8<<20))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return nil, fmt.Errorf("withdraw %s: decode %s: %w", ref, ref.Key(store.ManifestName), err)
	}
	return m.Published, nil
}

// Summary is one line per withdrawal and per copy left, for CLI output.
func (r Result) Summary() string {
	var b strings.Builder
	for _, w := range r.Withdrawn {
		b.WriteString("withdrew " + w.String() + "\n")
	}
	for _, w := range r.Left {
		fmt.Fprintf(&b, "left in place (no %s configured): %s %s\n", w.From.Kind, w.Release, w.From.Where)
	}
	return b.String()
}
