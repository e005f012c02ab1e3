package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/imagebot/imagebot/runner/attest"
	"github.com/imagebot/imagebot/runner/attest/attesttest"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/miniotest"
	"github.com/imagebot/imagebot/runner/store/s3"
)

const lifecycleRepo = "https://git.example.test/infra/images"

// publishSigned publishes a release whose qcow2 is content, with signed
// provenance, the way the bot's publishing does.
func publishSigned(t *testing.T, st store.Store, signer *attest.Signer, ref store.Ref, content []byte) {
	t.Helper()
	name := store.ArtifactName(ref.Image, ref.Version, "qcow2")
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	m := &manifest.Manifest{Image: ref.Image, Version: ref.Version, BuildID: "b-" + ref.Version, Release: true,
		GitSHA: "0123456789abcdef0123456789abcdef01234567", InputsDigest: "sha256:" + hexSum([]byte(ref.Version)),
		PackerVersion: "1.9.4", Builder: "qemu", Started: now.Add(-time.Minute), Finished: now,
		Files: []manifest.File{{Name: name, Format: "qcow2", Size: int64(len(content)), SHA256: hexSum(content)}}}
	data, err := manifest.Marshal(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	files := []store.LocalFile{{Name: name, Path: path, WithSHA256File: true}}
	if _, err := store.Publish(context.Background(), st, ref.Prefix(), files, data, store.PublishOptions{Attester: signer}); err != nil {
		t.Fatal(err)
	}
}

// TestArtifactsCLIProvenanceRevocationAndChannelsOnMinIO: get and verify
// check signed provenance and refuse tampering; promote moves channels
// under a policy; revoke moves latest and stable back and get refuses the
// revoked release without --allow-revoked.
func TestArtifactsCLIProvenanceRevocationAndChannelsOnMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	t.Setenv(store.DefaultAccessKeyEnv, srv.AccessKey)
	t.Setenv(store.DefaultSecretKeyEnv, srv.SecretKey)
	for _, v := range []string{envProvenanceKey, envProvenanceRepo, envChannelPolicy} {
		t.Setenv(v, "")
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf("data_dir: %s\nstore:\n  s3:\n    endpoint: %s\n    bucket: %s\n    insecure: true\n", t.TempDir(), srv.Endpoint, srv.Bucket)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policy, []byte("channels:\n  stable: [alice]\n  \"*\": [alice, bob]\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := s3.New(ctx, store.S3Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Insecure: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub := attesttest.WriteKey(t, dir, "ed25519")
	signer, err := attest.NewSigner(attest.Config{KeyFile: priv, Repository: lifecycleRepo})
	if err != nil {
		t.Fatal(err)
	}
	disks := map[string][]byte{}
	for i, v := range []string{"1.1.0", "1.2.0", "1.3.0"} {
		disks[v] = pseudoRandom(256<<10+i, byte(i+7))
		publishSigned(t, st, signer, store.Release("rocky9", v), disks[v])
	}

	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := artifacts(ctx, append(args, "--config", cfgFile), &out)
		return out.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("artifacts %v: %v", args, err)
		}
		return out
	}
	keyed := func(args ...string) []string { return append(args, "--key", pub, "--repo", lifecycleRepo) }

	// A release's provenance verifies on get, and again offline on the file.
	got := filepath.Join(dir, "rocky9.qcow2")
	out := must(keyed("get", "rocky9@1.3.0", "--format", "qcow2", "-o", got)...)
	if data, _ := os.ReadFile(got); !bytes.Equal(data, disks["1.3.0"]) || !strings.Contains(out, "provenance verified") {
		t.Fatalf("get: %s", out)
	}
	if out := must(keyed("verify", got)...); !strings.Contains(out, "rocky9@1.3.0") || !strings.Contains(out, lifecycleRepo) {
		t.Fatalf("verify: %s", out)
	}
	if _, err := run("verify", got, "--key", pub, "--repo", "https://evil.test/x"); !errors.Is(err, attest.ErrInvalid) {
		t.Fatalf("verify against another repository: %v", err)
	}

	// Tampered on disk: the artifact, then the envelope.
	env, _ := os.ReadFile(got + ".intoto.jsonl")
	tampered := filepath.Join(dir, "tampered.qcow2")
	bad := append([]byte(nil), disks["1.3.0"]...)
	bad[1000] ^= 1
	os.WriteFile(tampered, bad, 0o644)
	os.WriteFile(tampered+".intoto.jsonl", env, 0o644)
	if _, err := run(keyed("verify", tampered)...); !errors.Is(err, attest.ErrInvalid) || !strings.Contains(err.Error(), "not a subject") {
		t.Fatalf("verify of a tampered file: %v", err)
	}
	badEnv := bytes.Replace(env, []byte(`"sig":"`), []byte(`"sig":"AAAA`), 1)
	os.WriteFile(got+".bad.jsonl", badEnv, 0o644)
	if _, err := run(keyed("verify", got, "--attestation", got+".bad.jsonl")...); !errors.Is(err, attest.ErrInvalid) {
		t.Fatalf("verify with a tampered envelope: %v", err)
	}

	// Tampered in the bucket by someone who can write it but has no key:
	// a consistent artifact + manifest, then a forged envelope.
	ref := store.Release("rocky9", "1.1.0")
	forged := pseudoRandom(1000, 99)
	client := srv.Client(t)
	putRaw := func(key string, b []byte) {
		if _, err := client.PutObject(ctx, srv.Bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mdata, _ := store.ReadManifest(ctx, st, ref)
	putRaw(ref.Key("rocky9-1.1.0.qcow2"), forged)
	putRaw(ref.Key(store.ManifestName), bytes.ReplaceAll(bytes.Replace(mdata, []byte(hexSum(disks["1.1.0"])), []byte(hexSum(forged)), 1),
		[]byte(fmt.Sprintf(`"size": %d`, len(disks["1.1.0"]))), []byte(fmt.Sprintf(`"size": %d`, len(forged)))))
	bucketGet := filepath.Join(dir, "from-bucket.qcow2")
	if _, err := run(keyed("get", "rocky9@1.1.0", "--format", "qcow2", "-o", bucketGet)...); !errors.Is(err, attest.ErrInvalid) {
		t.Fatalf("get of a replaced artifact: %v", err)
	}
	if _, err := run("get", "rocky9@1.1.0", "--format", "qcow2", "-o", bucketGet); err != nil {
		t.Fatalf("without --key the checksum alone passes (as before): %v", err)
	}
	os.Remove(bucketGet)
	os.Remove(bucketGet + ".intoto.jsonl")
	putRaw(store.Release("rocky9", "1.2.0").Key(store.AttestationName), badEnv)
	if _, err := run(keyed("get", "rocky9@1.2.0", "--format", "qcow2", "-o", bucketGet)...); !errors.Is(err, attest.ErrInvalid) {
		t.Fatalf("get with a forged envelope: %v", err)
	}
	if _, err := os.Stat(bucketGet); !os.IsNotExist(err) {
		t.Fatalf("a download that failed verification is at %s", bucketGet)
	}
	publishSigned(t, st, signer, store.Release("rocky9", "1.2.1"), disks["1.2.0"]) // a good one to fall back to

	// Channels under a policy.
	t.Setenv(envActor, "bob")
	if _, err := run("promote", "rocky9@1.2.1", "stable", "--policy", policy); err == nil || !strings.Contains(err.Error(), "bob may not move channel stable") {
		t.Fatalf("bob promoting to stable: %v", err)
	}
	must("promote", "rocky9@1.2.1", "candidate", "--policy", policy)
	t.Setenv(envActor, "alice")
	must("promote", "rocky9@1.2.1", "stable", "--policy", policy)
	if out := must("promote", "rocky9@1.3.0", "stable", "--policy", policy); !strings.Contains(out, "rocky9@stable -> 1.3.0 (was 1.2.1), moved by alice") {
		t.Fatalf("promote: %s", out)
	}
	stableGet := filepath.Join(dir, "stable.qcow2")
	if out := must(keyed("get", "rocky9@stable", "--format", "qcow2", "-o", stableGet)...); !strings.Contains(out, "rocky9@1.3.0") {
		t.Fatalf("get rocky9@stable: %s", out)
	}

	// Revoking 1.3.0 moves latest and stable back to 1.2.1.
	if _, err := run("revoke", "rocky9@1.3.0"); !errors.Is(err, errUsage) {
		t.Fatalf("revoke without a reason: %v", err)
	}
	out = must("revoke", "rocky9@stable", "--reason", "CVE-2026-1234: openssl")
	if !strings.Contains(out, "revoked rocky9@1.3.0") || !strings.Contains(out, "channel rocky9@stable moved back to 1.2.1") {
		t.Fatalf("revoke: %s", out)
	}
	if out := must("ls"); !regexpLine(out, `rocky9\s+1\.2\.1\s`) {
		t.Fatalf("ls after the revocation: latest is not 1.2.1:\n%s", out)
	}
	out = must("ls", "rocky9")
	if !strings.Contains(out, "channel stable -> 1.2.1") || !strings.Contains(out, "REVOKED rocky9@1.3.0 was revoked by alice") {
		t.Fatalf("ls rocky9:\n%s", out)
	}
	if out := must("show", "rocky9@1.3.0"); !strings.Contains(out, "REVOKED: ") || !strings.Contains(out, "CVE-2026-1234") {
		t.Fatalf("show of a revoked release:\n%s", out)
	}
	if out := must("show", "rocky9@stable"); !strings.Contains(out, "1.2.1") || !strings.Contains(out, "channel: stable") || !strings.Contains(out, "provenance: "+store.AttestationName) {
		t.Fatalf("show rocky9@stable:\n%s", out)
	}
	revoked := filepath.Join(dir, "revoked.qcow2")
	if _, err := run("get", "rocky9@1.3.0", "--format", "qcow2", "-o", revoked); !errors.Is(err, store.ErrRevoked) || !strings.Contains(err.Error(), "--allow-revoked") {
		t.Fatalf("get of a revoked release: %v", err)
	}
	if out := must(keyed("get", "rocky9@1.3.0", "--format", "qcow2", "-o", revoked, "--allow-revoked")...); !strings.Contains(out, "WARNING: rocky9@1.3.0 was revoked") {
		t.Fatalf("get --allow-revoked: %s", out)
	}
	if _, err := run("promote", "rocky9@1.3.0", "candidate", "--policy", policy); !errors.Is(err, store.ErrRevoked) {
		t.Fatalf("promoting a revoked release: %v", err)
	}
}
