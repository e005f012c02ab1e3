package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/imagebot/imagebot/runner/diskfs"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/ova"
	"github.com/imagebot/imagebot/runner/qcow2"
)

// finish makes the finished artifacts in OutDir from the build's disk, one
// per env.yaml format (each with a .sha256 beside it), and boots the same
// disk for the image's checks while they are written. The runner/qcow2 and
// runner/ova packages do the work; this is only the glue.
func (b *run) finish(ctx context.Context, e *baseEntry) ([]File, error) {
	// Before the inspection's raw copy, which the artifacts are made from.
	if err := qcow2.Standalone(ctx, "", "qcow2", e.Disk); err != nil {
		return nil, fmt.Errorf("finish: %w", err)
	}
	files, fs, err := b.inspect(ctx, e.Disk)
	if err != nil {
		return nil, err
	}
	src := source{path: e.Disk, format: "qcow2", packer: e.Disk}
	if fs != nil {
		// The raw copy is removed only when both the artifacts and the
		// checks boot are done with it.
		defer fs.Close()
		if err := b.sparsify(ctx, fs); err != nil {
			return nil, err
		}
		src.path, src.format = fs.Raw(), "raw"
	}
	made, err := b.artifactsAndChecks(ctx, src)
	if err != nil {
		return nil, err
	}
	return append(files, made...), nil
}

// compressNice is how much the qcow2's compression yields to the checks
// boot running beside it.
const compressNice = 10

// source is the disk the artifacts are converted from and the checks boot:
// the inspection's sparsified raw copy, or Packer's qcow2 when the disk
// could not be read offline.
type source struct {
	path, format string
	packer       string // Packer's disk: the manifest records its size beside the qcow2's
}

