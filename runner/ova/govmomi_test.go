package ova

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func exportForVSphere(t *testing.T) (*Result, ovaContents) {
	t.Helper()
	dir := t.TempDir()
	disk := makeDisk(t, dir, "app.qcow2", "16M")
	res, err := Export(context.Background(), ExportOptions{
		Disk: disk, Out: filepath.Join(dir, "debian12-app-1.4.0.ova"), Name: "debian12-app",
		Version: "1.4.0", BuildID: "b-7", GitSHA: "abc1234", Description: "app <&> image",
		OS:       catalog.OS{Family: "linux", Name: "debian", Version: "12", Arch: "x86_64"},
		Hardware: catalog.Hardware{CPUs: 4, MemoryMB: 3072, NIC: "vmxnet3", DiskBus: "scsi"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, checkOVA(t, res, "debian12-app")
}

// TestGovmomiOVFReaderFindsDiskAndHardware: govmomi's ovf package, what
// govc import.ova parses descriptors with, reads ours: the disk and its
// capacity, the guest OS, CPU, memory, controller and NIC, the product.
func TestGovmomiOVFReaderFindsDiskAndHardware(t *testing.T) {
	res, c := exportForVSphere(t)
	desc := c.files["debian12-app.ovf"]
	e, err := ovf.Unmarshal(bytes.NewReader(desc))
	if err != nil {
		t.Fatalf("govmomi cannot parse the descriptor: %v\n%s", err, desc)
	}
	if len(e.References) != 1 || e.References[0].Href != "debian12-app-disk1.vmdk" ||
		int64(e.References[0].Size) != res.Entries[2].Size {
		t.Fatalf("References %+v", e.References)
	}
	if e.Disk == nil || len(e.Disk.Disks) != 1 {
		t.Fatal("no disk in DiskSection")
	}
	d := e.Disk.Disks[0]
	if d.Capacity != strconv.FormatInt(16<<20, 10) || d.CapacityAllocationUnits == nil || *d.CapacityAllocationUnits != "byte" {
		t.Errorf("capacity %s %v, want 16 MiB in bytes", d.Capacity, d.CapacityAllocationUnits)
	}
	if d.PopulatedSize == nil || int64(*d.PopulatedSize) != res.DiskPopulated || res.DiskPopulated == 0 {
		t.Errorf("populatedSize %v, writer counted %d", d.PopulatedSize, res.DiskPopulated)
	}
	if d.FileRef == nil || *d.FileRef != e.References[0].ID || !strings.HasSuffix(*d.Format, "#streamOptimized") {
		t.Errorf("disk %+v does not point at the stream-optimized file", d)
	}
	vs := e.VirtualSystem
	if vs == nil || vs.OperatingSystem == nil || vs.OperatingSystem.ID != 96 || *vs.OperatingSystem.OSType != "debian12_64Guest" {
		t.Fatalf("OperatingSystemSection %+v", vs.OperatingSystem)
	}
	if e.Network == nil || len(e.Network.Networks) != 1 || e.Network.Networks[0].Name != DefaultNetwork {
		t.Errorf("NetworkSection %+v", e.Network)
	}
	found := map[int]string{}
	for _, it := range vs.VirtualHardware[0].Item {
		v := ""
		if it.VirtualQuantity != nil {
			v = strconv.FormatUint(uint64(*it.VirtualQuantity), 10)
		}
		if it.ResourceSubType != nil {
			v += *it.ResourceSubType
		}
		if len(it.HostResource) > 0 {
			v += it.HostResource[0]
		}
		found[int(*it.ResourceType)] = v
	}
	want := map[int]string{3: "4", 4: "3072", 6: "lsilogic", 17: "ovf:/disk/vmdisk1", 10: "VmxNet3"}
	for k, v := range want {
		if found[k] != v {
			t.Errorf("hardware item of type %d is %q, want %q (all: %v)", k, found[k], v, found)
		}
	}
	if len(vs.Product) != 1 || vs.Product[0].Version != "1.4.0" || !strings.Contains(vs.Product[0].FullVersion, "b-7") {
		t.Errorf("ProductSection %+v", vs.Product)
	}
	if bytes.Contains(desc, []byte("BootOrderSection")) {
		t.Error("descriptor carries a BootOrderSection")
	}
	sums, err := library.ReadManifest(bytes.NewReader(c.files["debian12-app.mf"]))
	if err != nil || len(sums) != 2 || sums["debian12-app-disk1.vmdk"].Algorithm != "SHA256" {
		t.Errorf("govmomi reads the .mf as %v, %v", sums, err)
	}
}

// TestImportIntoVCenterSimulator imports the OVA into govmomi's vCenter
// simulator the way govc import.ova does (TapeArchive, CreateImportSpec,
// ImportVApp, NFC lease upload) and checks the machine it made.
func TestImportIntoVCenterSimulator(t *testing.T) {
	res, _ := exportForVSphere(t)
	vm := importIntoSimulator(t, res.Path, "imported-app", "debian12-app-disk1.vmdk")
	if vm.cpus != 4 || vm.memoryMB != 3072 || vm.disks != 1 || vm.nics != 1 || vm.diskBytes != 16<<20 {
		t.Fatalf("imported machine: %+v", vm)
	}
}

type importedVM struct {
	cpus, memoryMB, disks, nics int
	diskBytes                   int64
}

// importIntoSimulator runs govc import.ova's path against a fresh vCenter
// simulator and describes the machine it created; uploaded names the disk
// file that must have gone through the NFC lease.
func importIntoSimulator(t *testing.T, ovaPath, name, uploaded string) importedVM {
	t.Helper()
	var got importedVM
	model := simulator.VPX() // a vCenter: one datacenter, one cluster
	model.Host = 0           // no standalone host, so the default pool is the cluster's
	simulator.Test(func(ctx context.Context, vc *vim25.Client) {
		finder := find.NewFinder(vc)
		dc, err := finder.DefaultDatacenter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		finder.SetDatacenter(dc)
		ds, err := finder.DefaultDatastore(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := finder.DefaultResourcePool(ctx)
		if err != nil {
			t.Fatal(err)
		}
		folders, err := dc.Folders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var logs strings.Builder
		imp := importer.Importer{
			Client: vc, Finder: finder, Datacenter: dc, Datastore: ds, ResourcePool: pool, Folder: folders.VmFolder,
			Archive: &importer.TapeArchive{Path: ovaPath, Opener: importer.Opener{Client: vc}},
			Log:     func(s string) (int, error) { return logs.WriteString(s) },
		}
		ref, err := imp.Import(ctx, "*.ovf", importer.Options{Name: &name, DiskProvisioning: "thin"})
		if err != nil {
			t.Fatalf("import: %v\n%s", err, logs.String())
		}
		var vm mo.VirtualMachine
		if err := object.NewVirtualMachine(vc, *ref).Properties(ctx, *ref, []string{"name", "config"}, &vm); err != nil {
			t.Fatal(err)
		}
		if vm.Name != name {
			t.Fatalf("imported %q, asked for %q", vm.Name, name)
		}
		got.cpus, got.memoryMB = int(vm.Config.Hardware.NumCPU), int(vm.Config.Hardware.MemoryMB)
		for _, d := range vm.Config.Hardware.Device {
			switch dev := d.(type) {
			case *types.VirtualDisk:
				got.disks++
				got.diskBytes = dev.CapacityInBytes
			case types.BaseVirtualEthernetCard:
				got.nics++
			}
		}
		if !strings.Contains(logs.String(), "Uploading "+uploaded) {
			t.Errorf("%s was not uploaded through the lease: %q", uploaded, logs.String())
		}
	}, model)
	return got
}
