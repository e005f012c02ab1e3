// Package catalog owns the images repository's model: it loads every
// images/<name>/ directory (its Packer template, env.yaml and provisioner),
// checks it, computes each image's inputs and digest, and answers which
// images a change affects and in what order they build.
package catalog

import "time"

// Catalog is every image of one checkout of the images repository.
type Catalog struct {
	Root   string            // absolute path of the repository checkout
	Images map[string]*Image // by name
	Order  []string          // build order: every base before its children, ties by name
}

// Image is one images/<name>/ directory.
type Image struct {
	Name     string
	Dir      string // repository-relative, e.g. "images/rocky9"
	Env      Env
	Template Template
	// Inputs are the repository-relative paths of every file that affects the
	// image (its directory, declared inputs, files its template references),
	// sorted. The base image enters the digest through its own digest.
	Inputs []string
	// Digest is "sha256:<hex>" over Inputs (path, mode, content) and the base's digest.
	Digest string
	// EnvPos locates env.yaml's keys ("timeout", "variables.x"), for
	// errors about their values found after loading.
	EnvPos map[string]Pos `json:"-"`
}

// Env is the image's env.yaml.
type Env struct {
	Name        string            `yaml:"name"`
	Version     string            `yaml:"version"` // semantic version, e.g. 1.4.0
	Description string            `yaml:"description"`
	OS          OS                `yaml:"os"`
	Formats     []string          `yaml:"formats"`             // subset of qcow2, ova
	Base        string            `yaml:"base,omitempty"`      // name of the image this one derives from
	Inputs      []string          `yaml:"inputs,omitempty"`    // extra repository-relative files or directories
	Variables   map[string]string `yaml:"variables,omitempty"` // handed to Packer as -var
	Timeout     time.Duration     `yaml:"timeout,omitempty"`   // build deadline; zero means the runner's default
	Labels      map[string]string `yaml:"labels,omitempty"`
	Hardware    Hardware          `yaml:"hardware,omitempty"` // what the OVA descriptor declares
	VSphere     *VSphere          `yaml:"vsphere,omitempty"`
	// Hygiene is "warn" (default, "" too) or "strict": hygiene findings fail the build.
	Hygiene string `yaml:"hygiene,omitempty"`
	// Checks name goss-style files resources/checks/<name>.yaml run in the
	// booted artifact after the build.
	Checks []string `yaml:"checks,omitempty"`
	// Refresh is "daily", "weekly" or a five-field cron expression (UTC):
	// when it comes due and the last release is older, imagebot opens a
	// merge request bumping the version (runner/schedule).
	Refresh string `yaml:"refresh,omitempty"`
}

// OS describes the guest operating system.
type OS struct {
	Family  string `yaml:"family"` // linux, windows
	Name    string `yaml:"name"`   // rocky, debian, centos, photon
	Version string `yaml:"version"`
	Arch    string `yaml:"arch"` // x86_64, aarch64
}

// Hardware is the virtual machine an exported image describes. Zero values
// mean the ova package's defaults.
type Hardware struct {
	CPUs     int    `yaml:"cpus,omitempty"`
	MemoryMB int    `yaml:"memory_mb,omitempty"`
	NIC      string `yaml:"nic,omitempty"`      // vmxnet3, e1000
	DiskBus  string `yaml:"disk_bus,omitempty"` // scsi (lsilogic), sata, ide
	Firmware string `yaml:"firmware,omitempty"` // bios, efi
}

// VSphere holds per-image vSphere publishing settings.
type VSphere struct {
	ContentLibrary string `yaml:"content_library,omitempty"` // publish released OVAs here
}

// Template is what the catalog reads from <name>.pkr.hcl.
type Template struct {
	Path      string // repository-relative
	Variables []Variable
	Sources   []Source
	Builds    []Build
	Files     []FileRef // every file the template references
	// RequiredPlugins are the entries of `packer { required_plugins { ... } }`
	// in any of the template's files; a template that has some needs `packer init`.
	RequiredPlugins []RequiredPlugin
	// RequiredVersion is `packer { required_version = "..." }` ("" when absent).
	RequiredVersion string
}

// RequiredPlugin is one entry of a required_plugins block.
type RequiredPlugin struct {
	Name    string // the entry's key, e.g. qemu
	Source  string // e.g. github.com/hashicorp/qemu
	Version string // constraint as written, e.g. ">= 1.0.9" ("" means any)
	Pos     Pos    // the entry's line, in whichever file declares it
}

// HasSourceType reports whether any source of the template is of one of types.
func (t Template) HasSourceType(types ...string) bool {
	for _, s := range t.Sources {
		for _, ty := range types {
			if s.Type == ty {
				return true
			}
		}
	}
	return false
}

// IsVSphere reports whether the template builds on vSphere, which is what
// makes imagebot inject the vSphere variables.
func (t Template) IsVSphere() bool { return t.HasSourceType("vsphere-iso", "vsphere-clone") }

// Injects reports whether imagebot sets the variable name for this template:
// its own variables always, the vSphere ones only for vSphere templates (a
// qemu template's vm_name or network is the template's own).
func (t Template) Injects(name string) bool {
	if !isInjected(name) {
		return false
	}
	return !IsVSphereVariable(name) || t.IsVSphere()
}

// Variable is a `variable` block.
type Variable struct {
	Name       string
	Type       string // as written: "string", "number", "list(string)", ... ("" when absent)
	Default    string // rendered default ("" when absent)
	HasDefault bool
	Sensitive  bool
	Pos        Pos
}

// Source is a `source "<type>" "<name>"` block.
type Source struct {
	Type string // qemu, vsphere-iso, vsphere-clone, null, ...
	Name string
	Pos  Pos
}

// Ref is how builds and `-only` name a source: "<type>.<name>".
func (s Source) Ref() string { return s.Type + "." + s.Name }

// Build is a `build` block.
type Build struct {
	Name    string
	Sources []string // "<type>.<name>"
	// Dynamic says `sources` is an expression (var.x, local.x, concat(...))
	// that Packer evaluates: Sources then holds only the nested source blocks.
	Dynamic bool
	Pos     Pos
}

// FileRef is one file or directory the template references.
type FileRef struct {
	Path string // repository-relative, cleaned
	Attr string // the attribute or function that referenced it: file(), http_directory, script, ...
	Pos  Pos
}

// Pos locates something in a file of the repository.
type Pos struct {
	File   string // repository-relative
	Line   int
	Column int
}
