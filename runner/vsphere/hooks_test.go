package vsphere

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/testenv"
)

func loadRepo(t *testing.T) *catalog.Catalog {
	t.Helper()
	cat, diags := catalog.Load(testenv.RepoRoot(t))
	if cat == nil {
		t.Fatalf("load catalog: %v", diags)
	}
	for _, n := range []string{"centos7-base", "centos7-appliance"} {
		if cat.Images[n] == nil {
			t.Fatalf("image %s missing from the repository's catalog: %v", n, diags)
		}
	}
	return cat
}

func TestVSphereImagesGetEveryVariableTheyNeedFromImagebot(t *testing.T) {
	cat := loadRepo(t)
	cfg := Config{URL: "https://vc.example.com/sdk", Username: "svc@vsphere.local", Password: "pw-from-env",
		Datacenter: "DC0", Cluster: "C0", Datastore: "ds", Network: "VM Network", Folder: "imagebot"}
	// What the runner sets itself for every image.
	runnerOwn := []string{catalog.VarImageName, catalog.VarImageVersion, catalog.VarBuildID, catalog.VarOutputDirectory,
		catalog.VarGitSHA, catalog.VarRepoRoot, catalog.VarCacheDirectory}
	for _, name := range []string{"centos7-base", "centos7-appliance"} {
		img := cat.Images[name]
		if !UsesVSphere(img, nil) {
			t.Fatalf("%s: UsesVSphere = false", name)
		}
		vars := Vars(cfg, Build{ID: "b42", Version: "1.0.0", Image: img, Catalog: cat})
		for _, v := range img.Template.Variables {
			if v.HasDefault || slices.Contains(runnerOwn, v.Name) {
				continue
			}
			if vars[v.Name] == "" {
				t.Errorf("%s declares %s without a default and imagebot does not inject it", name, v.Name)
			}
			if !slices.Contains(catalog.InjectedVariables, v.Name) {
				t.Errorf("%s: %s is not in catalog.InjectedVariables, so the runner would drop it", name, v.Name)
			}
		}
		for _, v := range img.Template.Variables {
			if v.Name == catalog.VarVCenterPassword && !v.Sensitive {
				t.Errorf("%s: vcenter_password is not sensitive", name)
			}
		}
		if vars[catalog.VarVMName] != "imagebot-b42-"+name || !strings.Contains(vars[catalog.VarVMNotes], "imagebot-build-id: b42") {
			t.Errorf("%s: marks %q / %q", name, vars[catalog.VarVMName], vars[catalog.VarVMNotes])
		}
		if vars[catalog.VarVCenterServer] != "vc.example.com" {
			t.Errorf("vcenter_server = %q", vars[catalog.VarVCenterServer])
		}
	}
	if rocky := cat.Images["rocky9"]; rocky != nil && UsesVSphere(rocky, nil) {
		t.Error("rocky9 (qemu) counted as a vSphere image")
	}
	if UsesVSphere(cat.Images["centos7-base"], []string{"qemu.other"}) {
		t.Error("UsesVSphere ignores -only")
	}

	base, app := cat.Images["centos7-base"], cat.Images["centos7-appliance"]
	if KeepName(base) != TemplateName("centos7-base", base.Digest) || KeepName(app) != "" {
		t.Errorf("KeepName: base %q, appliance %q", KeepName(base), KeepName(app))
	}
	req := RequirementsFor(cat, app)
	if req.Template != KeepName(base) || req.BaseImage != "centos7-base" || req.ContentLibrary != "imagebot-releases" {
		t.Errorf("appliance requirements %+v", req)
	}
	if got := Vars(cfg, Build{ID: "b42", Image: app, Catalog: cat})[catalog.VarBaseImage]; got != KeepName(base) {
		t.Errorf("appliance base_image = %q, want %q", got, KeepName(base))
	}
	if req := RequirementsFor(cat, base); req.MinFreeBytes != 65536<<20 || req.Template != "" {
		t.Errorf("base requirements %+v", req)
	}
	// No content library for the base: publishing is skipped without asking vCenter.
	if rec, err := PublishRelease(context.Background(), cfg, base, "1.0.0", "/nonexistent.ova"); rec != nil || err != nil {
		t.Errorf("PublishRelease without a library: %v, %v", rec, err)
	}
}

// The two-stage flow's bookkeeping end to end in the simulator: the machines
// stand in for what Packer creates with the injected variables.
func TestTwoStageFlowKeepsTheBaseTemplateAndCleansUpAfterTheClone(t *testing.T) {
	cat := loadRepo(t)
	sim := startVCSim(t)
	ctx := context.Background()
	base, app := cat.Images["centos7-base"], cat.Images["centos7-appliance"]

	// Before the base exists, the appliance's preflight says what to do.
	err := Preflight(ctx, sim.cfg, RequirementsFor(cat, app))
	if err == nil || !strings.Contains(err.Error(), `build the base image "centos7-base" first`) {
		t.Fatalf("preflight without base: %v", err)
	}

	// Stage 1: vsphere-iso leaves a marked template; the build succeeds.
	bv := Vars(sim.cfg, Build{ID: "b1", Version: "1.0.0", Image: base, Catalog: cat})
	sim.createVM(t, vmSpec{Name: bv[catalog.VarVMName], Annotation: bv[catalog.VarVMNotes],
		Extra: map[string]string{ExtraConfigKey: "b1"}, Template: true})
	removed, err := Finish(ctx, sim.cfg, "b1", true, KeepName(base))
	if err != nil || len(removed) != 0 {
		t.Fatalf("finish base: removed %q, %v", removed, err)
	}

	// Stage 2: the clone's preflight finds the template (library created too).
	sim.createLibrary(t, "imagebot-releases")
	if err := Preflight(ctx, sim.cfg, RequirementsFor(cat, app)); err != nil {
		t.Fatalf("preflight with base: %v", err)
	}
	av := Vars(sim.cfg, Build{ID: "b2", Version: "1.0.0", Image: app, Catalog: cat})
	if av[catalog.VarBaseImage] != KeepName(base) {
		t.Fatalf("clone of %q, kept %q", av[catalog.VarBaseImage], KeepName(base))
	}
	// The clone inherits the template's annotation; Packer's notes replace it.
	sim.createVM(t, vmSpec{Name: av[catalog.VarVMName], Annotation: av[catalog.VarVMNotes], PoweredOn: true})
	removed, err = Finish(ctx, sim.cfg, "b2", false, KeepName(app))
	if err != nil || !slices.Equal(removed, []string{"imagebot-b2-centos7-appliance"}) {
		t.Fatalf("finish cancelled clone: removed %q, %v", removed, err)
	}
	if names := sim.vmNames(t); !names[KeepName(base)] {
		t.Fatalf("the kept base template is gone: %v", names)
	}
}
