package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
	"github.com/imagebot/imagebot/runner/store/miniotest"
	"github.com/imagebot/imagebot/runner/store/s3"
)

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func pseudoRandom(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ seed ^ byte(i>>9)
	}
	return b
}

// TestArtifactsCLIListsShowsAndVerifiesDownloadsFromMinIO runs `imagebot
// artifacts` in-process against a real MinIO, configured the way a user
// configures the bot: a config file naming the bucket, keys in IMAGEBOT_*.
func TestArtifactsCLIListsShowsAndVerifiesDownloadsFromMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	t.Setenv(store.DefaultAccessKeyEnv, srv.AccessKey)
	t.Setenv(store.DefaultSecretKeyEnv, srv.SecretKey)
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	cfg := fmt.Sprintf("data_dir: %s\nstore:\n  s3:\n    endpoint: %s\n    bucket: %s\n    insecure: true\n", t.TempDir(), srv.Endpoint, srv.Bucket)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := s3.New(ctx, store.S3Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Insecure: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ova110, qcow110 := pseudoRandom(1<<20+123, 1), pseudoRandom(700<<10, 2)
	browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("debian12", "1.0.0"), Digest: "sha256:aaaa1111", GitSHA: "1000000000",
		Files: map[string][]byte{"debian12-1.0.0.qcow2": []byte("old")}})
	browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("debian12", "1.1.0"), Digest: "sha256:bbbb2222", GitSHA: "1100000000",
		Files: map[string][]byte{"debian12-1.1.0.ova": ova110, "debian12-1.1.0.qcow2": qcow110}, Log: "==> done\n"})
	mrQcow := pseudoRandom(4096, 3)
	browsetest.Publish(t, st, browsetest.Build{Ref: store.MRBuild("debian12", 3, "abcdef0123"), Version: "1.2.0", Digest: "sha256:cccc3333", GitSHA: "abcdef0123",
		Files: map[string][]byte{"debian12-1.2.0.qcow2": mrQcow}})

	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := artifacts(ctx, append(args, "--config", cfgFile), &out)
		return out.String(), err
	}
	mustRun := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("artifacts %v: %v", args, err)
		}
		return out
	}

	if out := mustRun("ls"); !regexpLine(out, `debian12\s+1\.1\.0\s+2\s+1\s`) {
		t.Errorf("ls:\n%s", out)
	}
	out := mustRun("ls", "debian12")
	if i, j, k := strings.Index(out, "1.1.0"), strings.Index(out, "1.0.0"), strings.Index(out, "mr3-abcdef01"); i < 0 || j < i || k < j {
		t.Errorf("ls debian12 is not releases newest first, then MR builds:\n%s", out)
	}
	out = mustRun("show", "debian12@latest")
	for _, w := range []string{"version:", "1.1.0", "inputs digest:", "sha256:bbbb2222", hexSum(ova110), hexSum(qcow110), "debian12-1.1.0.ova", "build.log"} {
		if !strings.Contains(out, w) {
			t.Errorf("show lacks %q:\n%s", w, out)
		}
	}

	dir := t.TempDir()
	got := filepath.Join(dir, "disk.ova")
	out = mustRun("get", "debian12@latest", "--format", "ova", "-o", got)
	if data, _ := os.ReadFile(got); !bytes.Equal(data, ova110) || !strings.Contains(out, "verified") {
		t.Fatalf("get wrote %d bytes (want %d): %s", len(data), len(ova110), out)
	}
	mustRun("get", "debian12@mr3-abcdef01", "--format", "qcow2", "-o", filepath.Join(dir, "mr.qcow2"))
	if data, _ := os.ReadFile(filepath.Join(dir, "mr.qcow2")); !bytes.Equal(data, mrQcow) {
		t.Fatal("MR build download differs")
	}

	// Corrupt the stored qcow2 behind imagebot's back (same size, one byte off).
	bad := append([]byte(nil), qcow110...)
	bad[len(bad)/2] ^= 0xff
	key := store.Release("debian12", "1.1.0").Key("debian12-1.1.0.qcow2")
	if _, err := srv.Client(t).PutObject(ctx, srv.Bucket, key, bytes.NewReader(bad), int64(len(bad)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "corrupt.qcow2")
	_, err = run("get", "debian12@1.1.0", "--format", "qcow2", "-o", corrupt)
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("corrupt download: %v, want a checksum error saying it was deleted", err)
	}
	if _, err := os.Stat(corrupt); !os.IsNotExist(err) {
		t.Errorf("the corrupt download is still at %s", corrupt)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("leftovers in the download directory: %v", entries)
	}

	for _, tc := range []struct {
		args []string
		want error
	}{
		{[]string{"get", "debian12@9.9.9", "--format", "ova", "-o", filepath.Join(dir, "x")}, store.ErrNoVersion},
		{[]string{"get", "debian12@1.0.0", "--format", "ova", "-o", filepath.Join(dir, "x")}, store.ErrNoFormat},
		{[]string{"get", "debian12@1.0.0", "-o", filepath.Join(dir, "x")}, errUsage},
		{[]string{"frobnicate"}, errUsage},
	} {
		if _, err := run(tc.args...); !errors.Is(err, tc.want) {
			t.Errorf("artifacts %v: %v, want %v", tc.args, err, tc.want)
		}
	}
}

