// Package vcsimtest starts govmomi's vCenter simulator on loopback inside a
// test process, with a checked username and password and the content
// library (vAPI) endpoints, and puts machines and libraries in it. Tests of
// anything that talks to vCenter through runner/vsphere use it.
package vcsimtest

import (
	"context"
	"crypto/tls"
	"net/url"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	_ "github.com/vmware/govmomi/vapi/simulator" // content library endpoints
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

// Credentials the simulator accepts (and no others).
const (
	User     = "imagebot@vsphere.local"
	Password = "vcsim-s3cret"
)

// Inventory names of the default VPX model plus the folder Start creates.
const (
	Datacenter = "DC0"
	Cluster    = "DC0_C0"
	Host       = "DC0_C0_H0"
	Datastore  = "LocalDS_0"
	Network    = "DC0_DVPG0"
	Folder     = "imagebot"
)

// Sim is a running simulator.
type Sim struct {
	Model  *simulator.Model
	Server *simulator.Server
	Client *vim25.Client // logged in as User
	Addr   string        // host:port on 127.0.0.1 (TLS, self-signed)
}

// Start runs a simulator until the test ends.
func Start(t testing.TB) *Sim {
	t.Helper()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(User, Password)}
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
	sim := &Sim{Model: m, Server: s, Client: c.Client, Addr: s.URL.Host}
	dc, err := find.NewFinder(c.Client).Datacenter(ctx, Datacenter)
	if err != nil {
		t.Fatal(err)
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := folders.VmFolder.CreateFolder(ctx, Folder); err != nil {
		t.Fatal(err)
	}
	return sim
}

// VM is a machine a test puts in the inventory.
type VM struct {
	Name       string
	Annotation string
	Extra      map[string]string // extraConfig
	PoweredOn  bool
	Template   bool
	NIC        bool // an e1000 adapter on Network, as a real base template has
}

// CreateVM creates a machine in the folder on the cluster.
func (s *Sim) CreateVM(t testing.TB, v VM) *object.VirtualMachine {
	t.Helper()
	ctx := context.Background()
	f := find.NewFinder(s.Client)
	folder, err := f.Folder(ctx, "/"+Datacenter+"/vm/"+Folder)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := f.ResourcePool(ctx, "/"+Datacenter+"/host/"+Cluster+"/Resources")
	if err != nil {
		t.Fatal(err)
	}
	spec := types.VirtualMachineConfigSpec{
		Name: v.Name, Annotation: v.Annotation, GuestId: "otherGuest64",
		Files: &types.VirtualMachineFileInfo{VmPathName: "[" + Datastore + "]"},
	}
	for k, val := range v.Extra {
		spec.ExtraConfig = append(spec.ExtraConfig, &types.OptionValue{Key: k, Value: val})
	}
	if v.NIC {
		net, err := f.Network(ctx, "/"+Datacenter+"/network/"+Network)
		if err != nil {
			t.Fatal(err)
		}
		backing, err := net.EthernetCardBackingInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		nic, err := object.EthernetCardTypes().CreateEthernetCard("e1000", backing)
		if err != nil {
			t.Fatal(err)
		}
		add, err := object.VirtualDeviceList{nic}.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
		if err != nil {
			t.Fatal(err)
		}
		spec.DeviceChange = append(spec.DeviceChange, add...)
	}
	task, err := folder.CreateVM(ctx, spec, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatalf("create %s: %v", v.Name, err)
	}
	vm := object.NewVirtualMachine(s.Client, info.Result.(types.ManagedObjectReference))
	if v.PoweredOn {
		task, err := vm.PowerOn(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if v.Template {
		if err := vm.MarkAsTemplate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return vm
}

// VMNames lists every VM and template name in the datacenter.
func (s *Sim) VMNames(t testing.TB) map[string]bool {
	t.Helper()
	vms, err := find.NewFinder(s.Client).VirtualMachineList(context.Background(), "/"+Datacenter+"/vm/...")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, vm := range vms {
		out[vm.Name()] = true
	}
	return out
}

// LibraryManager is a content library client logged in as User.
func (s *Sim) LibraryManager(t testing.TB) *library.Manager {
	t.Helper()
	ctx := context.Background()
	rc := rest.NewClient(s.Client)
	if err := rc.Login(ctx, url.UserPassword(User, Password)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Logout(context.Background()) })
	return library.NewManager(rc)
}

// CreateLibrary creates a local content library on the datastore; it returns its id.
func (s *Sim) CreateLibrary(t testing.TB, name string) string {
	t.Helper()
	ctx := context.Background()
	ds, err := find.NewFinder(s.Client).Datastore(ctx, "/"+Datacenter+"/datastore/"+Datastore)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.LibraryManager(t).CreateLibrary(ctx, library.Library{
		Name: name, Type: "LOCAL",
		Storage: []library.StorageBacking{{DatastoreID: ds.Reference().Value, Type: "DATASTORE"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}
