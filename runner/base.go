package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/qcow2"
)

// baseEntry is one finished build's disk and side files (a kernel, say),
// kept in <cache>/bases/<image>/<digest hex>/ for children and for reuse.
type baseEntry struct {
	Dir    string   `json:"-"`
	Disk   string   `json:"disk"` // absolute path of the disk image
	SHA256 string   `json:"sha256"`
	Files  []string `json:"files"` // every file's base name
}

const entryFile = ".complete.json"

func (r *Runner) baseDir(img *catalog.Image) string {
	return filepath.Join(r.cfg.CacheDir, "bases", img.Name, strings.TrimPrefix(img.Digest, "sha256:"))
}

// cachedBase returns the cache entry of img at its current digest.
func (r *Runner) cachedBase(img *catalog.Image) (*baseEntry, bool) {
	dir := r.baseDir(img)
	data, err := os.ReadFile(filepath.Join(dir, entryFile))
	if err != nil {
		return nil, false
	}
	var e baseEntry
	if json.Unmarshal(data, &e) != nil || e.Disk == "" {
		return nil, false
	}
	e.Dir = dir
	e.Disk = filepath.Join(dir, e.Disk)
	if _, err := os.Stat(e.Disk); err != nil {
		return nil, false
	}
	return &e, true
}

// checkBase asks the configured BaseChecker whether the base release a
// build starts from (the base's env.yaml version) may be used.
func (r *Runner) checkBase(ctx context.Context, cat *catalog.Catalog, name string, override BaseChecker) error {
	bases := r.cfg.Bases
	if override != nil {
		bases = override
	}
	if name == "" || bases == nil {
		return nil
	}
	img, ok := cat.Images[name]
	if !ok {
		return nil // ensureBase reports it
	}
	return bases.CheckBase(ctx, name, img.Env.Version)
}

// ensureBase returns the base's cache entry, building the base first (and
// its own bases) when it is missing and the request allows it. The status
// says how a base build ended when it did not succeed.
func (r *Runner) ensureBase(ctx context.Context, child *run, name string) (*baseEntry, Status, error) {
	cat, req := child.cat, child.req
	img, ok := cat.Images[name]
	if !ok {
		return nil, StatusFailed, errors.New("not in the catalog")
	}
	lock := r.baseLock(img.Digest)
	lock.Lock()
	defer lock.Unlock()
	if e, ok := child.holdBase(img); ok {
		child.logf("base %s: reusing the build of digest %s", name, img.Digest)
		return e, "", nil
	}
	if e, ok := r.fetchBase(ctx, child, img); ok {
		return e, "", nil
	}
	if !req.WithBases {
		return nil, StatusFailed, fmt.Errorf("not built at digest %s on this host: build it first or ask for bases (--with-bases)", img.Digest)
	}
	res, err := r.build(ctx, cat, Request{
		Image: name, BuildID: req.BuildID + "." + name, WithBases: true,
		GitSHA: req.GitSHA, MR: req.MR, TriggeredBy: req.TriggeredBy,
	}, child.onEvent, child)
	if err != nil {
		return nil, StatusFailed, err
	}
	if res.Status != StatusSucceeded {
		return nil, res.Status, fmt.Errorf("%s: %s", res.Status, res.Error)
	}
	e, ok := child.holdBase(img)
	if !ok {
		return nil, StatusFailed, errors.New("built, but its disk is not in the cache")
	}
	return e, "", nil
}

// fetchBase fills the cache entry of img from the store's published release
// (Config.BaseStore) and holds it. A miss or a failure is logged and the
// caller goes on as without a store: build the base, or say it is missing.
func (r *Runner) fetchBase(ctx context.Context, child *run, img *catalog.Image) (*baseEntry, bool) {
	if r.cfg.BaseStore == nil {
		return nil, false
	}
	final := r.baseDir(img)
	stage := final + ".tmp-" + child.req.BuildID
	if err := os.MkdirAll(stage, 0o755); err != nil {
		child.logf("base %s: cannot stage a download: %v", img.Name, err)
		return nil, false
	}
	start := time.Now()
	path, sum, err := r.cfg.BaseStore.FetchBase(ctx, img.Name, img.Env.Version, img.Digest, stage)
	if err == nil {
		err = writeEntry(stage, final, baseEntry{Disk: filepath.Base(path), SHA256: sum, Files: []string{filepath.Base(path)}})
	}
	if err != nil {
		os.RemoveAll(stage)
		r.cfg.Log.Info().Err(err).Str("base", img.Name).Str("digest", img.Digest).Msg("base not taken from the store")
		child.logf("base %s: not taken from the store: %v", img.Name, err)
		return nil, false
	}
	child.logf("base %s: fetched release %s from the store in %.1fs (sha256 %s, verified)", img.Name, img.Env.Version, time.Since(start).Seconds(), sum)
	e, ok := child.holdBase(img)
	if ok {
		r.pruneBases(img.Name)
	}
	return e, ok
}

