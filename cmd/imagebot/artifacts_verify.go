package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/imagebot/imagebot/runner/attest"
	"github.com/imagebot/imagebot/runner/store"
)

// Environment variables that stand for the provenance flags.
const (
	envProvenanceKey  = "IMAGEBOT_PROVENANCE_KEY"        // public key file(s), comma-separated
	envProvenanceRepo = "IMAGEBOT_PROVENANCE_REPOSITORY" // the repository builds must come from
	envChannelPolicy  = "IMAGEBOT_CHANNEL_POLICY"        // YAML file: who may move which channel
	envActor          = "IMAGEBOT_ACTOR"                 // who revokes or promotes
)

const lifecycleUsage = `  imagebot artifacts verify FILE [--attestation ENVELOPE]       check a file's signed provenance offline
  imagebot artifacts revoke image@version --reason TEXT [--descendants]
  imagebot artifacts promote image@version CHANNEL                point a channel (stable, candidate, ...) at a release
version may also be a channel: rocky9@stable.
provenance: --key PUBLIC.pem (or ` + envProvenanceKey + `) makes get and verify check the signed
provenance and --repo URL (or ` + envProvenanceRepo + `) the repository it names; get refuses a
revoked release without --allow-revoked. revoke withdraws the releases' content library items
from the vCenter of IMAGEBOT_VSPHERE_* (` + envRevokeWithdraw + `=delete|rename). promote obeys --policy FILE (or ` + envChannelPolicy + `);
who acts is ` + envActor + ` or the login name.`

// lifecycleFlags are the flags of get's verification, verify, revoke and promote.
type lifecycleFlags struct {
	keys, repo, attestation, reason, policy *string
	allowRevoked, descendants               *bool
}

// lifecycleValueFlags take a value (for reorderArtifactFlags).
var lifecycleValueFlags = map[string]bool{"key": true, "repo": true, "attestation": true, "reason": true, "policy": true}

func addLifecycleFlags(fs *flag.FlagSet) *lifecycleFlags {
	return &lifecycleFlags{
		keys:         fs.String("key", os.Getenv(envProvenanceKey), "get, verify: public key file(s) of the provenance signer, comma-separated"),
		repo:         fs.String("repo", os.Getenv(envProvenanceRepo), "get, verify: the repository the provenance must name"),
		attestation:  fs.String("attestation", "", "verify: the DSSE envelope (default FILE.intoto.jsonl)"),
		reason:       fs.String("reason", "", "revoke: why"),
		policy:       fs.String("policy", os.Getenv(envChannelPolicy), "promote: channel policy file"),
		allowRevoked: fs.Bool("allow-revoked", false, "get: download a revoked release (for forensics)"),
		descendants:  fs.Bool("descendants", false, "revoke: also every release built on it"),
	}
}

// verifier returns the keys and expectation of provenance checks; nil keys
// when none are configured (get then does not check).
func (lf *lifecycleFlags) verifier() ([]*attest.PublicKey, error) {
	var keys []*attest.PublicKey
	for _, path := range strings.Split(*lf.keys, ",") {
		if path = strings.TrimSpace(path); path == "" {
			continue
		}
		k, err := attest.LoadPublicKey(path)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) > 0 && *lf.repo == "" {
		return nil, fmt.Errorf("%w: checking provenance needs --repo URL (or %s): the repository builds must come from", errUsage, envProvenanceRepo)
	}
	return keys, nil
}

