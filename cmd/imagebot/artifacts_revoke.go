package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/vsphere"
	"github.com/imagebot/imagebot/runner/withdraw"
)

// actor names who revokes or promotes: IMAGEBOT_ACTOR, else the login name.
func actor() (string, error) {
	if a := strings.TrimSpace(os.Getenv(envActor)); a != "" {
		return a, nil
	}
	u, err := user.Current()
	if err != nil || u.Username == "" {
		return "", fmt.Errorf("who is acting: set %s (%v)", envActor, err)
	}
	return u.Username, nil
}

// releaseArg parses "image@version" or "image@channel" into a release.
func releaseArg(ctx context.Context, st store.Store, arg string) (store.Ref, error) {
	image, version, ok := strings.Cut(arg, "@")
	if !ok || image == "" || version == "" || version == "latest" {
		return store.Ref{}, fmt.Errorf("%w: %q: want image@version, e.g. rocky9@1.2.0", errUsage, arg)
	}
	ref, err := store.Resolve(ctx, st, image, version)
	if err != nil {
		return store.Ref{}, err
	}
	if ref.Kind != store.KindRelease {
		return store.Ref{}, fmt.Errorf("%w: %s is a merge-request build, not a release", errUsage, arg)
	}
	return ref, nil
}

// revokeRelease writes the revocation of a release (and of its
// descendants when asked) and reports the channels it moved back.
func revokeRelease(ctx context.Context, st store.Store, arg string, lf *lifecycleFlags, stdout io.Writer) error {
	if strings.TrimSpace(*lf.reason) == "" {
		return fmt.Errorf("%w: revoke needs --reason TEXT (it is stored and shown)", errUsage)
	}
	ref, err := releaseArg(ctx, st, arg)
	if err != nil {
		return err
	}
	who, err := actor()
	if err != nil {
		return err
	}
	lib, wcfg, err := withdrawFromEnv()
	if err != nil {
		return err
	}
	res, err := withdraw.Revoke(ctx, st, store.RevokeRequest{Release: ref, By: who, Reason: *lf.reason, Descendants: *lf.descendants, Now: time.Now()}, lib, wcfg)
	for _, r := range res.Revoked {
		fmt.Fprintf(stdout, "revoked %s@%s\n", r.Image, r.Version)
	}
	for _, r := range res.Already {
		fmt.Fprintf(stdout, "already revoked: %s\n", r)
	}
	for _, c := range res.Channels {
		to := c.Version
		if to == "" {
			to = "nothing (every release it held is revoked)"
		}
		fmt.Fprintf(stdout, "channel %s@%s moved back to %s\n", c.Image, c.Name, to)
	}
	fmt.Fprint(stdout, res.Summary())
	return err
}

// withdrawFromEnv is how revoke withdraws content library items: the
// vCenter of IMAGEBOT_VSPHERE_* (none when IMAGEBOT_VSPHERE_URL is unset)
// and IMAGEBOT_REVOKE_WITHDRAW=delete|rename.
func withdrawFromEnv() (withdraw.Library, withdraw.Config, error) {
	cfg := withdraw.Config{Mode: os.Getenv(envRevokeWithdraw)}
	if err := cfg.Check(); err != nil {
		return nil, cfg, fmt.Errorf("%s: %w", envRevokeWithdraw, err)
	}
	if os.Getenv("IMAGEBOT_VSPHERE_URL") == "" {
		return nil, cfg, nil
	}
	v, err := vsphere.FromEnv(os.Environ())
	if err != nil {
		return nil, cfg, err
	}
	return withdraw.VSphere{Config: v}, cfg, nil
}

const envRevokeWithdraw = "IMAGEBOT_REVOKE_WITHDRAW"
