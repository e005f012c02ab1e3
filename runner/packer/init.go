package packer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"

	goversion "github.com/hashicorp/go-version"
)

// Plugins live in one directory per runner (PACKER_PLUGIN_PATH), filled by
// deploy/install-tools.sh with `packer plugins install --path`, so that
// `packer init` finds every plugin a template requires there and never
// downloads one. Packer 1.9.4 through 1.14 read the same layout:
// <dir>/<source>/packer-plugin-<name>_v<version>_x<api>_<os>_<arch>.

// Plugin is one installed plugin.
type Plugin struct {
	Source  string `json:"source"`  // e.g. github.com/hashicorp/qemu
	Version string `json:"version"` // e.g. 1.0.9
}

func (p Plugin) String() string { return p.Source + " " + p.Version }

// LocatePluginDir returns the plugin directory: the configured one, else
// $PACKER_PLUGIN_PATH, else <repoRoot>/.tools/packer-plugins when it exists;
// "" when there is none (Packer then uses its own default, ~/.config/packer/plugins).
func LocatePluginDir(configured, repoRoot string) string {
	for _, d := range []string{configured, os.Getenv("PACKER_PLUGIN_PATH")} {
		if d != "" {
			if abs, err := filepath.Abs(d); err == nil {
				return abs
			}
			return d
		}
	}
	if repoRoot != "" {
		d := filepath.Join(repoRoot, ".tools", "packer-plugins")
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			if abs, err := filepath.Abs(d); err == nil {
				return abs
			}
		}
	}
	return ""
}

// "packer-plugin-qemu_v1.0.9_x5.0_linux_amd64"
var pluginFileRE = regexp.MustCompile(`^packer-plugin-([a-z0-9-]+)_v([0-9][^_]*)_x[0-9.]+_[a-z0-9]+_[a-z0-9]+(\.exe)?$`)

// InstalledPlugins lists the plugins in dir, sorted by source then version.
// A missing directory has none.
func InstalledPlugins(dir string) ([]Plugin, error) {
	if dir == "" {
		return nil, nil
	}
	var out []Plugin
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		m := pluginFileRE.FindStringSubmatch(d.Name())
		if m == nil {
			return nil
		}
		rel, err := filepath.Rel(dir, filepath.Dir(path))
		if err != nil {
			return nil
		}
		out = append(out, Plugin{Source: filepath.ToSlash(rel), Version: m[2]})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list plugins in %s: %w", dir, err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Source != out[j].Source {
			return out[i].Source < out[j].Source
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}

// Satisfied returns the newest installed plugin of source that meets the
// version constraint ("" means any). An invalid constraint is an error.
func Satisfied(installed []Plugin, source, constraint string) (Plugin, bool, error) {
	var cs goversion.Constraints
	if strings.TrimSpace(constraint) != "" {
		c, err := goversion.NewConstraint(constraint)
		if err != nil {
			return Plugin{}, false, fmt.Errorf("version constraint %q: %w", constraint, err)
		}
		cs = c
	}
	var best Plugin
	var bestV *goversion.Version
	for _, p := range installed {
		if !strings.EqualFold(p.Source, source) {
			continue
		}
		v, err := goversion.NewVersion(p.Version)
		if err != nil || (cs != nil && !cs.Check(v)) {
			continue
		}
		if bestV == nil || v.GreaterThan(bestV) {
			best, bestV = p, v
		}
	}
	return best, bestV != nil, nil
}

// InitOptions says how to run `packer init`.
type InitOptions struct {
	Packer    string // the packer binary
	Dir       string // the image's directory
	PluginDir string // PACKER_PLUGIN_PATH; "" leaves Packer's default
	Home      string // HOME; "" leaves none
	Env       []string
	// Offline runs packer in a network namespace of its own with no
	// interface but a down loopback, so no plugin lookup can leave the
	// host (see Isolate).
	Offline bool
}

// Init runs `packer init .` in the image directory. With every required
// plugin already in the plugin directory it installs nothing and needs no
// network. The error carries packer's own message.
func Init(ctx context.Context, o InitOptions) error {
	cmd := exec.CommandContext(ctx, o.Packer, "init", ".")
	cmd.Dir = o.Dir
	cmd.Env = Environ(osEnviron(), o.Home, "", nil) // never imagebot's own environment
	if o.PluginDir != "" {
		cmd.Env = append(cmd.Env, "PACKER_PLUGIN_PATH="+o.PluginDir)
	}
	cmd.Env = append(cmd.Env, o.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if o.Offline {
		Isolate(cmd)
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("packer init: %s", msg)
	}
	return nil
}

// Isolate makes cmd start in a new network namespace: only a loopback
// interface, down, so any connection attempt fails at once. As root that is
// CLONE_NEWNET alone; otherwise a user namespace maps the caller to root
// inside so that the kernel allows it.
func Isolate(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWNET
	if os.Geteuid() != 0 {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
}
