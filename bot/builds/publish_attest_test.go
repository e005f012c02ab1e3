package builds

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/attest"
	"github.com/imagebot/imagebot/runner/attest/attesttest"
	"github.com/imagebot/imagebot/runner/qcow2"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
)

// TestMRPublishSignsProvenance: with a signing key configured, an MR build
// published by the bot carries a provenance envelope beside its manifest
// that verifies against the public key and names the artifact's sha256;
// without one, nothing is signed.
func TestMRPublishSignsProvenance(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	privPath, pubPath := attesttest.WriteKey(t, dir, "ed25519")
	const repo = "https://gitlab.example.com/infra/images"
	signer, err := attest.NewSigner(attest.Config{KeyFile: privPath, Repository: repo})
	if err != nil {
		t.Fatal(err)
	}
	art := filepath.Join(dir, "rocky9-1.2.0.qcow2")
	if err := os.WriteFile(art, []byte("disk bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, _, err := qcow2.HashFile(ctx, art)
	if err != nil {
		t.Fatal(err)
	}
	res := &runner.Result{Image: "rocky9", Version: "1.2.0", BuildID: "b1", Status: runner.StatusSucceeded,
		Digest: "sha256:" + sum, Started: time.Now().Add(-time.Minute), Finished: time.Now(),
		Files: []runner.File{{Name: "rocky9-1.2.0.qcow2", Path: art, Format: "qcow2", Size: 10, SHA256: sum}}}
	for _, tc := range []struct {
		name     string
		attester store.Attester
		signed   bool
	}{{"signed", signer, true}, {"unsigned", nil, false}} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := local.New(store.LocalConfig{Dir: filepath.Join(dir, tc.name), BaseURL: "http://127.0.0.1:1/download"})
			if err != nil {
				t.Fatal(err)
			}
			p := &StorePublisher{Store: st, Log: zerolog.Nop(), Attester: tc.attester}
			sha := "0123456789abcdef0123456789abcdef01234567"
			if _, _, err := p.PublishMR(ctx, res, "gitlab", "infra/images", 7, sha); err != nil {
				t.Fatal(err)
			}
			key := store.MRBuild("rocky9", 7, sha).Prefix() + store.AttestationName
			rc, _, err := st.Get(ctx, key)
			if !tc.signed {
				if err == nil {
					rc.Close()
					t.Fatalf("unsigned publish stored %s", key)
				}
				return
			}
			if err != nil {
				t.Fatalf("no provenance at %s: %v", key, err)
			}
			env, _ := io.ReadAll(rc)
			rc.Close()
			pub, err := attest.LoadPublicKey(pubPath)
			if err != nil {
				t.Fatal(err)
			}
			v, err := attest.Verify(ctx, env, []*attest.PublicKey{pub}, attest.Expect{Repository: repo, Digests: []string{sum}})
			if err != nil {
				t.Fatalf("provenance does not verify: %v", err)
			}
			if v.Image != "rocky9" || v.Commit != sha {
				t.Errorf("provenance names %s@%s, want rocky9@%s", v.Image, v.Commit, sha)
			}
		})
	}
}