// writeEntry records a staged cache entry and moves it into place.
func writeEntry(stage, final string, e baseEntry) error {
	data, _ := json.MarshalIndent(e, "", "  ")
	if err := os.WriteFile(filepath.Join(stage, entryFile), data, 0o644); err != nil {
		return err
	}
	os.RemoveAll(final)
	return os.Rename(stage, final)
}

// collect gathers the files Packer reported into a staging entry: the base
// cache when children need the disk, else the working directory.
func (b *run) collect() (*baseEntry, error) {
	var files []string
	for _, a := range b.artifacts {
		for _, f := range a.Files {
			files = append(files, absJoin(b.imageDir, f))
		}
	}
	if len(files) == 0 {
		return nil, errors.New("packer reported no artifact files")
	}
	if err := regularFiles(files); err != nil {
		return nil, err
	}
	disk := ""
	for _, f := range files {
		if isQcow2(f) {
			disk = f
			break
		}
	}
	if disk == "" {
		return nil, fmt.Errorf("no qcow2 disk among packer's artifact files %v", files)
	}
	if !b.keepAsBase() {
		sum, _, err := qcow2.HashFile(context.Background(), disk)
		if err != nil {
			return nil, err
		}
		return &baseEntry{Dir: filepath.Dir(disk), Disk: disk, SHA256: sum}, nil
	}
	final := b.r.baseDir(b.img)
	stage := final + ".tmp-" + b.req.BuildID
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return nil, err
	}
	e := baseEntry{}
	for _, f := range files {
		name := filepath.Base(f)
		if err := moveFile(filepath.Join(stage, name), f); err != nil {
			os.RemoveAll(stage)
			return nil, fmt.Errorf("keep %s: %w", name, err)
		}
		if err := b.r.takeBack(filepath.Join(stage, name)); err != nil {
			os.RemoveAll(stage)
			return nil, fmt.Errorf("keep %s: %w", name, err)
		}
		e.Files = append(e.Files, name)
		if f == disk {
			e.Disk = name
		}
	}
	sum, _, err := qcow2.HashFile(context.Background(), filepath.Join(stage, e.Disk))
	if err != nil {
		os.RemoveAll(stage)
		return nil, err
	}
	e.SHA256 = sum
	data, _ := json.MarshalIndent(e, "", "  ")
	if err := os.WriteFile(filepath.Join(stage, entryFile), data, 0o644); err != nil {
		os.RemoveAll(stage)
		return nil, err
	}
	os.RemoveAll(final) // a forced rebuild replaces the old entry
	if err := os.Rename(stage, final); err != nil {
		os.RemoveAll(stage)
		return nil, err
	}
	got, ok := b.holdBase(b.img)
	if !ok {
		return nil, errors.New("cache entry vanished")
	}
	b.r.pruneBases(b.img.Name)
	return got, nil
}

func isQcow2(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	return err == nil && string(magic) == "QFI\xfb"
}

func moveFile(dst, src string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	if err := copyFile(dst, src); err != nil {
		return err
	}
	return os.Remove(src)
}

// holdBase returns img's cache entry at its current digest and marks it in
// use by this build until cleanup, so pruning leaves it alone.
func (b *run) holdBase(img *catalog.Image) (*baseEntry, bool) {
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	e, ok := b.r.cachedBase(img)
	if ok {
		b.r.inUse[e.Dir]++
		b.held = append(b.held, e.Dir)
	}
	return e, ok
}

func (r *Runner) releaseBases(dirs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range dirs {
		if r.inUse[d]--; r.inUse[d] <= 0 {
			delete(r.inUse, d)
		}
	}
}

// pruneBases removes the base cache entries of an image beyond the newest
// KeepBases (by when they were stored), except those a build of this runner
// uses. Staging directories and incomplete entries are left alone.
func (r *Runner) pruneBases(name string) {
	dir := filepath.Join(r.cfg.CacheDir, "bases", name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		r.cfg.Log.Warn().Err(err).Str("dir", dir).Msg("prune base cache")
		return
	}
	type stored struct {
		dir string
		at  time.Time
	}
	var all []stored
	for _, e := range entries {
		if !e.IsDir() || strings.Contains(e.Name(), ".tmp-") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if info, err := os.Stat(filepath.Join(p, entryFile)); err == nil {
			all = append(all, stored{p, info.ModTime()})
		}
	}
	if len(all) <= r.cfg.KeepBases {
		return
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.After(all[j].at) })
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range all[r.cfg.KeepBases:] {
		if r.inUse[s.dir] > 0 {
			continue
		}
		if err := os.RemoveAll(s.dir); err != nil {
			r.cfg.Log.Warn().Err(err).Str("dir", s.dir).Msg("prune base cache")
			continue
		}
		r.cfg.Log.Info().Str("dir", s.dir).Msg("pruned old base cache entry")
	}
}
