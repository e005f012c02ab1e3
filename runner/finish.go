package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/ova"
	"github.com/imagebot/imagebot/runner/qcow2"
)

// finish makes the finished artifacts in OutDir from the build's disk, one
// per env.yaml format (each with a .sha256 beside it). The runner/qcow2 and
// runner/ova packages do the work; this is only the glue.
func (b *run) finish(ctx context.Context, e *baseEntry) ([]File, error) {
	files, err := b.inspect(ctx, e.Disk)
	if err != nil {
		return nil, err
	}
	stem := fmt.Sprintf("%s-%s", b.img.Name, b.req.Version)
	for _, format := range b.img.Env.Formats {
		dst := filepath.Join(b.req.OutDir, stem+"."+format)
		b.written = append(b.written, dst, dst+".sha256", dst+".partial")
		b.logf("finishing %s", filepath.Base(dst))
		switch format {
		case "qcow2":
			// Compressed, as distributions publish cloud images. deflate (zlib),
			// not zstd: zstd measured smaller and cheaper (runner/bench-compress.sh,
			// docs/inspection.md) but runner/qcow2's reader and QEMU before 5.1
			// cannot read it.
			res, err := qcow2.Finish(ctx, e.Disk, dst, qcow2.Options{Compress: true})
			if err != nil {
				return nil, err
			}
			if err := writeSum(dst, res.SHA256); err != nil {
				return nil, err
			}
			files = append(files, File{Name: filepath.Base(dst), Path: dst, Format: "qcow2", Size: res.Size, SHA256: res.SHA256})
		case "ova":
			res, err := ova.Export(ctx, ova.ExportOptions{
				Disk: e.Disk, Out: dst, Name: stem, Version: b.req.Version, BuildID: b.req.BuildID,
				GitSHA: b.req.GitSHA, Description: b.img.Env.Description, OS: b.img.Env.OS,
				Hardware: b.img.Env.Hardware, Logger: &b.r.cfg.Log,
			})
			if err != nil {
				return nil, err
			}
			files = append(files, File{Name: filepath.Base(dst), Path: dst, Format: "ova", Size: res.Size, SHA256: res.SHA256})
		default:
			return nil, fmt.Errorf("format %s: not one this runner makes (qcow2, ova)", format)
		}
		sum, err := fileOf(dst+".sha256", "sha256")
		if err != nil {
			return nil, err
		}
		files = append(files, sum)
	}
	disk := e.Disk
	for _, f := range files {
		if f.Format == "qcow2" {
			disk = f.Path // boot the artifact itself
		}
	}
	if err := b.runChecks(ctx, disk); err != nil {
		return nil, err
	}
	return files, nil
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
		m.Files = append(m.Files, manifest.File{Name: f.Name, Format: f.Format, Size: f.Size, SHA256: f.SHA256})
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
		m.Inventory, m.Hygiene = b.inspected.summary, b.inspected.hygiene
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
