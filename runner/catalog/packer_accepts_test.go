package catalog

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeImage writes one image "x" with the given template and extra files
// (repository-relative paths) into a fresh repository and loads it.
func loadOne(t *testing.T, tpl, env string, files map[string]string) (*Catalog, Diagnostics) {
	t.Helper()
	root := t.TempDir()
	all := map[string]string{
		"images/x/x.pkr.hcl":      tpl,
		"images/x/provisioner.sh": "#!/bin/bash\ntrue\n",
		"images/x/env.yaml":       "name: x\nversion: 1.0.0\ndescription: test\nos:\n  family: linux\n  name: debian\n  version: \"12\"\n  arch: x86_64\nformats: [qcow2]\n" + env,
	}
	for k, v := range files {
		all[k] = v
	}
	for p, content := range all {
		abs := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(abs, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Load(root)
}

const qemuSource = `
source "qemu" "a" {
  iso_url      = "https://example.com/x.iso"
  iso_checksum = "none"
  ssh_username = "root"
}
source "qemu" "b" {
  iso_url      = "https://example.com/x.iso"
  iso_checksum = "none"
  ssh_username = "root"
}
`

// Each case is something Packer accepts that the catalog refused (or warned
// about) before issue 12: it must load with no error and no warning.
func TestCatalogAcceptsWhatPackerAccepts(t *testing.T) {
	tests := []struct {
		name  string
		tpl   string
		env   string
		files map[string]string
	}{
		{"sources from a variable", qemuSource + `
variable "sources_enabled" {
  type    = list(string)
  default = ["source.qemu.a"]
}
build {
  sources = var.sources_enabled
}`, "", nil},
		{"sources from a local", qemuSource + `
locals {
  srcs = ["source.qemu.a", "source.qemu.b"]
}
build {
  sources = local.srcs
}`, "", nil},
		{"sources from concat", qemuSource + `
build {
  sources = concat(["source.qemu.a"], ["source.qemu.b"])
}`, "", nil},
		{"vSphere variable names in a qemu template, set in env.yaml", qemuSource + `
variable "vm_name" {
  type = string
}
variable "network" {
  type = string
}
build {
  sources = ["source.qemu.a"]
}`, "variables:\n  vm_name: web01\n  network: user\n", nil},
		{"a /dev/null default used as a path", `
variable "preseed" {
  type    = string
  default = "/dev/null"
}
source "qemu" "a" {
  iso_url        = "https://example.com/x.iso"
  iso_checksum   = "none"
  ssh_username   = "root"
  http_directory = var.preseed
}
build {
  sources = ["source.qemu.a"]
}`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := loadOne(t, tt.tpl, tt.env, tt.files)
			if len(diags) > 0 {
				t.Errorf("want no diagnostics, got:\n%s", diags.Error())
			}
		})
	}
}

// A glob that matches nothing is accepted by Packer: a warning, not an error.
func TestEmptyGlobIsAWarning(t *testing.T) {
	for _, attr := range []string{"cd_files", "floppy_files"} {
		t.Run(attr, func(t *testing.T) {
			_, diags := loadOne(t, `
source "qemu" "a" {
  iso_url      = "https://example.com/x.iso"
  iso_checksum = "none"
  ssh_username = "root"
  `+attr+` = ["./extra/*.cfg"]
}
build {
  sources = ["source.qemu.a"]
}`, "", nil)
			if diags.HasErrors() {
				t.Fatalf("want no error, got:\n%s", diags.Error())
			}
			if len(diags) != 1 || !strings.Contains(diags[0].Message, "matches no file") || diags[0].Line != 6 {
				t.Errorf("want one warning at line 6 saying the pattern matches no file, got:\n%s", diags.Error())
			}
		})
	}
}

// Every bad entry of a long list is reported at its own line.
func TestListErrorsPointAtEachEntry(t *testing.T) {
	_, diags := loadOne(t, `
source "qemu" "a" {
  iso_url      = "https://example.com/x.iso"
  iso_checksum = "none"
  ssh_username = "root"
  cd_files = [
    "./meta-data",
    "./user-data",
    "./vendor-data",
  ]
}
build {
  sources = ["source.qemu.a"]
}`, "", map[string]string{"images/x/vendor-data": "{}"})
	var lines []int
	for _, d := range diags {
		if d.Severity == SeverityError && strings.Contains(d.Message, "does not exist") {
			lines = append(lines, d.Line)
		}
	}
	if !slices.Equal(lines, []int{7, 8}) {
		t.Errorf("errors at lines %v, want 7 and 8:\n%s", lines, diags.Error())
	}
}

// required_plugins entries are read with their own file and line, also
// when the packer block sits in another file of the template.
func TestRequiredPluginsLocated(t *testing.T) {
	cat, diags := loadOne(t, qemuSource+`
build {
  sources = ["source.qemu.a"]
}`, "", map[string]string{"images/x/plugins.pkr.hcl": `packer {
  required_version = ">= 1.9.4"
  required_plugins {
    qemu = {
      source  = "github.com/hashicorp/qemu"
      version = ">= 1.0.9"
    }
  }
}
`})
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", diags.Error())
	}
	tpl := cat.Images["x"].Template
	want := RequiredPlugin{Name: "qemu", Source: "github.com/hashicorp/qemu", Version: ">= 1.0.9", Pos: Pos{File: "images/x/plugins.pkr.hcl", Line: 4, Column: 5}}
	if len(tpl.RequiredPlugins) != 1 || tpl.RequiredPlugins[0] != want || tpl.RequiredVersion != ">= 1.9.4" {
		t.Errorf("required plugins %+v, version %q; want %+v", tpl.RequiredPlugins, tpl.RequiredVersion, want)
	}
}