// artifactsAndChecks writes the artifacts from src while the checks boot
// src itself on a throwaway overlay: the qcow2's compression and the image's
// first boot, the two longest steps of finishing, overlap. The published
// files are conversions of exactly the disk that was booted (src is not
// written after sparsify). Either side failing cancels the other, and the
// build fails with the first error: nothing is published unless both
// succeed.
func (b *run) artifactsAndChecks(ctx context.Context, src source) ([]File, error) {
	started := time.Now()
	var files []File
	var made, checked time.Duration
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		files, err = b.writeArtifacts(gctx, src)
		made = time.Since(started)
		if err != nil {
			return err
		}
		b.logf("artifacts: %d files written in %.1fs", len(files), made.Seconds())
		return nil
	})
	g.Go(func() error {
		err := b.runChecks(gctx, src)
		checked = time.Since(started)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if len(b.img.Env.Checks) > 0 {
		// What the checks added to the build: the time finishing waited for
		// them once the artifacts were written.
		b.logf("checks: finishing waited %.1fs for them after the artifacts", max(0, (checked-made).Seconds()))
	}
	return files, nil
}

// writeArtifacts writes one artifact per env.yaml format from src, each
// with its .sha256.
func (b *run) writeArtifacts(ctx context.Context, src source) ([]File, error) {
	stem := fmt.Sprintf("%s-%s", b.img.Name, b.req.Version)
	var files []File
	for _, format := range b.img.Env.Formats {
		dst := filepath.Join(b.req.OutDir, stem+"."+format)
		b.written = append(b.written, dst, dst+".sha256", dst+".partial")
		b.logf("finishing %s", filepath.Base(dst))
		var f File
		var err error
		switch format {
		case "qcow2":
			f, err = b.writeQcow2(ctx, src, dst)
		case "ova":
			f, err = b.writeOVA(ctx, src, dst, stem)
		default:
			err = fmt.Errorf("format %s: not one this runner makes (qcow2, ova)", format)
		}
		if err != nil {
			return nil, err
		}
		sum, err := fileOf(dst+".sha256", "sha256")
		if err != nil {
			return nil, err
		}
		files = append(files, f, sum)
	}
	return files, nil
}

// writeQcow2 writes the compressed qcow2 and its .sha256.
func (b *run) writeQcow2(ctx context.Context, src source, dst string) (File, error) {
	var packerSize int64
	if fi, err := os.Stat(src.packer); err == nil {
		packerSize = fi.Size()
	}
	// Compressed, as distributions publish cloud images. deflate (zlib),
	// not zstd: zstd measured smaller and cheaper (runner/bench-compress.sh,
	// docs/inspection.md) but runner/qcow2's reader and QEMU before 5.1
	// cannot read it. At a lower CPU priority: the checks boot, which runs
	// meanwhile and takes longer, keeps the cores it needs
	// (docs/inspection.md, "Cost on a TCG build").
	opts := qcow2.Options{Compress: true, SourceFormat: src.format, Nice: compressNice}
	res, err := qcow2.Finish(ctx, src.path, dst, opts)
	if err != nil {
		return File{}, err
	}
	if err := writeSum(dst, res.SHA256); err != nil {
		return File{}, fmt.Errorf("finish qcow2: %w", err)
	}
	b.logf("qcow2: %d MB (Packer's disk: %d MB)", res.Size>>20, packerSize>>20)
	return File{Name: filepath.Base(dst), Path: dst, Format: "qcow2", Size: res.Size, SHA256: res.SHA256, SizeBefore: packerSize}, nil
}

// writeOVA writes the OVA (its .sha256 is written by ova.Export).
func (b *run) writeOVA(ctx context.Context, src source, dst, stem string) (File, error) {
	res, err := ova.Export(ctx, ova.ExportOptions{
		Disk: src.path, Out: dst, Name: stem, Version: b.req.Version, BuildID: b.req.BuildID,
		GitSHA: b.req.GitSHA, Description: b.img.Env.Description, OS: b.img.Env.OS,
		Hardware: b.img.Env.Hardware, Logger: &b.r.cfg.Log,
	})
	if err != nil {
		return File{}, err
	}
	return File{Name: filepath.Base(dst), Path: dst, Format: "ova", Size: res.Size, SHA256: res.SHA256}, nil
}

// sparsify discards the free space of the disk's root filesystem in the
// inspection's raw copy (diskfs.Discard, the offline equivalent of
// virt-sparsify --in-place) before the artifacts are made from that copy,
// and records the data before and after for the manifest. Packer's disk
// itself is left as it is: a base image's derived builds start from it.
func (b *run) sparsify(ctx context.Context, fs *diskfs.FS) error {
	started := time.Now()
	before, after, err := fs.Discard(ctx)
	if errors.Is(err, diskfs.ErrDiscardUnsupported) {
		b.logf("sparsify: skipped: %v", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("sparsify: %w", err)
	}
	took := time.Since(started)
	b.logf("sparsify: data %d MB -> %d MB (free space discarded in %.1fs)", before>>20, after>>20, took.Seconds())
	b.inspected.compaction = &manifest.Compaction{Method: "e2fsck -E discard", DataBytesBefore: before,
		DataBytesAfter: after, Seconds: took.Round(time.Millisecond).Seconds()}
	return nil
}

// writeSum writes path.sha256 in sha256sum's format.
func writeSum(path, sum string) error {
	return os.WriteFile(path+".sha256", []byte(sum+"  "+filepath.Base(path)+"\n"), 0o644)
}

func fileOf(path, format string) (File, error) {
	sum, size, err := qcow2.HashFile(context.Background(), path)
	if err != nil {
		return File{}, err
	}
	return File{Name: filepath.Base(path), Path: path, Format: format, Size: size, SHA256: sum}, nil
}

// seal runs after the log is closed: it adds the log to a finished build's
// files and writes manifest.json (secrets refused by manifest.Marshal).
func (b *run) seal() error {
	if b.asBase || b.res.Status != StatusSucceeded {
		return nil
	}
	logFile, err := fileOf(b.logPath, "log")
	if err != nil {
		return err
	}
	b.res.Files = append(b.res.Files, logFile)
	m := &manifest.Manifest{
		Image: b.img.Name, Version: b.req.Version, BuildID: b.req.BuildID, Status: string(b.res.Status),
		GitSHA: b.req.GitSHA, MR: b.req.MR, InputsDigest: b.img.Digest, PackerVersion: b.res.PackerVersion,
		Builder: b.res.Builder, Started: b.res.Started, Finished: b.res.Finished,
		TriggeredBy: b.req.TriggeredBy, Labels: b.img.Env.Labels, Repository: b.req.Repository,
	}
	for _, f := range b.res.Files {
		m.Files = append(m.Files, manifest.File{Name: f.Name, Format: f.Format, Size: f.Size, SHA256: f.SHA256, SizeBefore: f.SizeBefore})
	}
	for _, p := range b.res.Plugins {
		m.Plugins = append(m.Plugins, manifest.Plugin{Source: p.Source, Version: p.Version})
	}
	for _, a := range b.sourceArtifacts() {
		m.Artifacts = append(m.Artifacts, manifest.Artifact{Source: a.Source, BuilderID: a.BuilderID, ID: a.ID, IDs: a.IDs, Files: a.Files})
	}
	if base, ok := b.cat.Images[b.img.Env.Base]; ok {
		m.BaseImage = &manifest.BaseImage{Image: base.Name, Version: base.Env.Version, InputsDigest: base.Digest, SHA256: b.baseSHA256}
	}
	if b.inspected != nil {
		m.Inventory, m.Hygiene, m.Compaction = b.inspected.summary, b.inspected.hygiene, b.inspected.compaction
	}
	m.Checks = manifestChecks(b.res.Checks)
	data, err := manifest.Marshal(m, b.secrets())
	if err != nil {
		return err
	}
	path := filepath.Join(b.req.OutDir, manifest.FileName)
	b.written = append(b.written, path)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	mf, err := fileOf(path, "manifest")
	if err != nil {
		return err
	}
	b.res.Files = append(b.res.Files, mf)
	return nil
}
