package vsphere

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/ova"
)

// The hooks below are what the runner and the bot call around a build of an
// image whose template has vsphere-iso or vsphere-clone sources:
//
//	if vsphere.UsesVSphere(img, req.Only) {
//	    vars := vsphere.Vars(cfg, vsphere.Build{...})          // -> Packer (password via PKR_VAR_, redacted)
//	    err := vsphere.Preflight(ctx, cfg, vsphere.RequirementsFor(cat, img))  // before Packer starts
//	    ... packer build ...
//	    removed, err := vsphere.Finish(ctx, cfg, buildID, ok, vsphere.KeepName(img))  // after, always
//	    res, err := vsphere.PackExport(ctx, outputDir, outOVA)  // the OVF export -> OVA
//	}

// Builders that talk to vCenter.
var builders = []string{"vsphere-iso", "vsphere-clone"}

// UsesVSphere reports whether building img (restricted to the sources in
// only, "<type>.<name>", when not empty) runs a vSphere builder.
func UsesVSphere(img *catalog.Image, only []string) bool {
	for _, s := range img.Template.Sources {
		if slices.Contains(builders, s.Type) && (len(only) == 0 || slices.Contains(only, s.Ref())) {
			return true
		}
	}
	return false
}

func hasSource(img *catalog.Image, typ string) bool {
	return slices.ContainsFunc(img.Template.Sources, func(s catalog.Source) bool { return s.Type == typ })
}

// KeepName is the name the template of a successful build of img is kept
// under, when img installs a vSphere base (vsphere-iso); "" otherwise.
func KeepName(img *catalog.Image) string {
	if !hasSource(img, "vsphere-iso") {
		return ""
	}
	return TemplateName(img.Name, img.Digest)
}

// BaseTemplate is the template a vsphere-clone build of img starts from:
// its base image's kept template. "" when img has no base.
func BaseTemplate(cat *catalog.Catalog, img *catalog.Image) string {
	base, ok := cat.Images[img.Env.Base]
	if img.Env.Base == "" || !ok {
		return ""
	}
	return TemplateName(base.Name, base.Digest)
}

// RequirementsFor is what a build of img needs beyond the inventory: its
// base template (vsphere-clone), room for its disk (the disk_size variable,
// MiB, from env.yaml or the template's default), its content library.
func RequirementsFor(cat *catalog.Catalog, img *catalog.Image) Requirements {
	var req Requirements
	if hasSource(img, "vsphere-clone") {
		req.Template = BaseTemplate(cat, img)
		req.BaseImage = img.Env.Base
	}
	if mib, err := strconv.ParseInt(diskSize(img), 10, 64); err == nil && mib > 0 {
		req.MinFreeBytes = mib << 20
	}
	if img.Env.VSphere != nil {
		req.ContentLibrary = img.Env.VSphere.ContentLibrary
	}
	return req
}

func diskSize(img *catalog.Image) string {
	if v, ok := img.Env.Variables["disk_size"]; ok {
		return v
	}
	for _, v := range img.Template.Variables {
		if v.Name == "disk_size" {
			return strings.Trim(v.Default, `"`)
		}
	}
	return ""
}

// Build is what Vars needs to know about one build.
type Build struct {
	ID      string
	Version string // the version being built
	Image   *catalog.Image
	Catalog *catalog.Catalog
}

// Vars are the vSphere variables imagebot injects (see catalog's Var*
// names), including the vCenter password: hand it to Packer through the
// environment (PKR_VAR_vcenter_password), not the command line, and add
// Secrets(cfg) to the redactor. The runner keeps only those the template
// declares.
func Vars(cfg Config, b Build) map[string]string {
	vars := map[string]string{
		catalog.VarVCenterServer:      cfg.Server(),
		catalog.VarVCenterUsername:    cfg.Username,
		catalog.VarVCenterPassword:    cfg.Password,
		catalog.VarInsecureConnection: strconv.FormatBool(cfg.Insecure),
		catalog.VarDatacenter:         cfg.Datacenter,
		catalog.VarCluster:            cfg.Cluster,
		catalog.VarHost:               cfg.Host,
		catalog.VarResourcePool:       cfg.ResourcePool,
		catalog.VarDatastore:          cfg.Datastore,
		catalog.VarNetwork:            cfg.Network,
		catalog.VarFolder:             cfg.Folder,
		catalog.VarVMName:             VMName(b.ID, b.Image.Name),
		catalog.VarVMNotes:            Notes(b.ID, b.Image.Name, b.Version),
	}
	if b.Catalog != nil && hasSource(b.Image, "vsphere-clone") {
		if t := BaseTemplate(b.Catalog, b.Image); t != "" {
			vars[catalog.VarBaseImage] = t
			vars[catalog.VarBaseImageChecksum] = "none"
		}
	}
	return vars
}

// Secrets are the configuration's values that must never reach a log.
func Secrets(cfg Config) []string {
	if cfg.Password == "" {
		return nil
	}
	return []string{cfg.Password}
}

// Finish runs after every vSphere build, whatever its outcome. When the
// build succeeded and keepAs is not empty (see KeepName) the build's
// template is kept under that name first; then everything else the build
// left in vCenter (the clone a vsphere-clone build exported, or all of a
// cancelled, timed-out or failed build's machines) is removed.
func Finish(ctx context.Context, cfg Config, buildID string, succeeded bool, keepAs string) ([]string, error) {
	var keepErr error
	if succeeded && keepAs != "" {
		keepErr = Keep(ctx, cfg, buildID, keepAs)
	}
	removed, err := Cleanup(ctx, cfg, buildID)
	if keepErr != nil {
		return removed, keepErr
	}
	return removed, err
}

// ExportedOVF finds the descriptor Packer's `export {}` wrote into dir
// (<name>.ovf beside <name>-disk-0.vmdk and <name>.mf).
func ExportedOVF(dir string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.ovf"))
	if err != nil {
		return "", err
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("no OVF descriptor in %s: does the vSphere source have an export block writing to output_directory?", dir)
	case 1:
		return matches[0], nil
	default:
		return "", fmt.Errorf("%d OVF descriptors in %s (%s); expected one", len(matches), dir, strings.Join(matches, ", "))
	}
}

// PackExport packs the OVF export in dir into an OVA at outOVA with the
// artifact packer (descriptor first, .mf of SHA256 sums, outOVA.sha256).
func PackExport(ctx context.Context, dir, outOVA string) (*ova.Result, error) {
	desc, err := ExportedOVF(dir)
	if err != nil {
		return nil, err
	}
	return ova.FromOVF(ctx, desc, outOVA)
}

// PublishRelease publishes a released OVA of img to its content library
// (env.yaml's vsphere.content_library, else the deployment's) as the item
// "<image>-<version>" and returns the manifest's record of it; nil, nil
// when neither names a library.
func PublishRelease(ctx context.Context, cfg Config, img *catalog.Image, version, ovaPath string) (*manifest.Location, error) {
	lib := cfg.ContentLibrary
	if img.Env.VSphere != nil && img.Env.VSphere.ContentLibrary != "" {
		lib = img.Env.VSphere.ContentLibrary
	}
	if lib == "" {
		return nil, nil
	}
	loc, err := PublishOVA(ctx, cfg, lib, img.Name+"-"+version, ovaPath)
	if err != nil {
		return nil, err
	}
	m := loc.Manifest(filepath.Base(ovaPath))
	return &m, nil
}
