package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/imagebot/imagebot/runner/diskfs"
	"github.com/imagebot/imagebot/runner/hygiene"
	"github.com/imagebot/imagebot/runner/inventory"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/sbom"
)

// inspection is what the offline inspection of the built disk found, kept
// for the manifest.
type inspection struct {
	summary    *manifest.Inventory
	hygiene    []manifest.HygieneFinding
	compaction *manifest.Compaction
	// cloudInit: the package cloud-init is installed, so the checks boot
	// also hands the login key to cloud-init (a NoCloud seed).
	cloudInit bool
}

// inspect reads the built disk offline (runner/diskfs: no guest code runs)
// and writes its inventory and CycloneDX SBOM beside the artifacts. It runs
// the hygiene checks on the same reading; under env.yaml `hygiene: strict`
// a finding fails the build before any artifact is made. A disk the offline
// reader cannot read (XFS, LVM) is logged and the build goes on without an
// inventory (and a nil FS). The caller closes the returned FS: finish
// sparsifies it and makes the artifacts from its raw copy.
func (b *run) inspect(ctx context.Context, disk string) (_ []File, _ *diskfs.FS, err error) {
	started := time.Now()
	fs, err := diskfs.Open(ctx, disk, b.work, diskfs.Tools{})
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, err
		}
		b.logf("inventory: skipped: %v", err)
		return nil, nil, nil
	}
	defer func() {
		if err != nil {
			fs.Close()
		}
	}()
	inv, err := inventory.Read(ctx, fs)
	if err != nil {
		return nil, nil, fmt.Errorf("inventory of %s: %w", filepath.Base(disk), err)
	}
	inv.Image, inv.Version = b.img.Name, b.req.Version
	took := time.Since(started)
	b.logf("inventory: %s, kernel %s, %d %s packages (read offline in %.1fs)",
		inv.OS.PrettyName, inv.Kernel, len(inv.Packages), inv.PackageManager, took.Seconds())
	b.inspected = &inspection{summary: &manifest.Inventory{
		OS: inv.OS.PrettyName, Arch: inv.OS.Arch, Kernel: inv.Kernel, PackageManager: inv.PackageManager,
		Packages: len(inv.Packages), Seconds: took.Round(time.Millisecond).Seconds(),
	}, cloudInit: hasPackage(inv, "cloud-init")}
	if err := b.checkHygiene(ctx, fs); err != nil {
		return nil, nil, err
	}
	files, err := b.writeInventory(inv)
	if err != nil {
		return nil, nil, err
	}
	return files, fs, nil
}

func hasPackage(inv *inventory.Inventory, name string) bool {
	for _, p := range inv.Packages {
		if p.Name == name {
			return true
		}
	}
	return false
}

func (b *run) checkHygiene(ctx context.Context, fs *diskfs.FS) error {
	findings, err := hygiene.Check(ctx, fs, hygiene.Options{Secrets: b.secrets()})
	if err != nil {
		return err
	}
	strict := b.img.Env.Hygiene == "strict"
	level := "warning"
	if strict {
		level = "error"
	}
	for _, f := range findings {
		b.logf("hygiene %s: %s: %s", level, f.Check, f.Detail)
		b.inspected.hygiene = append(b.inspected.hygiene, manifest.HygieneFinding{Check: f.Check, Detail: f.Detail, Error: strict})
	}
	if len(findings) == 0 {
		b.logf("hygiene: clean")
	}
	if strict && len(findings) > 0 {
		return fmt.Errorf("hygiene: strict: %d finding(s), first: %s: %s", len(findings), findings[0].Check, findings[0].Detail)
	}
	return nil
}

// writeInventory writes <image>-<version>.inventory.json and .cdx.json.
func (b *run) writeInventory(inv *inventory.Inventory) ([]File, error) {
	stem := fmt.Sprintf("%s-%s", b.img.Name, b.req.Version)
	invData, err := inventory.Marshal(inv)
	if err != nil {
		return nil, err
	}
	sbomData, err := sbom.Marshal(inv, sbom.Subject{Image: b.img.Name, Version: b.req.Version, BuildID: b.req.BuildID, GitSHA: b.req.GitSHA}, time.Now())
	if err != nil {
		return nil, err
	}
	// Package names and versions come from the image: a document scanners
	// would reject is a failed build, not a published artifact.
	if err := sbom.Validate(sbomData); err != nil {
		return nil, fmt.Errorf("sbom of %s: %w", stem, err)
	}
	var files []File
	for _, w := range []struct {
		ext, format string
		data        []byte
	}{{inventory.Ext, "inventory", invData}, {sbom.Ext, "sbom", sbomData}} {
		path := filepath.Join(b.req.OutDir, stem+"."+w.ext)
		b.written = append(b.written, path)
		if err := os.WriteFile(path, w.data, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", filepath.Base(path), err)
		}
		f, err := fileOf(path, w.format)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}
