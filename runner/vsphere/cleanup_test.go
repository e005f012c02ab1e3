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
		{name: VMName("b1", "centos7-base"), annotation: Notes("b1", "centos7-base", "1.0.0"), poweredOn: true},
		// marked only through extraConfig (configuration_parameters)
		{name: VMName("b1", "centos7-app"), extra: ConfigurationParameters("b1")},
		// converted to a template before the build failed later (export)
		{name: VMName("b1", "centos7-tpl"), annotation: Notes("b1", "centos7-tpl", "1.0.0"), template: true},
	}
	others := []vmSpec{
		{name: VMName("b1", "by-hand")}, // right name, no mark
		{name: VMName("b1", "other"), annotation: Notes("b2", "other", "1.0.0"), poweredOn: true}, // name and mark disagree
		{name: VMName("b1-2", "app"), annotation: Notes("b1-2", "app", "1.0.0")},                  // a build id that extends b1
		{name: "prod-db", annotation: Notes("b1", "centos7-base", "1.0.0"), poweredOn: true},      // cloned from b1's output by someone
		{name: VMName("b2", "app"), annotation: Notes("b2", "app", "1.0.0"), poweredOn: true},     // another build, running
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
		want = append(want, v.name)
	}
	sort.Strings(want)
	sort.Strings(removed)
	if !slices.Equal(removed, want) {
		t.Fatalf("removed %q, want %q", removed, want)
	}
	after := sim.vmNames(t)
	for _, v := range mine {
		if after[v.name] {
			t.Errorf("%s still exists", v.name)
		}
	}
	for _, v := range others {
		if !after[v.name] {
			t.Errorf("%s was touched: it is not build b1's", v.name)
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
	old := sim.createVM(t, vmSpec{name: VMName("old1", "app"), annotation: Notes("old1", "app", "1.0.0"), poweredOn: true})
	oldActive := sim.createVM(t, vmSpec{name: VMName("old2", "app"), annotation: Notes("old2", "app", "1.0.0")})
	oldUnmarked := sim.createVM(t, vmSpec{name: VMName("old3", "app")})
	sim.createVM(t, vmSpec{name: VMName("new1", "app"), annotation: Notes("new1", "app", "1.0.0")})
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
	sim.createVM(t, vmSpec{name: VMName("b7", "centos7-base"), annotation: Notes("b7", "centos7-base", "1.0.0"), template: true})
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
	sim.createVM(t, vmSpec{name: VMName("b8", "centos7-base"), annotation: Notes("b8", "centos7-base", "1.0.0"), template: true})
	if err := Keep(context.Background(), sim.cfg, "b8", name); err != nil {
		t.Fatalf("replacing a kept template: %v", err)
	}
	names := sim.vmNames(t)
	if !names[name] || names[VMName("b8", "centos7-base")] {
		t.Fatalf("after second keep: %v", names)
	}
	// ...but never a machine imagebot did not keep.
	sim.createVM(t, vmSpec{name: "centos7-base-fedcba987654"})
	sim.createVM(t, vmSpec{name: VMName("b9", "centos7-base"), annotation: Notes("b9", "centos7-base", "1.0.0"), template: true})
	err := Keep(context.Background(), sim.cfg, "b9", "centos7-base-fedcba987654")
	if err == nil || !strings.Contains(err.Error(), "is not a template imagebot kept") {
		t.Fatalf("err = %v", err)
	}
}

// age moves a machine's creation date back, as only vCenter itself can.
func (s *vcsim) age(t *testing.T, ref types.ManagedObjectReference, by time.Duration) {
	t.Helper()
	obj := s.model.Map().Get(ref)
	vm, ok := obj.(*simulator.VirtualMachine)
	if !ok {
		t.Fatalf("%v is %T", ref, obj)
	}
	s.model.Map().WithLock(s.model.Service.Context, vm, func() {
		d := vm.Config.CreateDate.Add(-by)
		vm.Config.CreateDate = &d
	})
}
