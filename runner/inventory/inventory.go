// Package inventory owns what is in a built image: its OS, kernel and every
// installed package (dpkg and rpm), read offline from the disk through
// runner/diskfs, and the inventory.json written beside the artifacts.
package inventory

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/diskfs"
)

// SchemaVersion is the inventory.json format's version.
const SchemaVersion = 1

// Ext is the artifact extension of an inventory (image-version.inventory.json).
const Ext = "inventory.json"

// Inventory is what an image contains. Add fields, never rename them.
type Inventory struct {
	Schema  int      `json:"schema"`
	Image   string   `json:"image,omitempty"`
	Version string   `json:"version,omitempty"`
	OS      OS       `json:"os"`
	Kernel  string   `json:"kernel,omitempty"`  // the newest installed kernel release, e.g. 6.1.0-28-amd64
	Kernels []string `json:"kernels,omitempty"` // every kernel release in /boot
	// PackageManager is dpkg or rpm.
	PackageManager string    `json:"package_manager"`
	Packages       []Package `json:"packages"`
	ReadAt         time.Time `json:"read_at"`
}

// OS is the image's operating system from /etc/os-release.
type OS struct {
	ID         string `json:"id"` // debian, rocky, centos
	Name       string `json:"name"`
	Version    string `json:"version"` // VERSION_ID
	PrettyName string `json:"pretty_name,omitempty"`
	Arch       string `json:"arch,omitempty"` // the package manager's: amd64, x86_64
}

// Package is one installed package.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"` // dpkg: [epoch:]upstream[-revision]; rpm: [epoch:]version-release
	Arch    string `json:"arch"`
	Source  string `json:"source,omitempty"` // source package (dpkg Source:, rpm SOURCERPM)
	// SourceVersion is set when the source package's version differs (dpkg binNMUs).
	SourceVersion string `json:"source_version,omitempty"`
}

// Reader is what inventory needs from an offline filesystem (diskfs.FS).
type Reader interface {
	ReadFile(ctx context.Context, path string) ([]byte, error)
	ReadDir(ctx context.Context, path string) ([]diskfs.Entry, error)
}

// Read reads the inventory of the filesystem fs.
func Read(ctx context.Context, fs Reader) (*Inventory, error) {
	inv := &Inventory{Schema: SchemaVersion, ReadAt: time.Now().UTC()}
	osr, err := readOSRelease(ctx, fs)
	if err != nil {
		return nil, err
	}
	inv.OS = osr
	if inv.Kernels, err = kernels(ctx, fs); err != nil {
		return nil, err
	}
	if n := len(inv.Kernels); n > 0 {
		inv.Kernel = inv.Kernels[n-1]
	}
	status, err := fs.ReadFile(ctx, "/var/lib/dpkg/status")
	switch {
	case err == nil:
		inv.PackageManager = "dpkg"
		if inv.Packages, err = ParseDpkgStatus(status); err != nil {
			return nil, fmt.Errorf("/var/lib/dpkg/status: %w", err)
		}
		inv.OS.Arch = dpkgArch(ctx, fs, inv.Packages)
	case errors.Is(err, diskfs.ErrNotExist):
		if inv.Packages, err = readRPM(ctx, fs); err != nil {
			return nil, err
		}
		inv.PackageManager = "rpm"
		inv.OS.Arch = rpmArch(inv.Packages)
	default:
		return nil, fmt.Errorf("read /var/lib/dpkg/status: %w", err)
	}
	sortPackages(inv.Packages)
	return inv, nil
}

func readOSRelease(ctx context.Context, fs Reader) (OS, error) {
	data, err := fs.ReadFile(ctx, "/etc/os-release")
	if errors.Is(err, diskfs.ErrNotExist) {
		data, err = fs.ReadFile(ctx, "/usr/lib/os-release")
	}
	if err != nil {
		return OS{}, fmt.Errorf("read os-release: %w", err)
	}
	kv := ParseOSRelease(data)
	return OS{ID: kv["ID"], Name: kv["NAME"], Version: kv["VERSION_ID"], PrettyName: kv["PRETTY_NAME"]}, nil
}

// ParseOSRelease parses os-release(5): KEY=value lines, values optionally quoted.
func ParseOSRelease(data []byte) map[string]string {
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		kv[k] = v
	}
	return kv
}

// kernels lists the kernel releases with an image in /boot (vmlinuz-*,
// rescue kernels left out), sorted so the newest is last.
func kernels(ctx context.Context, fs Reader) ([]string, error) {
	entries, err := fs.ReadDir(ctx, "/boot")
	if errors.Is(err, diskfs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list /boot: %w", err)
	}
	var out []string
	for _, e := range entries {
		rel, ok := strings.CutPrefix(e.Name, "vmlinuz-")
		if !ok || !e.IsRegular() || strings.Contains(rel, "rescue") {
			continue
		}
		out = append(out, rel)
	}
	sort.Slice(out, func(i, j int) bool { return CompareVersions(out[i], out[j]) < 0 })
	return out, nil
}

func sortPackages(p []Package) {
	sort.Slice(p, func(i, j int) bool {
		if p[i].Name != p[j].Name {
			return p[i].Name < p[j].Name
		}
		return p[i].Arch < p[j].Arch
	})
}

// Key identifies a package across versions: name, plus the architecture
// when it is not the only one (multiarch dpkg, multilib rpm).
func (p Package) Key() string { return p.Name + ":" + p.Arch }

// Marshal encodes inv as indented JSON.
func Marshal(inv *Inventory) ([]byte, error) {
	c := *inv
	c.Schema = SchemaVersion
	if c.Packages == nil {
		c.Packages = []Package{}
	}
	data, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	return append(data, '\n'), nil
}

// Unmarshal decodes an inventory.json.
func Unmarshal(data []byte) (*Inventory, error) {
	var inv Inventory
	if err := json.Unmarshal(data, &inv); err != nil {
		return nil, fmt.Errorf("decode inventory: %w", err)
	}
	if inv.Schema != SchemaVersion {
		return nil, fmt.Errorf("decode inventory: schema %d, this imagebot reads %d", inv.Schema, SchemaVersion)
	}
	return &inv, nil
}

// ReadFile reads an inventory.json file.
func ReadFile(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	inv, err := Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return inv, nil
}
