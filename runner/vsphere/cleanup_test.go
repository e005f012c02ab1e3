package vsphere

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func TestCleanupRemovesOnlyTheCancelledBuildsMarkedMachines(t *testing.T) {
	sim := startVCSim(t)
	before := sim.vmNames(t)
	mine := []vmSpec{
		// what Packer's vsphere-iso leaves when killed mid-install: running, notes set
		{Name: VMName("b1", "centos7-base"), Annotation: Notes("b1", "centos7-base", "1.0.0"), PoweredOn: true},
		// marked only through extraConfig (configuration_parameters)
		{Name: VMName("b1", "centos7-app"), Extra: ConfigurationParameters("b1")},
		// converted to a template before the build failed later (export)
		{Name: VMName("b1", "centos7-tpl"), Annotation: Notes("b1", "centos7-tpl", "1.0.0"), Template: true},
	}
	others := []vmSpec{
		{Name: VMName("b1", "by-hand")}, // right name, no mark
		{Name: VMName("b1", "other"), Annotation: Notes("b2", "other", "1.0.0"), PoweredOn: true}, // name and mark disagree
		{Name: VMName("b1-2", "app"), Annotation: Notes("b1-2", "app", "1.0.0")},                  // a build id that extends b1
		{Name: "prod-db", Annotation: Notes("b1", "centos7-base", "1.0.0"), PoweredOn: true},      // cloned from b1's output by someone
		{Name: VMName("b2", "app"), Annotation: Notes("b2", "app", "1.0.0"), PoweredOn: true},     // another build, running
	}
	for _, v := range append(slices.Clone(mine), others...) {
		sim.createVM(t, v)
	}

	removed, err := Cleanup(context.Background(), sim.cfg, "b1")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, v := range mine {
		want = append(want, v.Name)
	}
	sort.Strings(want)
	sort.Strings(removed)
	if !slices.Equal(removed, want) {
		t.Fatalf("removed %q, want %q", removed, want)
	}
	after := sim.vmNames(t)
	for _, v := range mine {
		if after[v.Name] {
			t.Errorf("%s still exists", v.Name)
		}
	}
	for _, v := range others {
		if !after[v.Name] {
			t.Errorf("%s was touched: it is not build b1's", v.Name)
		}
	}
	for name := range before {
		if !after[name] {
			t.Errorf("pre-existing %s was removed", name)
		}
	}

	again, err := Cleanup(context.Background(), sim.cfg, "b1")
	if err != nil || len(again) != 0 {
		t.Fatalf("second cleanup removed %q, %v; want nothing", again, err)
	}
}

func TestSweepRemovesOnlyOldMarkedLeftoversOfInactiveBuilds(t *testing.T) {
	sim := startVCSim(t)
	old := sim.createVM(t, vmSpec{Name: VMName("old1", "app"), Annotation: Notes("old1", "app", "1.0.0"), PoweredOn: true})
	oldActive := sim.createVM(t, vmSpec{Name: VMName("old2", "app"), Annotation: Notes("old2", "app", "1.0.0")})
	oldUnmarked := sim.createVM(t, vmSpec{Name: VMName("old3", "app")})
	sim.createVM(t, vmSpec{Name: VMName("new1", "app"), Annotation: Notes("new1", "app", "1.0.0")})
	// vCenter sets createDate itself; age three machines in the simulator's inventory.
	for _, vm := range []types.ManagedObjectReference{old.Reference(), oldActive.Reference(), oldUnmarked.Reference()} {
		sim.age(t, vm, 48*time.Hour)
	}

	removed, err := Sweep(context.Background(), sim.cfg, 24*time.Hour, "old2")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{VMName("old1", "app")}; !slices.Equal(removed, want) {
		t.Fatalf("swept %q, want %q", removed, want)
	}
	after := sim.vmNames(t)
	for _, n := range []string{VMName("old2", "app"), VMName("old3", "app"), VMName("new1", "app")} {
		if !after[n] {
			t.Errorf("%s was swept", n)
		}
	}
}

func TestKeepRenamesTheBaseTemplateOutOfCleanupsReach(t *testing.T) {
	sim := startVCSim(t)
	sim.createVM(t, vmSpec{Name: VMName("b7", "centos7-base"), Annotation: Notes("b7", "centos7-base", "1.0.0"), Template: true})
	name := TemplateName("centos7-base", "sha256:0123456789abcdef")
	if err := Keep(context.Background(), sim.cfg, "b7", name); err != nil {
		t.Fatal(err)
	}
	if err := Preflight(context.Background(), sim.cfg, Requirements{Template: name}); err != nil {
		t.Fatalf("derived build's preflight cannot find the kept template: %v", err)
	}
	if removed, err := Cleanup(context.Background(), sim.cfg, "b7"); err != nil || len(removed) != 0 {
		t.Fatalf("cleanup after keep removed %q, %v", removed, err)
	}

	// A rebuild of the same inputs replaces the kept template...
	sim.createVM(t, vmSpec{Name: VMName("b8", "centos7-base"), Annotation: Notes("b8", "centos7-base", "1.0.0"), Template: true})
	if err := Keep(context.Background(), sim.cfg, "b8", name); err != nil {
		t.Fatalf("replacing a kept template: %v", err)
	}
	names := sim.vmNames(t)
	if !names[name] || names[VMName("b8", "centos7-base")] {
		t.Fatalf("after second keep: %v", names)
	}
	// ...but never a machine imagebot did not keep.
	sim.createVM(t, vmSpec{Name: "centos7-base-fedcba987654"})
	sim.createVM(t, vmSpec{Name: VMName("b9", "centos7-base"), Annotation: Notes("b9", "centos7-base", "1.0.0"), Template: true})
	err := Keep(context.Background(), sim.cfg, "b9", "centos7-base-fedcba987654")
	if err == nil || !strings.Contains(err.Error(), "is not a template imagebot kept") {
		t.Fatalf("err = %v", err)
	}
}

// age moves a machine's creation date back, as only vCenter itself can.
func (s *vcsim) age(t *testing.T, ref types.ManagedObjectReference, by time.Duration) {
	t.Helper()
	obj := s.Model.Map().Get(ref)
	vm, ok := obj.(*simulator.VirtualMachine)
	if !ok {
		t.Fatalf("%v is %T", ref, obj)
	}
	s.Model.Map().WithLock(s.Model.Service.Context, vm, func() {
		d := vm.Config.CreateDate.Add(-by)
		vm.Config.CreateDate = &d
	})
}
