package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
)

// A template may have several sources (seed 004 builds OpenStack and AWS
// images from one template). A runner builds those whose builder it has a
// capability for and passes the rest over with Packer's -only, so that a
// source it cannot build never starts. Each source's artifacts are kept
// apart in the Result and the manifest.

// Capabilities a runner can declare (Config.Capabilities).
const (
	CapQEMU    = "qemu"
	CapVSphere = "vsphere"
	CapAmazon  = "amazon"
)

// Capability is the runner capability a builder type needs; "" for builders
// any runner can run (null, file).
func Capability(builder string) string {
	switch {
	case builder == "qemu":
		return CapQEMU
	case strings.HasPrefix(builder, "vsphere-"):
		return CapVSphere
	case strings.HasPrefix(builder, "amazon-"):
		return CapAmazon
	case builder == "null" || builder == "file":
		return ""
	}
	return builder // an unknown builder needs a capability of its own name
}

// defaultCapabilities: qemu everywhere, vsphere where a vCenter is configured.
func defaultCapabilities(cfg Config) []string {
	caps := []string{CapQEMU}
	if cfg.VSphere != nil {
		caps = append(caps, CapVSphere)
	}
	return caps
}

// SourceArtifact is what one source of a build produced.
type SourceArtifact struct {
	Source    string            `json:"source"` // Packer's build name, e.g. "amazon-ebs.web"
	BuilderID string            `json:"builder_id"`
	ID        string            `json:"id,omitempty"`
	IDs       map[string]string `json:"ids,omitempty"` // cloud ids by region
	Files     []string          `json:"files,omitempty"`
}

// planSources returns the sources of img this runner builds (all it can
// among only, or among every source when only is empty) and, for each one
// left out, why. An error when none is left.
func (r *Runner) planSources(img *catalog.Image, only []string) (run []string, skipped []string, err error) {
	for _, s := range img.Template.Sources {
		if len(only) > 0 && !slices.Contains(only, s.Ref()) {
			continue
		}
		if c := Capability(s.Type); c != "" && !slices.Contains(r.cfg.Capabilities, c) {
			skipped = append(skipped, fmt.Sprintf("%s (needs runner capability %q)", s.Ref(), c))
			continue
		}
		run = append(run, s.Ref())
	}
	if len(run) == 0 && len(img.Template.Sources) > 0 {
		return nil, skipped, fmt.Errorf("no source of %s can be built on this runner (capabilities %s): %s",
			img.Name, strings.Join(r.cfg.Capabilities, ", "), strings.Join(skipped, "; "))
	}
	return run, skipped, nil
}

// packerOnly turns source refs into -only patterns: a source used by a named
// build is called "<build>.<type>.<name>" by Packer.
func packerOnly(img *catalog.Image, refs []string) []string {
	var out []string
	for _, ref := range refs {
		named := false
		for _, b := range img.Template.Builds {
			if b.Name != "" && (b.Dynamic || slices.Contains(b.Sources, ref)) {
				out = append(out, b.Name+"."+ref)
				named = true
			}
		}
		if !named {
			out = append(out, ref)
		}
	}
	return out
}

// sourceArtifacts groups what Packer reported by source.
func (b *run) sourceArtifacts() []SourceArtifact {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []SourceArtifact
	for _, a := range b.artifacts {
		sa := SourceArtifact{Source: a.Source, BuilderID: a.BuilderID, ID: a.ID, IDs: a.IDs}
		for _, f := range a.Files {
			sa.Files = append(sa.Files, filepath.Base(f))
		}
		out = append(out, sa)
	}
	return out
}

// cloudOnly says every artifact is a cloud image (ids, no files): there is
// no disk to finish, the ids are the result.
func (b *run) cloudOnly() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.artifacts) == 0 {
		return false
	}
	for _, a := range b.artifacts {
		if len(a.Files) > 0 || len(a.IDs) == 0 {
			return false
		}
	}
	return true
}

// initPlugins runs `packer init` for a template with required_plugins,
// against the runner's plugin directory and with no network: a plugin is
// never downloaded for a build.
func (b *run) initPlugins(ctx context.Context) error {
	if len(b.img.Template.RequiredPlugins) == 0 {
		return nil
	}
	installed, err := packer.InstalledPlugins(b.r.cfg.PluginDir)
	if err != nil {
		return err
	}
	for _, rp := range b.img.Template.RequiredPlugins {
		if _, ok, err := packer.Satisfied(installed, rp.Source, rp.Version); err != nil || !ok {
			return fmt.Errorf("%s:%d: required plugin %q (%s %s) is not in the runner's plugin directory %s (installed: %v)",
				rp.Pos.File, rp.Pos.Line, rp.Name, rp.Source, rp.Version, b.r.cfg.PluginDir, installed)
		}
	}
	b.logf("packer init (plugin directory %s)", b.r.cfg.PluginDir)
	return packer.Init(ctx, packer.InitOptions{Packer: b.r.cfg.Packer, Dir: b.imageDir, PluginDir: b.r.cfg.PluginDir,
		Home: b.home, Env: []string{"TMPDIR=" + b.tmp}, Offline: true})
}

// pluginEnv points packer at the runner's plugin directory.
func (r *Runner) pluginEnv() []string {
	if r.cfg.PluginDir == "" {
		return nil
	}
	return []string{"PACKER_PLUGIN_PATH=" + r.cfg.PluginDir}
}

// Plugins lists the plugins of the runner's plugin directory (for the manifest).
func (r *Runner) Plugins() []packer.Plugin {
	ps, err := packer.InstalledPlugins(r.cfg.PluginDir)
	if err != nil {
		r.cfg.Log.Warn().Err(err).Msg("list packer plugins")
	}
	return ps
}
