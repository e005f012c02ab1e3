package withdraw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/vapi/library"

	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
	"github.com/imagebot/imagebot/runner/vsphere"
	"github.com/imagebot/imagebot/runner/vsphere/vcsimtest"
	"github.com/imagebot/imagebot/runner/withdraw"
)

// fixture is a bucket of releases, some of them in a vcsim content library.
type fixture struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
	sim *vcsimtest.Sim
	cfg vsphere.Config
	lib *library.Manager
	id  string // the library's id
}

func newFixture(t *testing.T) *fixture {
	st, err := local.New(store.LocalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sim := vcsimtest.Start(t)
	f := &fixture{t: t, ctx: context.Background(), st: st, sim: sim, lib: sim.LibraryManager(t),
		cfg: vsphere.Config{URL: sim.Addr, Username: vcsimtest.User, Password: vcsimtest.Password, Insecure: true,
			Datacenter: vcsimtest.Datacenter, Datastore: vcsimtest.Datastore, Network: vcsimtest.Network}}
	f.id = sim.CreateLibrary(t, "golden")
	return f
}

// release publishes image@version's manifest, built on base (nil: none);
// inLibrary also puts an item image-version in the library and records it.
func (f *fixture) release(image, version string, base *store.Ref, inLibrary bool) {
	f.t.Helper()
	m := manifest.Manifest{Image: image, Version: version, Release: true}
	if base != nil {
		m.BaseImage = &manifest.BaseImage{Image: base.Image, Version: base.Version}
	}
	if inLibrary {
		item := image + "-" + version
		id, err := f.lib.CreateLibraryItem(f.ctx, library.Item{Name: item, Type: "ovf", LibraryID: f.id})
		if err != nil {
			f.t.Fatal(err)
		}
		loc := vsphere.Location{Server: f.cfg.Server(), Library: "golden", LibraryID: f.id, Item: item, ItemID: id}
		m.Published = append(m.Published, loc.Manifest(item+".ova"))
	}
	b, err := json.Marshal(m)
	if err != nil {
		f.t.Fatal(err)
	}
	ref := store.Release(image, version)
	if _, err := f.st.Put(f.ctx, ref.Key(store.ManifestName), bytes.NewReader(b), int64(len(b)), store.PutOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) items() map[string]bool {
	f.t.Helper()
	ids, err := f.lib.ListLibraryItems(f.ctx, f.id)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]bool{}
	for _, id := range ids {
		it, err := f.lib.GetLibraryItem(f.ctx, id)
		if err != nil {
			f.t.Fatal(err)
		}
		out[it.Name] = true
	}
	return out
}

// TestRevokeWithdrawsTheContentLibraryItems: revoking base9@1.0.0 with
// --descendants revokes app@2.0.0 built on it and takes both items out of
// the vcsim content library (deleted, or renamed when configured); a
// release not built on it keeps its item.
func TestRevokeWithdrawsTheContentLibraryItems(t *testing.T) {
	for _, tc := range []struct {
		cfg  withdraw.Config
		want map[string]bool
	}{
		{withdraw.Config{}, map[string]bool{"other-1.0.0": true}},
		{withdraw.Config{Mode: withdraw.ModeRename}, map[string]bool{"other-1.0.0": true, "base9-1.0.0-REVOKED": true, "app-2.0.0-REVOKED": true}},
		{withdraw.Config{Mode: withdraw.ModeRename, Suffix: ".withdrawn"}, map[string]bool{"other-1.0.0": true, "base9-1.0.0.withdrawn": true, "app-2.0.0.withdrawn": true}},
	} {
		t.Run(tc.cfg.Mode+tc.cfg.Suffix, func(t *testing.T) {
			f := newFixture(t)
			base := store.Release("base9", "1.0.0")
			f.release("base9", "1.0.0", nil, true)
			f.release("app", "2.0.0", &base, true)
			f.release("other", "1.0.0", nil, true)
			req := store.RevokeRequest{Release: base, By: "alice", Reason: "CVE-2026-1", Descendants: true, Now: time.Now()}
			res, err := withdraw.Revoke(f.ctx, f.st, req, withdraw.VSphere{Config: f.cfg}, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Revoked) != 2 || len(res.Withdrawn) != 2 || len(res.Left) != 0 {
				t.Fatalf("revoked %+v, withdrawn %+v, left %+v", res.Revoked, res.Withdrawn, res.Left)
			}
			if got := f.items(); !equal(got, tc.want) {
				t.Fatalf("library holds %v, want %v", got, tc.want)
			}
			if s := res.Summary(); !strings.Contains(s, "withdrew app@2.0.0") {
				t.Errorf("summary %q", s)
			}
			// Revoking again withdraws nothing more and fails nothing.
			again, err := withdraw.Revoke(f.ctx, f.st, req, withdraw.VSphere{Config: f.cfg}, tc.cfg)
			if err != nil || len(again.Withdrawn) != 0 || len(again.Already) != 2 {
				t.Fatalf("second revoke: %+v, %v", again, err)
			}
		})
	}
}

// TestRevokeWithoutVCenterLeavesItemsAndSaysSo: no Library configured, the
// revocation is still written and the items are reported as left.
func TestRevokeWithoutVCenterLeavesItemsAndSaysSo(t *testing.T) {
	f := newFixture(t)
	f.release("base9", "1.0.0", nil, true)
	res, err := withdraw.Revoke(f.ctx, f.st, store.RevokeRequest{Release: store.Release("base9", "1.0.0"), By: "alice", Reason: "r", Now: time.Now()}, nil, withdraw.Config{})
	if err != nil || len(res.Revoked) != 1 || len(res.Left) != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	if s := res.Summary(); !strings.Contains(s, "left in place (no vsphere-content-library configured): base9@1.0.0") {
		t.Errorf("summary %q", s)
	}
	if !f.items()["base9-1.0.0"] {
		t.Error("the item was removed without a vCenter")
	}
}

func TestConfigRefusesAnUnknownMode(t *testing.T) {
	if err := (withdraw.Config{Mode: "hide"}).Check(); err == nil || !strings.Contains(err.Error(), `revocation.mode "hide"`) {
		t.Fatalf("Check = %v", err)
	}
}

func equal(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
