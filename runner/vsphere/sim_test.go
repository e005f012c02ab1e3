package vsphere

import (
	"context"
	"crypto/tls"
	"net/url"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // content library endpoints
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	simUser     = "imagebot@vsphere.local"
	simPassword = "vcsim-s3cret"
)

// vcsim is govmomi's vCenter simulator serving on loopback inside the test
// process, with a username and password it checks and the vAPI (content
// library) endpoints.
type vcsim struct {
	model  *simulator.Model
	server *simulator.Server
	client *vim25.Client
	cfg    Config // complete for the default VPX inventory plus folder "imagebot"
}

func startVCSim(t *testing.T) *vcsim {
	t.Helper()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(simUser, simPassword)}
	m.Service.TLS = new(tls.Config)
	m.Service.RegisterEndpoints = true
	s := m.Service.NewServer()
	t.Cleanup(func() { s.Close(); m.Remove() })

	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, s.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Logout(context.Background()) })
	sim := &vcsim{model: m, server: s, client: c.Client, cfg: Config{
		URL: s.URL.Host, Username: simUser, Password: simPassword, Insecure: true,
		Datacenter: "DC0", Cluster: "DC0_C0", Datastore: "LocalDS_0", Network: "DC0_DVPG0", Folder: "imagebot",
	}}
	dc, err := find.NewFinder(c.Client).Datacenter(ctx, "DC0")
	if err != nil {
		t.Fatal(err)
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := folders.VmFolder.CreateFolder(ctx, "imagebot"); err != nil {
		t.Fatal(err)
	}
	return sim
}

// vmSpec is a machine the test puts in the inventory.
type vmSpec struct {
	name       string
	annotation string
	extra      map[string]string
	poweredOn  bool
	template   bool
}

// createVM creates a machine in the "imagebot" folder on cluster DC0_C0.
func (s *vcsim) createVM(t *testing.T, v vmSpec) *object.VirtualMachine {
	t.Helper()
	ctx := context.Background()
	f := find.NewFinder(s.client)
	dc, err := f.Datacenter(ctx, "DC0")
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	folder, err := f.Folder(ctx, "/DC0/vm/imagebot")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := f.ResourcePool(ctx, "/DC0/host/DC0_C0/Resources")
	if err != nil {
		t.Fatal(err)
	}
	spec := types.VirtualMachineConfigSpec{
		Name: v.name, Annotation: v.annotation, GuestId: "otherGuest64",
		Files: &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0]"},
	}
	for k, val := range v.extra {
		spec.ExtraConfig = append(spec.ExtraConfig, &types.OptionValue{Key: k, Value: val})
	}
	task, err := folder.CreateVM(ctx, spec, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatalf("create %s: %v", v.name, err)
	}
	vm := object.NewVirtualMachine(s.client, info.Result.(types.ManagedObjectReference))
	if v.poweredOn {
		task, err := vm.PowerOn(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if v.template {
		if err := vm.MarkAsTemplate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return vm
}

// vmNames lists every VM and template name in the inventory.
func (s *vcsim) vmNames(t *testing.T) map[string]bool {
	t.Helper()
	vms, err := find.NewFinder(s.client).VirtualMachineList(context.Background(), "/DC0/vm/...")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, vm := range vms {
		out[vm.Name()] = true
	}
	return out
}
