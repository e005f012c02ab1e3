package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imagebot/imagebot/runner/packer"
	"github.com/imagebot/imagebot/runner/vsphere"
)

// Settings are the runner's keys in imagebot's configuration file, under
// `runner:`. Relative directories are taken from the repository root.
type Settings struct {
	Packer         string            `yaml:"packer"`          // packer binary; default .tools/bin/packer, then PATH
	WorkDir        string            `yaml:"work_dir"`        // default .imagebot/work
	CacheDir       string            `yaml:"cache_dir"`       // default .imagebot/cache
	Slots          int               `yaml:"slots"`           // default 1
	DefaultTimeout time.Duration     `yaml:"default_timeout"` // default 2h
	Accelerator    string            `yaml:"accelerator"`     // auto (default), kvm, tcg
	CancelGrace    time.Duration     `yaml:"cancel_grace"`    // default 90s
	KeepBases      int               `yaml:"keep_bases"`      // digests kept per base image; default 3
	Secrets        map[string]string `yaml:"secrets"`         // masked in logs, events and output
	BuildUser      string            `yaml:"build_user"`      // run builds as this unprivileged user (name, uid or uid:gid)
	BuildUIDs      string            `yaml:"build_uids"`      // with build_user: a uid of its own per running build, e.g. 2000000-2000015
	MaxTimeout     time.Duration     `yaml:"max_timeout"`     // longest env.yaml timeout accepted; default 6h
	Retention      time.Duration     `yaml:"retention"`       // working directories and outputs older than this are swept; default 72h
	PluginDir      string            `yaml:"plugin_dir"`      // Packer plugin directory; default .tools/packer-plugins when present
	Capabilities   []string          `yaml:"capabilities"`    // builder families built here: qemu, vsphere, amazon
	Network        string            `yaml:"network"`         // none (default: loopback only) or host, for builds with only local sources
	NetworkImages  map[string]string `yaml:"network_images"`  // image name -> none or host, overriding network
	ISOs           map[string]string `yaml:"isos"`            // installer ISO file name -> path or URL
	ISODir         string            `yaml:"iso_dir"`         // installer ISOs by file name; default .tools/iso
	// VSphere is the configuration's top-level `vsphere:` section (shared
	// with imagebot serve), not a key under `runner:`; nil when absent.
	VSphere *vsphere.Config `yaml:"-"`
}

// ReadSettings reads the `runner:` section of a configuration file (other
// sections belong to other parts of imagebot and are ignored here).
func ReadSettings(path string) (Settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Settings{}, fmt.Errorf("read config: %w", err)
	}
	var doc struct {
		Runner  Settings        `yaml:"runner"`
		VSphere *vsphere.Config `yaml:"vsphere"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Settings{}, fmt.Errorf("config %s: %w", path, err)
	}
	if doc.VSphere != nil {
		if err := doc.VSphere.ResolvePassword(); err != nil {
			return Settings{}, fmt.Errorf("config %s: %w", path, err)
		}
		doc.Runner.VSphere = doc.VSphere
	}
	return doc.Runner, nil
}

// Config turns settings into a Config, with defaults below repoRoot.
func (s Settings) Config(repoRoot string) Config {
	dir := func(p, def string) string {
		if p == "" {
			p = def
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(repoRoot, p)
		}
		return p
	}
	return Config{
		Packer:         s.Packer,
		WorkDir:        dir(s.WorkDir, ".imagebot/work"),
		CacheDir:       dir(s.CacheDir, ".imagebot/cache"),
		Slots:          s.Slots,
		DefaultTimeout: s.DefaultTimeout,
		Accelerator:    s.Accelerator,
		Grace:          s.CancelGrace,
		KeepBases:      s.KeepBases,
		Secrets:        s.Secrets,
		BuildUser:      s.BuildUser,
		BuildUIDs:      s.BuildUIDs,
		MaxTimeout:     s.MaxTimeout,
		Retention:      s.Retention,
		ISOs:           s.ISOs,
		ISODir:         dir(s.ISODir, ".tools/iso"),
		VSphere:        s.VSphere,
		PluginDir:      pluginDir(s.PluginDir, repoRoot),
		Capabilities:   s.Capabilities,
		Network:        s.Network,
		NetworkImages:  s.NetworkImages,
	}
}

// pluginDir is the configured plugin directory (relative to repoRoot), else
// $PACKER_PLUGIN_PATH, else repoRoot/.tools/packer-plugins when present.
func pluginDir(configured, repoRoot string) string {
	if configured != "" && !filepath.IsAbs(configured) {
		configured = filepath.Join(repoRoot, configured)
	}
	return packer.LocatePluginDir(configured, repoRoot)
}
