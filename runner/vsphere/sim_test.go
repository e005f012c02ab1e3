package vsphere

import (
	"testing"

	"github.com/imagebot/imagebot/runner/vsphere/vcsimtest"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/library"
)

// vcsim wraps vcsimtest.Sim with a Config that is complete for its inventory.
type vcsim struct {
	*vcsimtest.Sim
	cfg Config
}

func startVCSim(t *testing.T) *vcsim {
	t.Helper()
	s := vcsimtest.Start(t)
	return &vcsim{Sim: s, cfg: Config{
		URL: s.Addr, Username: vcsimtest.User, Password: vcsimtest.Password, Insecure: true,
		Datacenter: vcsimtest.Datacenter, Cluster: vcsimtest.Cluster, Datastore: vcsimtest.Datastore,
		Network: vcsimtest.Network, Folder: vcsimtest.Folder,
	}}
}

type vmSpec = vcsimtest.VM

func (s *vcsim) createVM(t *testing.T, v vmSpec) *object.VirtualMachine { return s.CreateVM(t, v) }
func (s *vcsim) vmNames(t *testing.T) map[string]bool                   { return s.VMNames(t) }
func (s *vcsim) libraryManager(t *testing.T) *library.Manager           { return s.LibraryManager(t) }
func (s *vcsim) createLibrary(t *testing.T, name string) string         { return s.CreateLibrary(t, name) }
