package release_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/ova"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
	"github.com/imagebot/imagebot/runner/vsphere"
	"github.com/imagebot/imagebot/runner/vsphere/vcsimtest"
	"github.com/vmware/govmomi/vapi/library"
)

// ovaBuilder stands in for the runner of a vSphere image: its build's
// output is a real OVA made by the artifact packer from a small disk.
type ovaBuilder struct{ t *testing.T }

func (b ovaBuilder) Build(ctx context.Context, _ *catalog.Catalog, req runner.Request, _ runner.EventFunc) (*runner.Result, error) {
	out := filepath.Join(req.OutDir, req.Image+"-"+req.Version+".ova")
	res := makeOVA(b.t, out)
	now := time.Now().UTC()
	return &runner.Result{Status: runner.StatusSucceeded, Image: req.Image, Version: req.Version, BuildID: req.BuildID,
		Digest: "sha256:app100", Builder: "vsphere-clone", Started: now, Finished: now,
		Files: []runner.File{{Name: filepath.Base(out), Path: out, Format: "ova", Size: res.Size, SHA256: res.SHA256}}}, nil
}

// makeOVA writes a real OVA of a small blank disk to out.
func makeOVA(t *testing.T, out string) *ova.Result {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(raw, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ova.Export(context.Background(), ova.ExportOptions{Disk: raw, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// simLibrary starts the simulator with the content library "appliances"
// and returns a vSphere configuration for it and the library's id.
func simLibrary(t *testing.T) (*vcsimtest.Sim, *vsphere.Config, string) {
	sim := vcsimtest.Start(t)
	libID := sim.CreateLibrary(t, "appliances")
	return sim, &vsphere.Config{URL: sim.Addr, Username: vcsimtest.User, Password: vcsimtest.Password, Insecure: true,
		Datacenter: vcsimtest.Datacenter, Datastore: vcsimtest.Datastore}, libID
}

// appCatalog has one image whose env.yaml names the content library.
func appCatalog() *catalog.Catalog {
	return &catalog.Catalog{Images: map[string]*catalog.Image{"app": {Name: "app", Env: catalog.Env{Name: "app", Version: "3.1.0",
		VSphere: &catalog.VSphere{ContentLibrary: "appliances"}}, Digest: "sha256:app100"}}, Order: []string{"app"}}
}

// checkPublished checks the library holds app-3.1.0 and the release manifest says so.
func checkPublished(t *testing.T, sim *vcsimtest.Sim, libID string, st store.Store) {
	t.Helper()
	ids, err := sim.LibraryManager(t).FindLibraryItems(ctx(t), library.FindItem{LibraryID: libID, Name: "app-3.1.0"})
	if err != nil || len(ids) != 1 {
		t.Fatalf("item app-3.1.0 in the library: %q, %v", ids, err)
	}
	m, err := store.DecodeManifest(ctx(t), st, store.Release("app", "3.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Published) != 1 || m.Published[0].Kind != vsphere.ManifestKind || m.Published[0].File != "app-3.1.0.ova" ||
		!strings.Contains(m.Published[0].Where, "appliances/app-3.1.0") || !strings.Contains(m.Published[0].Where, ids[0]) {
		t.Errorf("manifest published = %+v, want the library item %s", m.Published, ids[0])
	}
	if strings.Contains(string(m.Raw), vcsimtest.Password) {
		t.Error("the release manifest holds the vCenter password")
	}
}

// A release build of an image whose env.yaml names a content library: the
// OVA lands in that library of the configured vCenter, and the release
// manifest's published list says where (never with the vCenter password).
func TestBuildReleasePublishesTheOVAToTheImagesContentLibraryAndRecordsIt(t *testing.T) {
	sim, cfg, libID := simLibrary(t)
	r, st, _, _ := setup(t)
	r.VSphere = cfg
	req := release.BuildRequest{Image: "app", Version: "3.1.0", Digest: "sha256:app100", MergeCommit: merge}
	if _, err := r.BuildRelease(ctx(t), ovaBuilder{t}, appCatalog(), req, "rel1", t.TempDir(), []string{vcsimtest.Password}, nil); err != nil {
		t.Fatal(err)
	}
	checkPublished(t, sim, libID, st)
}

// A release promoted from the MR build of the same inputs (no rebuild):
// the MR build's OVA is fetched from the store and published the same way.
func TestPromotedReleasePublishesTheMRBuildsOVAToTheContentLibrary(t *testing.T) {
	sim, cfg, libID := simLibrary(t)
	r, st, _, _ := setup(t)
	r.VSphere = cfg
	res := makeOVA(t, filepath.Join(t.TempDir(), "app-3.1.0.ova"))
	data, err := os.ReadFile(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	browsetest.Publish(t, st, browsetest.Build{Ref: store.MRBuild("app", 12, "bbbbbbbb22"), Version: "3.1.0", Digest: "sha256:app100",
		GitSHA: "bbbbbbbb22", Files: map[string][]byte{"app-3.1.0.ova": data}})
	ds, err := r.Release(ctx(t), push(), appCatalog(), []string{"app"})
	if err != nil || len(ds) != 1 || ds[0].Action != release.Promote {
		t.Fatalf("decisions %+v, %v; want a promotion", ds, err)
	}
	checkPublished(t, sim, libID, st)
}
