package builds

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
)

// PublishedFile is one artifact a build stored.
type PublishedFile = state.PublishedFile

// Publisher stores a finished MR build (runner/store Publish under
// <image>/mr/<iid>/<short-sha>/) and returns its files; logURL addresses the
// stored build log ("" when none).
type Publisher interface {
	PublishMR(ctx context.Context, res *runner.Result, forgeName, repo string, mr int, sha string) (files []PublishedFile, logURL string, err error)
}

// StorePublisher publishes MR builds into an artifact store under
// <image>/mr/<iid>/<short-sha>/: the artifacts with their .sha256 files,
// build.log, and manifest.json last.
type StorePublisher struct {
	Store   store.Store
	Secrets func() []string // refused in the manifest
	Log     zerolog.Logger
	// URLExpiry is how long download links in the comment stay valid (S3
	// presigned URLs); 0 means the store's presign_expiry (default 1h).
	URLExpiry time.Duration
	// Attester signs each build's provenance; nil publishes unsigned.
	Attester store.Attester
	// RepoPrefix gives a repository's key prefix (store.Config.RepoPrefix):
	// each repository publishes below its own, so none can overwrite or
	// promote another's builds. nil: the root layout (tests).
	RepoPrefix func(forgeName, repo string) (string, error)
}

// PublishMR implements Publisher.
func (p *StorePublisher) PublishMR(ctx context.Context, res *runner.Result, forgeName, repo string, mr int, sha string) ([]PublishedFile, string, error) {
	st, err := repoStore(p.Store, p.RepoPrefix, forgeName, repo)
	if err != nil {
		return nil, "", err
	}
	p = &StorePublisher{Store: st, Secrets: p.Secrets, Log: p.Log, URLExpiry: p.URLExpiry, Attester: p.Attester}
	ref := store.MRBuild(res.Image, mr, sha)
	m := &manifest.Manifest{Image: res.Image, Version: res.Version, BuildID: res.BuildID, Status: string(res.Status),
		GitSHA: sha, MR: mr, InputsDigest: res.Digest, PackerVersion: res.PackerVersion, Builder: res.Builder,
		Started: res.Started, Finished: res.Finished}
	var files []store.LocalFile
	for _, f := range res.Files {
		if f.Format == "manifest" { // the runner's own manifest: keep what it knows
			if rm, err := manifest.Read(f.Path); err == nil {
				rm.MR, rm.GitSHA, rm.Files = mr, sha, nil
				m = rm
			}
		}
	}
	for _, f := range res.Files {
		if f.Format == "log" || f.Format == "manifest" || f.Format == "sha256" {
			continue
		}
		files = append(files, store.LocalFile{Name: f.Name, Path: f.Path, SHA256: f.SHA256, WithSHA256File: true})
		m.Files = append(m.Files, manifest.File{Name: f.Name, Format: f.Format, Size: f.Size, SHA256: f.SHA256})
	}
	if res.LogPath != "" {
		files = append(files, store.LocalFile{Name: filepath.Base(res.LogPath), Path: res.LogPath, ContentType: "text/plain; charset=utf-8"})
	}
	var secrets []string
	if p.Secrets != nil {
		secrets = p.Secrets()
	}
	data, err := manifest.Marshal(m, secrets)
	if err != nil {
		return nil, "", fmt.Errorf("manifest of %s: %w", res.BuildID, err)
	}
	pub, err := store.Publish(ctx, p.Store, ref.Prefix(), files, data, store.PublishOptions{Log: &p.Log, Attester: p.Attester})
	if err != nil {
		return nil, "", err
	}
	expiry := p.URLExpiry // 0: the store's own store.s3.presign_expiry (issue 11 item 10)
	var out []PublishedFile
	logURL := ""
	for _, o := range pub.Files {
		url, err := p.Store.URL(ctx, o.Key, expiry)
		if err != nil {
			return nil, "", fmt.Errorf("download address of %s: %w", o.Key, err)
		}
		name := filepath.Base(o.Key)
		if o.SHA256 == "" {
			for _, f := range res.Files {
				if f.Name == name {
					o.SHA256 = f.SHA256
				}
			}
		}
		switch {
		case res.LogPath != "" && name == filepath.Base(res.LogPath):
			logURL = url
		case filepath.Ext(name) == ".sha256":
		default:
			out = append(out, PublishedFile{Name: name, Key: o.Key, Size: o.Size, SHA256: o.SHA256, URL: url})
		}
	}
	return out, logURL, nil
}

// repoStore is st as repository repo of forgeName sees it (see
// store.RepoStore); prefix nil keeps the root layout.
func repoStore(st store.Store, prefix func(forgeName, repo string) (string, error), forgeName, repo string) (store.Store, error) {
	if prefix == nil || st == nil {
		return st, nil
	}
	pre, err := prefix(forgeName, repo)
	if err != nil {
		return nil, err
	}
	return store.RepoStore(st, pre), nil
}
