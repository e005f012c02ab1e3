package release_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/browse"
	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/ova"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/vsphere"
	"github.com/imagebot/imagebot/runner/vsphere/vcsimtest"
	"github.com/vmware/govmomi/vapi/library"
)

// ovaBuilder stands in for the runner of a vSphere image: its build's
// output is a real OVA made by the artifact packer from a small disk.
type ovaBuilder struct{ t *testing.T }

func (b ovaBuilder) Build(ctx context.Context, _ *catalog.Catalog, req runner.Request, _ runner.EventFunc) (*runner.Result, error) {
	raw := filepath.Join(b.t.TempDir(), "disk.raw")
	if err := os.WriteFile(raw, make([]byte, 4<<20), 0o644); err != nil {
		return nil, err
	}
	out := filepath.Join(req.OutDir, req.Image+"-"+req.Version+".ova")
	res, err := ova.Export(ctx, ova.ExportOptions{Disk: raw, Out: out, Version: req.Version, BuildID: req.BuildID})
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	return &runner.Result{Status: runner.StatusSucceeded, Image: req.Image, Version: req.Version, BuildID: req.BuildID,
		Digest: "sha256:app100", Builder: "vsphere-clone", Started: now, Finished: now,
		Files: []runner.File{{Name: filepath.Base(out), Path: out, Format: "ova", Size: res.Size, SHA256: res.SHA256}}}, nil
}

// A release build of an image whose env.yaml names a content library: the
// OVA lands in that library of the configured vCenter, and the release
// manifest's published list says where (never with the vCenter password).
func TestBuildReleasePublishesTheOVAToTheImagesContentLibraryAndRecordsIt(t *testing.T) {
	sim := vcsimtest.Start(t)
	libID := sim.CreateLibrary(t, "appliances")
	r, st, _, _, _ := setup(t)
	r.VSphere = &vsphere.Config{URL: sim.Addr, Username: vcsimtest.User, Password: vcsimtest.Password, Insecure: true,
		Datacenter: vcsimtest.Datacenter, Datastore: vcsimtest.Datastore}
	c := &catalog.Catalog{Images: map[string]*catalog.Image{"app": {Name: "app", Env: catalog.Env{Name: "app", Version: "3.1.0",
		VSphere: &catalog.VSphere{ContentLibrary: "appliances"}}, Digest: "sha256:app100"}}, Order: []string{"app"}}
	req := release.BuildRequest{Image: "app", Version: "3.1.0", Digest: "sha256:app100", MergeCommit: merge}

	if _, err := r.BuildRelease(ctx(t), ovaBuilder{t}, c, req, "rel1", t.TempDir(), []string{vcsimtest.Password}, nil); err != nil {
		t.Fatal(err)
	}
	ids, err := sim.LibraryManager(t).FindLibraryItems(ctx(t), library.FindItem{LibraryID: libID, Name: "app-3.1.0"})
	if err != nil || len(ids) != 1 {
		t.Fatalf("item app-3.1.0 in the library: %q, %v", ids, err)
	}
	m, err := browse.ReadManifest(ctx(t), st, store.Release("app", "3.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Published) != 1 || m.Published[0].Kind != vsphere.ManifestKind || m.Published[0].File != "app-3.1.0.ova" ||
		!strings.Contains(m.Published[0].Where, "appliances/app-3.1.0") || !strings.Contains(m.Published[0].Where, ids[0]) {
		t.Errorf("manifest published = %+v, want the library item %s", m.Published, ids[0])
	}
}
