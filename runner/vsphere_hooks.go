package runner

// vSphere hooks (owner: vsphere engineer; kept apart from the build flow so
// that the runner's files stay untouched). For an image whose template has
// vsphere-iso or vsphere-clone sources, the build flow calls:
//
//	vars, env, err := b.vsphereBefore(ctx, cfg)  // before packer: preflight; merge vars into
//	                                             // runPacker's extra, env into BuildOptions.Env
//	b.vsphereAfter(ctx, cfg, succeeded)          // after packer, whatever happened
//	file, err := b.vsphereOVA(ctx)               // instead of collect+finish: export -> OVA
//
// cfg is the deployment's vSphere configuration (nil: no vSphere here). Put
// cfg.Password into Config.Secrets so the redactor masks it.

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/vsphere"
)

// vsphereBefore checks the build's vSphere prerequisites in seconds and
// returns the variables to inject; the vCenter password comes back as a
// PKR_VAR_ environment entry so it never shows on packer's command line.
func (b *run) vsphereBefore(ctx context.Context, cfg *vsphere.Config) (map[string]string, []string, error) {
	if !vsphere.UsesVSphere(b.img, b.req.Only) {
		return nil, nil, nil
	}
	if cfg == nil {
		return nil, nil, fmt.Errorf("%s builds on vSphere, and this runner has no vSphere configuration (the vsphere: section of the configuration file, or IMAGEBOT_VSPHERE_URL and the other IMAGEBOT_VSPHERE_* variables)", b.img.Name)
	}
	if err := vsphere.Preflight(ctx, *cfg, vsphere.RequirementsFor(b.cat, b.img)); err != nil {
		return nil, nil, err
	}
	b.logf("vsphere preflight passed (%s, datacenter %s)", cfg.Server(), cfg.Datacenter)
	vars := vsphere.Vars(*cfg, vsphere.Build{ID: b.req.BuildID, Version: b.req.Version, Image: b.img, Catalog: b.cat})
	env := []string{"PKR_VAR_" + catalog.VarVCenterPassword + "=" + vars[catalog.VarVCenterPassword]}
	delete(vars, catalog.VarVCenterPassword)
	return vars, env, nil
}

// vsphereAfter keeps a successful base build's template and removes
// everything else the build left in vCenter, even when ctx is cancelled.
func (b *run) vsphereAfter(ctx context.Context, cfg *vsphere.Config, succeeded bool) {
	if cfg == nil || !vsphere.UsesVSphere(b.img, b.req.Only) {
		return
	}
	removed, err := vsphere.Finish(context.WithoutCancel(ctx), *cfg, b.req.BuildID, succeeded, vsphere.KeepName(b.img))
	for _, name := range removed {
		b.logf("vsphere: removed %s", name)
	}
	if err != nil {
		b.logf("vsphere: after the build: %v", err)
	}
}

// vsphereOVA packs the build's OVF export (Packer's export block writes it
// to output_directory) into <image>-<version>.ova in the output directory.
func (b *run) vsphereOVA(ctx context.Context) (File, error) {
	dst := filepath.Join(b.req.OutDir, fmt.Sprintf("%s-%s.ova", b.img.Name, b.req.Version))
	b.written = append(b.written, dst, dst+".sha256", dst+".partial")
	res, err := vsphere.PackExport(ctx, filepath.Join(b.work, "output"), dst)
	if err != nil {
		return File{}, err
	}
	return File{Name: filepath.Base(dst), Path: dst, Format: "ova", Size: res.Size, SHA256: res.SHA256}, nil
}
