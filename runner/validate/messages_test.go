package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/catalog/catalogtest"
	"github.com/imagebot/imagebot/runner/testenv"
)

// Packer's messages as it prints them (1.9 and 1.14), and the one line a
// person should read: no quoted source glued into the text, one colon
// between summary and detail, bullets kept one per line.
func TestPackerMessagesAreTidy(t *testing.T) {
	img := &catalog.Image{Name: "web", Dir: "images/web", Template: catalog.Template{Path: "images/web/web.pkr.hcl"}}
	tests := []struct {
		name, text, want string
		line             int
	}{
		{"quoted source line left out", "Error: Unsupported Packer Core version\n\n  on web.pkr.hcl line 2, in packer:\n   2:   required_version = \">= 1.10.0\"\n\nThis configuration does not support Packer version 1.9.4. To proceed, either\nchoose another supported Packer version or update this version constraint.",
			`packer validate: Unsupported Packer Core version: This configuration does not support Packer version 1.9.4. To proceed, either choose another supported Packer version or update this version constraint.`, 2},
		{"no doubled colon, bullets kept", "Error: 1 error(s) occurred:\n\n* checksum is not a valid sha256\n* boot_wait must be a duration",
			"packer validate: 1 error(s) occurred:\n* checksum is not a valid sha256\n* boot_wait must be a duration", 0},
		{"expression notes left out", "Error: Invalid value for variable\n\n  on web.pkr.hcl line 7:\n   7:   default = 3\n    ├────────────────\n    │ var.x is 3\n\nThe value must be a string.",
			"packer validate: Invalid value for variable: The value must be a string.", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := packerDiagnostic(t.TempDir(), img, catalog.SeverityError, tt.text)
			if d.Message != tt.want || d.Line != tt.line {
				t.Errorf("got line %d %q\nwant line %d %q", d.Line, d.Message, tt.line, tt.want)
			}
		})
	}
}

// The variables validation hands Packer are those a build would: no vSphere
// placeholders for a qemu template that happens to declare vm_name or
// network, and no undeclared env.yaml variable (the catalog reports that once).
func TestValidateVariablesAsABuildWould(t *testing.T) {
	img := &catalog.Image{Name: "web", Dir: "images/web", Env: catalog.Env{Variables: map[string]string{"vm_name": "web01", "typo": "x"}},
		Template: catalog.Template{
			Sources:   []catalog.Source{{Type: "qemu", Name: "web"}},
			Variables: []catalog.Variable{{Name: "vm_name"}, {Name: "network", HasDefault: true}, {Name: "host", HasDefault: true}},
		}}
	vars, err := Variables(&catalog.Catalog{Root: t.TempDir()}, img, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(vars) != 1 || vars["vm_name"] != "web01" {
		t.Errorf("vars %v, want only vm_name=web01 from env.yaml", vars)
	}
	img.Template.Sources[0].Type = "vsphere-iso"
	vars, _ = Variables(&catalog.Catalog{Root: t.TempDir()}, img, t.TempDir())
	if vars["vm_name"] != catalog.Placeholders[catalog.VarVMName] || vars["network"] != catalog.Placeholders[catalog.VarNetwork] {
		t.Errorf("vSphere template: vars %v, want the vSphere placeholders", vars)
	}
}

// A failure that says nothing about the template (the checksum server is
// unreachable) is reported but never cached as the image's verdict.
func TestTransientFailureIsNotCached(t *testing.T) {
	root, cacheDir := t.TempDir(), t.TempDir()
	catalogtest.Generate(t, root, 1)
	tpl := filepath.Join(root, "images/img00/img00.pkr.hcl")
	src, err := os.ReadFile(tpl)
	if err != nil {
		t.Fatal(err)
	}
	// A checksum file on a server that is not there (loopback: even with
	// the network allowed, nothing leaves the host).
	src = []byte(strings.Replace(string(src), `iso_checksum     = "none"`, `iso_checksum     = "file:http://127.0.0.1:9/SHA256SUMS"`, 1))
	if err := os.WriteFile(tpl, src, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		rep, err := Run(context.Background(), Options{Root: root, Packer: testenv.Tool(t, "packer"), PluginDir: testenv.PluginDir(t), CacheDir: cacheDir})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() || rep.Cached != 0 {
			t.Fatalf("run %d: ok %v, cached %d; want an error, never from the cache:\n%s", i, rep.OK(), rep.Cached, rep.Diagnostics.Error())
		}
	}
}
