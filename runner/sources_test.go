package runner

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/manifest"
)

func TestCapability(t *testing.T) {
	for builder, want := range map[string]string{
		"qemu": CapQEMU, "vsphere-iso": CapVSphere, "vsphere-clone": CapVSphere,
		"amazon-ebs": CapAmazon, "amazon-ebssurrogate": CapAmazon, "null": "", "openstack": "openstack",
	} {
		if got := Capability(builder); got != want {
			t.Errorf("Capability(%q) = %q, want %q", builder, got, want)
		}
	}
}

func TestPackerOnlyNamesSourcesOfNamedBuilds(t *testing.T) {
	img := &catalog.Image{Template: catalog.Template{Builds: []catalog.Build{
		{Name: "cloud", Sources: []string{"amazon-ebs.web"}},
		{Sources: []string{"qemu.web"}},
	}}}
	got := packerOnly(img, []string{"qemu.web", "amazon-ebs.web"})
	if want := []string{"qemu.web", "cloud.amazon-ebs.web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("packerOnly = %v, want %v", got, want)
	}
}

// A template with a qemu and an amazon-ebs source on a runner without the
// amazon capability: the qemu source builds for real, the amazon one never
// starts (no line of Packer's output comes from it), the result says why,
// and the manifest records the qemu source's artifact, Packer's version and
// the plugins.
func TestBuildSkipsSourcesWithoutCapability(t *testing.T) {
	cat := testRepo(t)
	r, cfg := testRunner(t, nil)
	if !reflect.DeepEqual(cfg.Capabilities, []string{CapQEMU}) {
		t.Fatalf("default capabilities %v, want [qemu]", cfg.Capabilities)
	}
	var evs events
	out := t.TempDir()
	res, err := r.Build(context.Background(), cat, Request{Image: "multi", OutDir: out}, evs.add)
	if err != nil {
		t.Fatal(err)
	}
	logData, _ := os.ReadFile(filepath.Join(out, "build.log"))
	if res.Status != StatusSucceeded {
		t.Fatalf("status %s: %s\n%s", res.Status, res.Error, logData)
	}
	if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0], `amazon-ebs.multi (needs runner capability "amazon")`) {
		t.Errorf("skipped %v", res.Skipped)
	}
	for _, ev := range evs.list() {
		if strings.Contains(ev.Source, "amazon") || strings.Contains(ev.Text, "amazon-ebs.multi:") {
			t.Errorf("the amazon source started: %+v", ev)
		}
	}
	if len(res.Artifacts) != 1 || res.Artifacts[0].Source != "qemu.multi" || len(res.Artifacts[0].Files) == 0 {
		t.Errorf("artifacts %+v, want one from qemu.multi", res.Artifacts)
	}
	m, err := manifest.Read(filepath.Join(out, manifest.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if m.PackerVersion == "" || len(m.Plugins) == 0 || len(m.Artifacts) != 1 || m.Artifacts[0].Source != "qemu.multi" {
		t.Errorf("manifest: packer %q, plugins %v, artifacts %+v", m.PackerVersion, m.Plugins, m.Artifacts)
	}
}

// With no source it can build, a runner refuses the build before Packer runs.
func TestBuildWithNoBuildableSourceFailsClearly(t *testing.T) {
	cat := testRepo(t)
	r, _ := testRunner(t, func(c *Config) { c.Capabilities = []string{CapVSphere} })
	res, err := r.Build(context.Background(), cat, Request{Image: "multi", OutDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusFailed || !strings.Contains(res.Error, "no source of multi can be built on this runner (capabilities vsphere)") {
		t.Errorf("status %s, error %q", res.Status, res.Error)
	}
}