func regexpLine(out, pattern string) bool {
	return regexp.MustCompile(`(?m)` + pattern).MatchString(out)
}

// TestArtifactsCLIPrintsReadableTables shows the output people read (see -v).
func TestArtifactsCLIPrintsReadableTables(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("data_dir: "+dir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := artifactStore(context.Background(), cfgFile, "")
	if err != nil {
		t.Fatal(err)
	}
	browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("rocky9", "9.4.0"), Digest: "sha256:0123456789abcdef", GitSHA: "c0ffee1234567890",
		Files: map[string][]byte{"rocky9-9.4.0.qcow2": []byte("disk"), "rocky9-9.4.0.ova": []byte("ova")}, Log: "ok\n"})
	for _, args := range [][]string{{"ls"}, {"ls", "rocky9"}, {"show", "rocky9@latest"}} {
		var out bytes.Buffer
		if err := artifacts(context.Background(), append(args, "--config", cfgFile), &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(out.String(), "9.4.0") {
			t.Errorf("%v lacks the version:\n%s", args, out.String())
		}
		t.Logf("$ imagebot artifacts %s\n%s", strings.Join(args, " "), out.String())
	}
}

// Store keys are per repository: --store-repo reads that repository's builds
// (what the bot published for it), without it the root layout.
func TestArtifactsCLIReadsARepositorysBuilds(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("data_dir: "+dir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := artifactStore(context.Background(), cfgFile, "gitlab:infra/images")
	if err != nil {
		t.Fatal(err)
	}
	browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("rocky9", "9.4.0"), Digest: "sha256:0123456789abcdef", GitSHA: "c0ffee1234567890",
		Files: map[string][]byte{"rocky9-9.4.0.qcow2": []byte("disk")}})
	var out bytes.Buffer
	if err := artifacts(context.Background(), []string{"ls", "rocky9", "--store-repo", "gitlab:infra/images", "--config", cfgFile}, &out); err != nil || !strings.Contains(out.String(), "9.4.0") {
		t.Errorf("ls with --store-repo: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := artifacts(context.Background(), []string{"ls", "--config", cfgFile}, &out); err != nil || strings.Contains(out.String(), "rocky9") {
		t.Errorf("the root layout lists the repository's image: %v\n%s", err, out.String())
	}
	if err := artifacts(context.Background(), []string{"ls", "--store-repo", "infra/images", "--config", cfgFile}, &out); !errors.Is(err, errUsage) {
		t.Errorf("--store-repo without forge: %v", err)
	}
}
