package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/testenv"
)

// Seed 003's template, required_plugins block included, passes validation
// with the plugin directory's qemu plugin (offline: packer init finds it there).
func TestSeed003Validates(t *testing.T) {
	rep, err := Run(context.Background(), Options{Root: "../testdata/seed003", Packer: testenv.Tool(t, "packer"), PluginDir: testenv.PluginDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range rep.Diagnostics {
		t.Logf("%s", d)
	}
	if !rep.OK() || len(rep.Images) != 1 {
		t.Fatalf("seed 003 does not validate (%d errors)", rep.Errors)
	}
}

// With the post's own constraint (qemu >= 1.0.10, which nothing installed
// meets), the one error is at the required_plugins entry and names what is
// installed; packer init is not run, so nothing is looked up on the network.
func TestUnsatisfiablePluginReportedAtItsEntry(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS("../testdata/seed003")); err != nil {
		t.Fatal(err)
	}
	tpl := filepath.Join(root, "images/rocky9/rocky9.pkr.hcl")
	src, err := os.ReadFile(tpl)
	if err != nil {
		t.Fatal(err)
	}
	// The packer block in a file of its own: the location must follow it.
	main := strings.Replace(string(src), `packer {
  required_plugins {
    qemu = {
      source  = "github.com/hashicorp/qemu"
      version = ">= 1.0.9"
    }
  }
}
`, "", 1)
	if err := os.WriteFile(tpl, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	plugins := "# plugins\npacker {\n  required_plugins {\n    qemu = {\n      source  = \"github.com/hashicorp/qemu\"\n      version = \">= 1.0.10\"\n    }\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(root, "images/rocky9/plugins.pkr.hcl"), []byte(plugins), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Options{Root: root, Packer: testenv.Tool(t, "packer"), PluginDir: testenv.PluginDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	var errs []catalog.Diagnostic
	for _, d := range rep.Diagnostics {
		if d.Severity == catalog.SeverityError {
			errs = append(errs, d)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("want one error, got:\n%s", rep.Diagnostics.Error())
	}
	d := errs[0]
	if d.File != "images/rocky9/plugins.pkr.hcl" || d.Line != 4 || !strings.Contains(d.Message, `required plugin "qemu" (github.com/hashicorp/qemu >= 1.0.10) is not in the runner's plugin directory`) ||
		!strings.Contains(d.Message, "installed: github.com/hashicorp/qemu 1.0.9") {
		t.Errorf("got %s", d)
	}
}
