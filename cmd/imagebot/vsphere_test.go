package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
	"github.com/imagebot/imagebot/runner/vsphere"
	"github.com/imagebot/imagebot/runner/vsphere/vcsimtest"
)

func vsphereEnv(t *testing.T, sim *vcsimtest.Sim) {
	t.Helper()
	for k, v := range map[string]string{
		"URL": sim.Addr, "USERNAME": vcsimtest.User, "PASSWORD": vcsimtest.Password, "INSECURE": "true",
		"DATACENTER": vcsimtest.Datacenter, "CLUSTER": vcsimtest.Cluster, "DATASTORE": vcsimtest.Datastore,
		"NETWORK": vcsimtest.Network, "FOLDER": vcsimtest.Folder,
	} {
		t.Setenv("IMAGEBOT_VSPHERE_"+k, v)
	}
}

func TestVSphereCommandPreflightsAnImageAndCleansUpABuild(t *testing.T) {
	sim := vcsimtest.Start(t)
	vsphereEnv(t, sim)
	ctx := context.Background()
	root := testenv.RepoRoot(t)

	if err := runVSphere(ctx, []string{"preflight", "--repo", root, "centos7-base"}); err != nil {
		t.Fatalf("preflight centos7-base: %v", err)
	}
	err := runVSphere(ctx, []string{"preflight", "--repo", root, "centos7-appliance"})
	if err == nil || !strings.Contains(err.Error(), `build the base image "centos7-base" first`) {
		t.Fatalf("preflight centos7-appliance without its base: %v", err)
	}

	sim.CreateVM(t, vcsimtest.VM{Name: vsphere.VMName("b5", "centos7-base"), Annotation: vsphere.Notes("b5", "centos7-base", "1.0.0"), PoweredOn: true})
	sim.CreateVM(t, vcsimtest.VM{Name: "keep-me"})
	if err := runVSphere(ctx, []string{"cleanup", "b5"}); err != nil {
		t.Fatal(err)
	}
	names := sim.VMNames(t)
	if names[vsphere.VMName("b5", "centos7-base")] || !names["keep-me"] {
		t.Fatalf("after cleanup: %v", names)
	}

	if err := runVSphere(ctx, []string{"cleanup"}); !errors.Is(err, errUsage) {
		t.Fatalf("cleanup without a build id: %v", err)
	}
}
