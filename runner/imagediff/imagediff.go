// Package imagediff owns the comparison of two builds of an image: packages
// added, removed and changed (old -> new version), the kernel, and the size
// of each artifact. Compare returns a renderer-independent Diff; Markdown and
// Text render it for the MR comment and the command line.
package imagediff

import (
	"fmt"
	"sort"

	"github.com/imagebot/imagebot/runner/inventory"
)

// Side is one of the two builds compared: its inventory and artifact sizes.
type Side struct {
	Image     string
	Version   string
	Inventory *inventory.Inventory
	// Sizes maps an artifact format (qcow2, ova) to its size in bytes.
	Sizes map[string]int64
}

// Diff is what changed from Old to New.
type Diff struct {
	Image      string       `json:"image"`
	OldVersion string       `json:"old_version"`
	NewVersion string       `json:"new_version"`
	Added      []Package    `json:"added"`
	Removed    []Package    `json:"removed"`
	Changed    []Change     `json:"changed"`
	Kernel     *KernelDelta `json:"kernel,omitempty"` // nil when unchanged
	OS         *OSDelta     `json:"os,omitempty"`     // nil when unchanged
	Sizes      []SizeDelta  `json:"sizes"`
}

// Package is a package present on one side only.
type Package struct {
	Name    string `json:"name"`
	Arch    string `json:"arch"`
	Version string `json:"version"`
}

// Change is a package whose version differs.
type Change struct {
	Name       string `json:"name"`
	Arch       string `json:"arch"`
	OldVersion string `json:"old_version"`
	NewVersion string `json:"new_version"`
	// Downgrade is true when the new version sorts before the old one.
	Downgrade bool `json:"downgrade,omitempty"`
}

// KernelDelta is the kernel release before and after.
type KernelDelta struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// OSDelta is the OS version before and after.
type OSDelta struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// SizeDelta is one artifact format's size before and after (0: absent).
type SizeDelta struct {
	Format string `json:"format"`
	Old    int64  `json:"old"`
	New    int64  `json:"new"`
}

// Delta is New - Old.
func (s SizeDelta) Delta() int64 { return s.New - s.Old }

// Compare compares two builds. Either inventory may be nil (an old release
// made before inventories existed): then only sizes are compared.
func Compare(old, new Side) Diff {
	d := Diff{Image: new.Image, OldVersion: old.Version, NewVersion: new.Version}
	if d.Image == "" {
		d.Image = old.Image
	}
	if old.Inventory != nil && new.Inventory != nil {
		d.comparePackages(old.Inventory.Packages, new.Inventory.Packages)
		if old.Inventory.Kernel != new.Inventory.Kernel {
			d.Kernel = &KernelDelta{Old: old.Inventory.Kernel, New: new.Inventory.Kernel}
		}
		if o, n := osString(old.Inventory.OS), osString(new.Inventory.OS); o != n {
			d.OS = &OSDelta{Old: o, New: n}
		}
	}
	formats := map[string]bool{}
	for f := range old.Sizes {
		formats[f] = true
	}
	for f := range new.Sizes {
		formats[f] = true
	}
	for f := range formats {
		d.Sizes = append(d.Sizes, SizeDelta{Format: f, Old: old.Sizes[f], New: new.Sizes[f]})
	}
	sort.Slice(d.Sizes, func(i, j int) bool { return d.Sizes[i].Format < d.Sizes[j].Format })
	return d
}

func osString(o inventory.OS) string {
	if o.PrettyName != "" {
		return o.PrettyName
	}
	return o.Name + " " + o.Version
}

func (d *Diff) comparePackages(old, new []inventory.Package) {
	before := map[string]inventory.Package{}
	for _, p := range old {
		before[p.Key()] = p
	}
	seen := map[string]bool{}
	for _, p := range new {
		seen[p.Key()] = true
		o, ok := before[p.Key()]
		switch {
		case !ok:
			d.Added = append(d.Added, Package{Name: p.Name, Arch: p.Arch, Version: p.Version})
		case o.Version != p.Version:
			d.Changed = append(d.Changed, Change{Name: p.Name, Arch: p.Arch, OldVersion: o.Version, NewVersion: p.Version,
				Downgrade: inventory.CompareVersions(p.Version, o.Version) < 0})
		}
	}
	for _, p := range old {
		if !seen[p.Key()] {
			d.Removed = append(d.Removed, Package{Name: p.Name, Arch: p.Arch, Version: p.Version})
		}
	}
	sort.Slice(d.Added, func(i, j int) bool { return d.Added[i].Name < d.Added[j].Name })
	sort.Slice(d.Removed, func(i, j int) bool { return d.Removed[i].Name < d.Removed[j].Name })
	sort.Slice(d.Changed, func(i, j int) bool { return d.Changed[i].Name < d.Changed[j].Name })
}

// Empty reports whether nothing but sizes changed.
func (d Diff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0 && d.Kernel == nil && d.OS == nil
}

// Summary is the short line for a table row: "+3 −1 ~12 packages", or
// "no package changes".
func (d Diff) Summary() string {
	if len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0 {
		return "no package changes"
	}
	n := len(d.Added) + len(d.Removed) + len(d.Changed)
	noun := "packages"
	if n == 1 {
		noun = "package"
	}
	s := ""
	for _, part := range []struct {
		sign string
		n    int
	}{{"+", len(d.Added)}, {"−", len(d.Removed)}, {"~", len(d.Changed)}} {
		if part.n > 0 {
			s += fmt.Sprintf("%s%d ", part.sign, part.n)
		}
	}
	return s + noun
}
