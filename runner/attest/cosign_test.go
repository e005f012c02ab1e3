package attest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/attest"
	"github.com/imagebot/imagebot/runner/attest/attesttest"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/testenv"
)

// TestCosignVerifiesTheProvenanceOffline is the third-party proof that the
// envelope is standard: cosign (built from the module proxy by
// deploy/install-tools.sh) verifies it with the public key alone, no
// transparency log and no network, for both key types; and refuses an
// artifact that is not a subject.
func TestCosignVerifiesTheProvenanceOffline(t *testing.T) {
	cosign := testenv.Tool(t, "cosign")
	for _, kind := range []string{"ed25519", "p256"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			priv, pub := attesttest.WriteKey(t, dir, kind)
			signer, err := attest.NewSigner(attest.Config{KeyFile: priv, Repository: "https://git.example.test/infra/images"})
			if err != nil {
				t.Fatal(err)
			}
			blob := filepath.Join(dir, "rocky9-1.2.0.qcow2")
			if err := os.WriteFile(blob, []byte("a disk image\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			sum, err := store.HashFile(ctx, blob)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			m, err := manifest.Marshal(&manifest.Manifest{Image: "rocky9", Version: "1.2.0", BuildID: "b-1", Release: true,
				GitSHA: "0123456789abcdef0123456789abcdef01234567", InputsDigest: "sha256:" + sum, PackerVersion: "1.9.4",
				Started: now.Add(-time.Minute), Finished: now,
				Files: []manifest.File{{Name: "rocky9-1.2.0.qcow2", Format: "qcow2", Size: 13, SHA256: sum}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			env, err := signer.Attest(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			envPath := blob + ".intoto.jsonl"
			if err := os.WriteFile(envPath, env, 0o644); err != nil {
				t.Fatal(err)
			}
			run := func(blob string) (string, error) {
				cmd := exec.CommandContext(ctx, cosign, "verify-blob-attestation", "--key", pub, "--insecure-ignore-tlog",
					"--type", "slsaprovenance1", "--signature", envPath, blob)
				// cosign tries to refresh its TUF root even without a tlog:
				// send that to a closed loopback port so nothing leaves the
				// host (it then goes on with the key alone); HOME is the test's.
				cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "TUF_ROOT=" + filepath.Join(dir, "tuf"),
					"HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1", "NO_PROXY="}
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			out, err := run(blob)
			if err != nil || !strings.Contains(out, "Verified OK") {
				t.Fatalf("cosign refused imagebot's provenance: %v\n%s", err, out)
			}
			if strings.Contains(out, "lookup ") || strings.Contains(out, "sigstore.dev:443") {
				t.Fatalf("cosign tried to reach the network directly:\n%s", out)
			}
			other := filepath.Join(dir, "other.qcow2")
			os.WriteFile(other, []byte("another disk\n"), 0o644)
			if out, err := run(other); err == nil {
				t.Fatalf("cosign verified an artifact that is not a subject:\n%s", out)
			}
		})
	}
}
