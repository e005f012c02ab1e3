package vsphere

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vapi/library"
)

const testOVF = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References><File ovf:href="app-disk-0.vmdk" ovf:id="file1" ovf:size="%d"/></References>
  <DiskSection><Info>Virtual disk information</Info>
    <Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <VirtualSystem ovf:id="app"><Info>A virtual machine</Info><Name>app</Name></VirtualSystem>
</Envelope>
`

// writeTestOVA writes a small OVA (descriptor, manifest, disk) whose
// manifest is right, or names a wrong sum for the disk when corrupt.
func writeTestOVA(t *testing.T, dir string, corrupt bool) (path string, descriptorSize int64) {
	t.Helper()
	disk, _ := streamVMDK(t, t.TempDir())
	desc := []byte(fmt.Sprintf(testOVF, len(disk)))
	diskSum := sha256.Sum256(disk)
	if corrupt {
		diskSum[0] ^= 0xff
	}
	mf := fmt.Sprintf("SHA256(app.ovf)= %x\nSHA256(app-disk-0.vmdk)= %x\n", sha256.Sum256(desc), diskSum)
	p := filepath.Join(dir, "app-1.0.0.ova")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	for _, m := range []struct {
		name string
		data []byte
	}{{"app.ovf", desc}, {"app.mf", []byte(mf)}, {"app-disk-0.vmdk", disk}} {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p, int64(len(desc))
}

func TestPublishOVAPutsItInTheContentLibraryWhereItCanBeFound(t *testing.T) {
	sim := startVCSim(t)
	libID := sim.createLibrary(t, "golden")
	ova, descSize := writeTestOVA(t, t.TempDir(), false)
	ctx := context.Background()

	loc, err := PublishOVA(ctx, sim.cfg, "golden", "app-1.0.0", ova)
	if err != nil {
		t.Fatal(err)
	}
	if loc.LibraryID != libID || loc.Library != "golden" || loc.Item != "app-1.0.0" || loc.ItemID == "" {
		t.Fatalf("location = %+v", loc)
	}

	m := sim.libraryManager(t)
	ids, err := m.FindLibraryItems(ctx, library.FindItem{LibraryID: libID, Name: "app-1.0.0"})
	if err != nil || len(ids) != 1 || ids[0] != loc.ItemID {
		t.Fatalf("find item: %q, %v; want [%s]", ids, err, loc.ItemID)
	}
	item, err := m.GetLibraryItem(ctx, loc.ItemID)
	if err != nil || item.Type != library.ItemTypeOVF {
		t.Fatalf("item %+v, %v", item, err)
	}
	files, err := m.ListLibraryItemFiles(ctx, loc.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, f := range files {
		if f.Size != nil {
			got[f.Name] = *f.Size
		}
	}
	if got["app.ovf"] != descSize || got["app-disk-0.vmdk"] == 0 {
		t.Fatalf("library item files = %v", got)
	}

	// Publishing again (a retried release) updates the same item.
	loc2, err := PublishOVA(ctx, sim.cfg, "golden", "app-1.0.0", ova)
	if err != nil || loc2.ItemID != loc.ItemID {
		t.Fatalf("republish: %+v, %v", loc2, err)
	}
}

func TestPublishOVARefusesWhatTheManifestDoesNotVouchFor(t *testing.T) {
	sim := startVCSim(t)
	sim.createLibrary(t, "golden")
	ova, _ := writeTestOVA(t, t.TempDir(), true)
	_, err := PublishOVA(context.Background(), sim.cfg, "golden", "app-1.0.0", ova)
	if err == nil || !strings.Contains(err.Error(), "upload app-disk-0.vmdk: checksum mismatch") {
		t.Fatalf("err = %v; want a checksum mismatch for the disk", err)
	}
	// The failed session leaves the item without content.
	m := sim.libraryManager(t)
	ids, err := m.FindLibraryItems(context.Background(), library.FindItem{Name: "app-1.0.0"})
	if err != nil || len(ids) != 1 {
		t.Fatalf("items %q, %v", ids, err)
	}
	if s, err := m.ListLibraryItemUpdateSession(context.Background()); err == nil {
		for _, id := range s {
			if sess, err := m.GetLibraryItemUpdateSession(context.Background(), id); err == nil && sess.State == "ACTIVE" {
				t.Errorf("update session %s is still active after a failed upload", id)
			}
		}
	}
	_, err = PublishOVA(context.Background(), sim.cfg, "silver", "app-1.0.0", ova)
	if err == nil || !strings.Contains(err.Error(), `content library "silver" not found in vCenter`) || !strings.Contains(err.Error(), "(have: golden)") {
		t.Fatalf("err = %v", err)
	}
}
