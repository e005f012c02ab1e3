package runner

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
	"github.com/imagebot/imagebot/runner/testenv"
	"github.com/imagebot/imagebot/runner/vsphere"
	"github.com/imagebot/imagebot/runner/vsphere/vcsimtest"
)

// vsphereRepo loads the repository's catalog, which has the vSphere images.
func vsphereRepo(t *testing.T) *catalog.Catalog {
	t.Helper()
	cat, diags := catalog.Load(testenv.RepoRoot(t))
	if cat == nil || cat.Images["centos7-appliance"] == nil || cat.Images["centos7-base"] == nil {
		t.Fatalf("the repository's catalog lacks centos7-base or centos7-appliance: %v", diags)
	}
	return cat
}

// simConfig is a vSphere configuration complete for the simulator's inventory.
func simConfig(sim *vcsimtest.Sim) vsphere.Config {
	return vsphere.Config{
		URL: sim.Addr, Username: vcsimtest.User, Password: vcsimtest.Password, Insecure: true,
		Datacenter: vcsimtest.Datacenter, Cluster: vcsimtest.Cluster, Datastore: vcsimtest.Datastore,
		Network: vcsimtest.Network, Folder: vcsimtest.Folder, Timeout: 10 * time.Second,
	}
}

// keepBaseTemplate puts centos7-base's kept template in the simulator the
// way a successful base build leaves it (a marked template with a snapshot
// and a NIC, kept by vsphere.Keep under the name derived builds clone).
func keepBaseTemplate(t *testing.T, sim *vcsimtest.Sim, cfg vsphere.Config, base *catalog.Image) {
	t.Helper()
	ctx := context.Background()
	vm := sim.CreateVM(t, vcsimtest.VM{Name: vsphere.VMName("b0", base.Name), Extra: vsphere.ConfigurationParameters("b0"), NIC: true})
	task, err := vm.CreateSnapshot(ctx, "base", "", false, false)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err == nil {
		err = vm.MarkAsTemplate(ctx)
	}
	if err == nil {
		err = vsphere.Keep(ctx, cfg, "b0", vsphere.KeepName(base))
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Runner.Build of the repository's centos7-appliance against a broken
// vCenter inventory: the preflight fails the build, naming what is missing,
// and packer is never started.
func TestVSphereBuildFailsInPreflightNamingTheMissingPieceWithoutStartingPacker(t *testing.T) {
	cat := vsphereRepo(t)
	sim := vcsimtest.Start(t)
	sim.CreateLibrary(t, cat.Images["centos7-appliance"].Env.VSphere.ContentLibrary)
	tests := []struct {
		name  string
		mod   func(*vsphere.Config)
		kept  bool // the base template is in vCenter
		wants []string
	}{
		{"missing base template", func(*vsphere.Config) {}, false, []string{"base template", vsphere.KeepName(cat.Images["centos7-base"]), `build the base image "centos7-base" first`}},
		{"wrong network", func(c *vsphere.Config) { c.Network = "VM Netwerk" }, true, []string{"network", "VM Netwerk"}},
		{"no datastore", func(c *vsphere.Config) { c.Datastore = "SAN_gone" }, true, []string{"datastore", "SAN_gone"}},
		{"bad credentials", func(c *vsphere.Config) { c.Password = "not-the-password" }, true, []string{"login"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			good := simConfig(sim)
			if tc.kept && !sim.VMNames(t)[vsphere.KeepName(cat.Images["centos7-base"])] {
				keepBaseTemplate(t, sim, good, cat.Images["centos7-base"])
			}
			cfg := good
			tc.mod(&cfg)
			r, _ := testRunner(t, func(c *Config) { c.VSphere = &cfg })
			var evs events
			start := time.Now()
			res, err := r.Build(context.Background(), cat, Request{Image: "centos7-appliance", OutDir: t.TempDir()}, evs.add)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("failed in %.1fs: %s", time.Since(start).Seconds(), res.Error)
			if res.Status != StatusFailed {
				t.Fatalf("status %s (%s), want failed", res.Status, res.Error)
			}
			for _, w := range tc.wants {
				if !strings.Contains(strings.ToLower(res.Error), strings.ToLower(w)) {
					t.Errorf("error %q does not name %q", res.Error, w)
				}
			}
			log, err := os.ReadFile(res.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(log), "packer build in") || len(evs.list()) != 0 {
				t.Errorf("packer was started:\n%s", log)
			}
			if strings.Contains(string(log), cfg.Password) || strings.Contains(res.Error, cfg.Password) {
				t.Error("the vCenter password reached the build log or the error")
			}
		})
	}
}

// Runner.Build of centos7-appliance with the real packer against the
// simulator, cancelled while packer waits for the clone's address; packer is
// killed before its own cleanup can run (a 1 ms grace), so the clone is
// left in vCenter, and vsphereAfter finds it by its marks and removes it,
// leaving the kept base template and the rest of the inventory alone.
func TestVSphereBuildCancelledRemovesItsCloneFromVCenter(t *testing.T) {
	cat := vsphereRepo(t)
	sim := vcsimtest.Start(t)
	cfg := simConfig(sim)
	sim.CreateLibrary(t, cat.Images["centos7-appliance"].Env.VSphere.ContentLibrary)
	keepBaseTemplate(t, sim, cfg, cat.Images["centos7-base"])
	before := sim.VMNames(t)
	r, _ := testRunner(t, func(c *Config) { c.VSphere = &cfg; c.Grace = time.Millisecond })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var evs events
	req := Request{Image: "centos7-appliance", BuildID: "vc1", OutDir: t.TempDir()}
	done := make(chan *Result, 1)
	go func() {
		res, err := r.Build(ctx, cat, req, evs.add)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	evs.waitFor(t, 60*time.Second, func(ev packer.Event) bool { return strings.Contains(ev.Text, "Waiting for IP") })
	clone := vsphere.VMName("vc1", "centos7-appliance")
	if !sim.VMNames(t)[clone] {
		t.Fatalf("packer's clone %s is not in vCenter while it waits for its IP", clone)
	}
	cancel()
	res := <-done
	if res == nil {
		t.FailNow()
	}
	if res.Status != StatusCancelled {
		t.Errorf("status %s (%s), want cancelled", res.Status, res.Error)
	}
	log, err := os.ReadFile(res.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "vsphere: removed "+clone) {
		t.Errorf("the build log does not say vsphereAfter removed %s:\n%s", clone, log)
	}
	if strings.Contains(string(log), cfg.Password) {
		t.Error("the vCenter password is in the build log")
	}
	after := sim.VMNames(t)
	if len(after) != len(before) {
		t.Errorf("after the cancelled build: %v; before it: %v", after, before)
	}
	for n := range before {
		if !after[n] {
			t.Errorf("%s was removed; it is not the build's", n)
		}
	}
}
