package vsphere

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/ova"
	"github.com/vmware/govmomi/vapi/library"
)

// streamVMDK makes a real streamOptimized VMDK of a small disk with data
// in it, using the artifact packer's writer (it is what vCenter exports).
func streamVMDK(t *testing.T, dir string) (vmdk []byte, capacity int64) {
	t.Helper()
	raw := filepath.Join(dir, "disk.raw")
	capacity = 8 << 20
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(capacity); err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < capacity; off += 1 << 20 {
		if _, err := f.WriteAt([]byte(fmt.Sprintf("sector at %d: imagebot test data", off)), off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	res, err := ova.Export(context.Background(), ova.ExportOptions{Disk: raw, Out: filepath.Join(dir, "tmp.ova")})
	if err != nil {
		t.Fatal(err)
	}
	members := readTar(t, res.Path)
	for _, m := range members {
		if strings.HasSuffix(m.name, ".vmdk") {
			return m.data, capacity
		}
	}
	t.Fatal("no vmdk in the artifact packer's OVA")
	return nil, 0
}

type member struct {
	name string
	data []byte
}

func readTar(t *testing.T, p string) []member {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []member
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, member{h.Name, b})
	}
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// writeVSphereExport lays out what Packer's vsphere-clone `export {}` writes
// into output_directory: <name>.ovf (vCenter's descriptor), <name>-disk-0.vmdk
// and <name>.mf with SHA256 lines (manifest = "sha256").
func writeVSphereExport(t *testing.T, dir, name string) {
	t.Helper()
	vmdk, capacity := streamVMDK(t, t.TempDir())
	tpl, err := os.ReadFile("testdata/vcenter-export.ovf")
	if err != nil {
		t.Fatal(err)
	}
	desc := strings.NewReplacer("{{NAME}}", name, "{{DISKSIZE}}", strconv.Itoa(len(vmdk)),
		"{{CAPACITY}}", strconv.FormatInt(capacity, 10)).Replace(string(tpl))
	files := map[string][]byte{name + ".ovf": []byte(desc), name + "-disk-0.vmdk": vmdk}
	mf := fmt.Sprintf("SHA256(%s.ovf)= %s\nSHA256(%s-disk-0.vmdk)= %s\n", name, hexSum(files[name+".ovf"]), name, hexSum(vmdk))
	files[name+".mf"] = []byte(mf)
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVSphereOVFExportBecomesVerifiedOVAAndPublishesToContentLibrary(t *testing.T) {
	exportDir := t.TempDir()
	name := "centos7-appliance-1.0.0"
	writeVSphereExport(t, exportDir, name)
	out := filepath.Join(t.TempDir(), name+".ova")

	res, err := PackExport(context.Background(), exportDir, out)
	if err != nil {
		t.Fatal(err)
	}

	members := readTar(t, out)
	if len(members) != 3 {
		t.Fatalf("OVA members %d, want descriptor, manifest, disk", len(members))
	}
	if members[0].name != name+".ovf" || members[1].name != name+".mf" || members[2].name != name+"-disk-0.vmdk" {
		t.Fatalf("tar order %s, %s, %s; want the descriptor first, then the manifest, then the disk", members[0].name, members[1].name, members[2].name)
	}
	if strings.Contains(string(members[0].data), "BootOrderSection") {
		t.Error("the OVA's descriptor still has vCenter's BootOrderSection")
	}
	// Every member the .mf names verifies, and it names every other member.
	sums, err := library.ReadManifest(strings.NewReader(string(members[1].data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []member{members[0], members[2]} {
		c := sums[m.name]
		if c == nil || c.Algorithm != "SHA256" || c.Checksum != hexSum(m.data) {
			t.Errorf(".mf line for %s = %+v, want SHA256 %s", m.name, c, hexSum(m.data))
		}
	}
	if len(sums) != 2 {
		t.Errorf(".mf names %d files, want 2", len(sums))
	}
	whole, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA256 != hexSum(whole) {
		t.Errorf("result sha256 %s, file's %s", res.SHA256, hexSum(whole))
	}
	side, err := os.ReadFile(out + ".sha256")
	if err != nil || !strings.HasPrefix(string(side), hexSum(whole)) {
		t.Errorf(".sha256 = %q, %v", side, err)
	}

	// The OVA goes to a content library, which (in the simulator as in
	// vCenter) checks the SHA256 sums and that the disk is streamOptimized.
	sim := startVCSim(t)
	libID := sim.createLibrary(t, "imagebot-releases")
	img := &catalog.Image{Name: "centos7-appliance", Env: catalog.Env{VSphere: &catalog.VSphere{ContentLibrary: "imagebot-releases"}}}
	rec, err := PublishRelease(context.Background(), sim.cfg, img, "1.0.0", out)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := sim.libraryManager(t).FindLibraryItems(context.Background(), library.FindItem{LibraryID: libID, Name: name})
	if err != nil || len(ids) != 1 {
		t.Fatalf("item %s in the library: %q, %v", name, ids, err)
	}
	loc := Location{Server: sim.cfg.Server(), Library: "imagebot-releases", LibraryID: libID, Item: name, ItemID: ids[0]}
	if *rec != loc.Manifest(name+".ova") {
		t.Errorf("manifest record %+v, want %+v", *rec, loc.Manifest(name+".ova"))
	}
	files, err := sim.libraryManager(t).ListLibraryItemFiles(context.Background(), loc.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, f := range files {
		got[f.Name] = *f.Size
	}
	// (The simulator stores a disk as descriptor plus flat extent, so only
	// the descriptor's size can be compared.)
	if m := loc.Manifest(name + ".ova"); m.Kind != "vsphere-content-library" || !strings.Contains(m.Where, "imagebot-releases/"+name) || !strings.Contains(m.Where, loc.ItemID) {
		t.Errorf("manifest location %+v", m)
	}
	if loc.LibraryID != libID || got[name+".ovf"] != int64(len(members[0].data)) || got[name+"-disk-0.vmdk"] == 0 {
		t.Fatalf("library item %+v (want library %s) holds %v; descriptor %d, disk %d bytes", loc, libID, got, len(members[0].data), len(members[2].data))
	}
}

func TestPackExportNamesAMissingExport(t *testing.T) {
	_, err := PackExport(context.Background(), t.TempDir(), filepath.Join(t.TempDir(), "x.ova"))
	if err == nil || !strings.Contains(err.Error(), "no OVF descriptor in") {
		t.Fatalf("err = %v", err)
	}
}
