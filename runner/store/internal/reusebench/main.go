// Command reusebench publishes a build of one file, or reuses the published
// build of the same inputs by digest, through runner/store exactly as the
// bot does, for runner/store/bench-reuse.sh. It is a measuring tool, not
// part of imagebot.
//
//	RB_AK=... RB_SK=... reusebench -endpoint 127.0.0.1:9000 -bucket b publish FILE   # a new MR build of FILE
//	RB_AK=... RB_SK=... reusebench -endpoint 127.0.0.1:9000 -bucket b reuse          # find it by digest, copy it to a new MR build
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/s3"
)

const (
	image  = "rocky9"
	repo   = "https://git.example.test/infra/images"
	digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "reusebench:", err)
		os.Exit(1)
	}
}

func run() error {
	endpoint := flag.String("endpoint", "", "S3 endpoint host:port (plain http)")
	bucket := flag.String("bucket", "", "bucket")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	os.Setenv(store.DefaultAccessKeyEnv, os.Getenv("RB_AK"))
	os.Setenv(store.DefaultSecretKeyEnv, os.Getenv("RB_SK"))
	st, err := s3.New(ctx, store.S3Config{Endpoint: *endpoint, Bucket: *bucket, Insecure: true}, nil)
	if err != nil {
		return err
	}
	to, err := newMR()
	if err != nil {
		return err
	}
	start := time.Now()
	switch {
	case flag.NArg() == 2 && flag.Arg(0) == "publish":
		err = publish(ctx, st, to, flag.Arg(1))
	case flag.NArg() == 1 && flag.Arg(0) == "reuse":
		var c *store.Candidate
		if c, err = store.FindReusable(ctx, st, store.ReuseQuery{Image: image, InputsDigest: digest, Repository: repo, Exclude: to}); err == nil {
			_, err = store.Reuse(ctx, st, store.ReuseRequest{From: c, To: to, BuildID: "bench-" + to.SHA, GitSHA: to.SHA, MR: to.MR, Started: start})
		}
	default:
		return fmt.Errorf("want `publish FILE` or `reuse`")
	}
	if err != nil {
		return err
	}
	fmt.Printf("%s %s in %.2fs\n", flag.Arg(0), to, time.Since(start).Seconds())
	return nil
}

// newMR is a fresh MR build place, so every run writes a new build.
func newMR() (store.Ref, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<30))
	if err != nil {
		return store.Ref{}, err
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return store.Ref{}, err
	}
	return store.MRBuild(image, int(n.Int64())+1, hex.EncodeToString(b)), nil
}

func publish(ctx context.Context, st store.Store, to store.Ref, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	sum, err := store.HashFile(ctx, path)
	if err != nil {
		return err
	}
	name := store.ArtifactName(image, "1.0.0", filepath.Ext(path))
	m := &manifest.Manifest{Image: image, Version: "1.0.0", BuildID: "bench-" + to.SHA, Status: "succeeded", GitSHA: to.SHA, MR: to.MR,
		InputsDigest: digest, Repository: repo, Files: []manifest.File{{Name: name, Format: "qcow2", Size: fi.Size(), SHA256: sum}}}
	data, err := manifest.Marshal(m, nil)
	if err != nil {
		return err
	}
	files := []store.LocalFile{{Name: name, Path: path, SHA256: sum, WithSHA256File: true}}
	_, err = store.Publish(ctx, st, to.Prefix(), files, data, store.PublishOptions{})
	return err
}