// getVerified downloads a version's file through a temporary file and
// renames it into place only when its sha256 matches the manifest, its
// signed provenance verifies (when keys are configured) and the release is
// not revoked (unless allowed). The envelope is kept beside it as
// FILE.intoto.jsonl for later offline checks.
func getVerified(ctx context.Context, st store.Store, v store.Version, format, path string, lf *lifecycleFlags, stdout io.Writer) error {
	keys, err := lf.verifier()
	if err != nil {
		return err
	}
	if v.Kind == store.KindRelease {
		rev, err := store.ReadRevocation(ctx, st, v.Image, v.Version)
		if err != nil {
			return err
		}
		if rev != nil && !*lf.allowRevoked {
			return fmt.Errorf("%w; nothing was written to %s (--allow-revoked downloads it anyway)", &store.RevokedError{Revocation: *rev}, path)
		}
		if rev != nil {
			fmt.Fprintf(stdout, "WARNING: %s\n", rev)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	f, err := store.DownloadVersion(ctx, st, v, format, tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", path, cerr)
	}
	if errors.Is(err, store.ErrCorrupt) {
		return fmt.Errorf("%w\nthe download was corrupt and has been deleted; nothing was written to %s", err, path)
	}
	if err != nil {
		return err
	}
	env, err := readAttestation(ctx, st, v)
	if err != nil {
		return err
	}
	verdict := "provenance not checked (no --key)"
	if len(keys) > 0 {
		if env == nil {
			return fmt.Errorf("%s@%s has no signed provenance (%s); nothing was written to %s", v.Image, v.Name(), store.AttestationName, path)
		}
		pv, err := attest.Verify(ctx, env, keys, attest.Expect{Repository: *lf.repo, Names: map[string]string{f.Name: f.SHA256}})
		if err != nil {
			return fmt.Errorf("%s@%s %s: %w; the download has been deleted, nothing was written to %s", v.Image, v.Name(), f.Name, err, path)
		}
		verdict = fmt.Sprintf("provenance verified: signed by %s, built from %s at %s", pv.KeyID, pv.Repository, pv.Commit)
	}
	if env != nil {
		if err := os.WriteFile(path+".intoto.jsonl", env, 0o644); err != nil {
			return fmt.Errorf("write %s.intoto.jsonl: %w", path, err)
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "%s@%s: wrote %s (%d bytes, sha256 %s verified)\n%s\n", v.Image, v.Name(), path, f.Size, f.SHA256, verdict)
	return nil
}

// readAttestation returns a build's DSSE envelope, nil when it has none.
func readAttestation(ctx context.Context, st store.Store, v store.Version) ([]byte, error) {
	if _, ok := v.File(store.AttestationName); !ok {
		return nil, nil
	}
	rc, _, err := st.Get(ctx, v.Prefix+store.AttestationName)
	if err != nil {
		return nil, fmt.Errorf("read the provenance of %s@%s: %w", v.Image, v.Name(), err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("read the provenance of %s@%s: %w", v.Image, v.Name(), err)
	}
	return b, nil
}

// verifyFile checks a file on disk against its signed provenance.
func verifyFile(ctx context.Context, path string, lf *lifecycleFlags, stdout io.Writer) error {
	keys, err := lf.verifier()
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: verify needs --key PUBLIC.pem (or %s)", errUsage, envProvenanceKey)
	}
	envPath := *lf.attestation
	if envPath == "" {
		envPath = path + ".intoto.jsonl"
	}
	env, err := os.ReadFile(envPath)
	if err != nil {
		return fmt.Errorf("verify %s: provenance: %w", path, err)
	}
	sum, err := store.HashFile(ctx, path)
	if err != nil {
		return fmt.Errorf("verify %s: %w", path, err)
	}
	pv, err := attest.Verify(ctx, env, keys, attest.Expect{Repository: *lf.repo, Digests: []string{sum}})
	if err != nil {
		return fmt.Errorf("verify %s against %s: %w", path, envPath, err)
	}
	fmt.Fprintf(stdout, "%s: sha256 %s is %s@%s, built from %s at %s, signed by %s\n",
		path, sum, pv.Image, pv.Version, pv.Repository, pv.Commit, pv.KeyID)
	return nil
}

// printMarks adds what the artifacts tables (artifacts_print.go) do not show: revocations and
// channels of an image, and whether a version carries signed provenance.
func printMarks(ctx context.Context, st store.Store, w io.Writer, image string, v *store.Version) error {
	revs, err := store.Revocations(ctx, st, image)
	if err != nil {
		return err
	}
	chans, err := store.Channels(ctx, st, image)
	if err != nil {
		return err
	}
	if v != nil {
		fmt.Fprintln(w)
		if _, ok := v.File(store.AttestationName); ok {
			fmt.Fprintf(w, "provenance: %s (signed, in-toto/SLSA v1)\n", store.AttestationName)
		} else {
			fmt.Fprintln(w, "provenance: none")
		}
		if r, ok := revs[v.Version]; ok && v.Kind == store.KindRelease {
			fmt.Fprintf(w, "REVOKED: %s\n", r)
		}
		for _, c := range chans {
			if v.Kind == store.KindRelease && c.Version == v.Version {
				fmt.Fprintf(w, "channel: %s\n", c.Name)
			}
		}
		return nil
	}
	if len(revs) > 0 || len(chans) > 0 {
		fmt.Fprintln(w)
	}
	for _, c := range chans {
		to := c.Version
		if to == "" {
			to = "(none: every release it held is revoked)"
		}
		fmt.Fprintf(w, "channel %s -> %s\n", c.Name, to)
	}
	versions := make([]string, 0, len(revs))
	for v := range revs {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	for _, v := range versions {
		fmt.Fprintf(w, "REVOKED %s\n", revs[v])
	}
	return nil
}
