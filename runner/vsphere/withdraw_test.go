package vsphere

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/vapi/library"
)

func TestWithdrawOVADeletesOrRenamesTheItem(t *testing.T) {
	sim := startVCSim(t)
	libID := sim.createLibrary(t, "golden")
	ova, _ := writeTestOVA(t, t.TempDir(), false)
	ctx := context.Background()
	m := sim.libraryManager(t)
	items := func(name string) []string {
		ids, err := m.FindLibraryItems(ctx, library.FindItem{LibraryID: libID, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for _, tc := range []struct{ item, rename string }{{"app-1.0.0", ""}, {"app-1.1.0", "app-1.1.0-REVOKED"}} {
		pub, err := PublishOVA(ctx, sim.cfg, "golden", tc.item, ova)
		if err != nil {
			t.Fatal(err)
		}
		loc, err := WithdrawOVA(ctx, sim.cfg, "golden", tc.item, tc.rename)
		if err != nil || loc.ItemID != pub.ItemID {
			t.Fatalf("withdraw %s: %+v, %v", tc.item, loc, err)
		}
		if ids := items(tc.item); len(ids) != 0 {
			t.Errorf("%s is still in the library: %v", tc.item, ids)
		}
		if tc.rename != "" {
			if ids := items(tc.rename); len(ids) != 1 || ids[0] != pub.ItemID {
				t.Errorf("renamed item %s: %v, want [%s]", tc.rename, ids, pub.ItemID)
			}
		}
	}
	if loc, err := WithdrawOVA(ctx, sim.cfg, "golden", "never-published", ""); err != nil || loc.ItemID != "" {
		t.Fatalf("withdrawing what is not there: %+v, %v", loc, err)
	}
}
