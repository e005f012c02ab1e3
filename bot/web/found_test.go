package web

import (
	"strings"
	"testing"

	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner/imagediff"
	"github.com/imagebot/imagebot/runner/inventory"
)

// The build page's view of recorded details: the diff names what it was
// compared with, each check where it is written.
func TestWebFound(t *testing.T) {
	if webFound(nil) != nil || webFound(&state.Details{}) != nil {
		t.Error("no details, yet a section")
	}
	d := b0Details()
	f := webFound(d)
	if f.Diff != "+1 package against app 1.0.0" || f.Packages != 2 || len(f.Checks) != 1 ||
		f.Checks[0].Where != "app.yaml:3" || f.Checks[0].Passed || f.ChecksSummary() != "0 passed, 1 failed" ||
		len(f.Hygiene) != 1 || f.Hygiene[0] != "tmp: /tmp/x" {
		t.Errorf("found %+v", f)
	}
}

func b0Details() *state.Details {
	diff := imagediff.Compare(imagediff.Side{Image: "app", Version: "1.0.0", Inventory: pkgs("bash=1")},
		imagediff.Side{Image: "app", Version: "1.1.0", Inventory: pkgs("bash=1", "jq=2")})
	return &state.Details{Packages: 2, Diff: &diff,
		Checks:  []state.Check{{File: "app", Line: 3, Check: "port tcp:8080", Detail: "not listening"}},
		Hygiene: []state.Finding{{Check: "tmp", Detail: "/tmp/x"}}}
}

// pkgs is an inventory of "name=version" packages.
func pkgs(list ...string) *inventory.Inventory {
	i := &inventory.Inventory{PackageManager: "dpkg"}
	for _, p := range list {
		name, ver, _ := strings.Cut(p, "=")
		i.Packages = append(i.Packages, inventory.Package{Name: name, Version: ver, Arch: "amd64"})
	}
	return i
}
