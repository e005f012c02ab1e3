package vsphere

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPreflightPassesOnCompleteInventoryAndNamesEachMissingPiece(t *testing.T) {
	sim := startVCSim(t)
	base := sim.createVM(t, vmSpec{Name: "centos7-base-0123456789ab", Template: true})
	_ = base

	tests := []struct {
		name  string
		edit  func(*Config)
		req   Requirements
		want  []string // substrings the error must contain; none: must pass
		errIs error
	}{
		{name: "complete inventory", req: Requirements{Template: "centos7-base-0123456789ab", MinFreeBytes: 64 << 30}},
		{name: "complete with host instead of cluster", edit: func(c *Config) { c.Cluster = ""; c.Host = "DC0_C0_H0" }},
		{name: "no datastore", edit: func(c *Config) { c.Datastore = "ds-fast" },
			want: []string{`datastore "ds-fast" not found in datacenter "DC0" (have: LocalDS_0)`}},
		{name: "wrong network", edit: func(c *Config) { c.Network = "VLAN-42" },
			want: []string{`network "VLAN-42" not found in datacenter "DC0" (have: `, "DC0_DVPG0", "VM Network"}},
		{name: "missing template", req: Requirements{Template: "centos7-base-ffffffffffff", BaseImage: "centos7-base"},
			want: []string{`base template "centos7-base-ffffffffffff" not found in datacenter "DC0": build the base image "centos7-base" first`}},
		{name: "bad credentials", edit: func(c *Config) { c.Password = "wrong" },
			want: []string{`login as "imagebot@vsphere.local"`, "incorrect user name or password"}, errIs: ErrLogin},
		{name: "untrusted certificate", edit: func(c *Config) { c.Insecure = false },
			want: []string{"connect to vCenter", "trust its CA with ca_file, or set insecure: true"}},
		{name: "wrong datacenter", edit: func(c *Config) { c.Datacenter = "DC9" },
			want: []string{`datacenter "DC9" not found in vCenter`, "(have: DC0)"}},
		{name: "wrong cluster", edit: func(c *Config) { c.Cluster = "gold" },
			want: []string{`cluster "gold" not found in datacenter "DC0" (have: DC0_C0)`}},
		{name: "wrong resource pool", edit: func(c *Config) { c.ResourcePool = "gold-pool" },
			want: []string{`resource pool "gold-pool" not found in datacenter "DC0"`}},
		{name: "complete with a resource pool", edit: func(c *Config) { c.ResourcePool = "/DC0/host/DC0_C0/Resources" }},
		{name: "missing folder", edit: func(c *Config) { c.Folder = "Packer" },
			want: []string{`folder "Packer" not found in datacenter "DC0" (have: imagebot)`}},
		{name: "datastore too small", req: Requirements{MinFreeBytes: 1 << 60},
			want: []string{`datastore "LocalDS_0" has`, "free, the build needs 1.0EB"}},
		{name: "missing content library", req: Requirements{ContentLibrary: "golden"},
			want: []string{`content library "golden" not found in vCenter`}},
		{name: "two pieces missing at once", edit: func(c *Config) { c.Datastore = "ds-fast"; c.Network = "VLAN-42" },
			want: []string{`datastore "ds-fast"`, `network "VLAN-42"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sim.cfg
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			start := time.Now()
			err := Preflight(context.Background(), cfg, tt.req)
			took := time.Since(start)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("preflight failed on a complete inventory: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("preflight passed; want an error naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if tt.errIs != nil && !errors.Is(err, tt.errIs) {
				t.Errorf("error %v is not %v", err, tt.errIs)
			}
			if strings.Contains(err.Error(), cfg.Password) {
				t.Errorf("error leaks the password: %v", err)
			}
			t.Logf("failed in %v: %v", took.Round(time.Millisecond), err)
		})
	}
}

func TestPreflightVerifiesVCenterWithCAFile(t *testing.T) {
	sim := startVCSim(t)
	ca, err := sim.Server.CertificateFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.cfg
	cfg.Insecure, cfg.CAFile = false, ca
	if err := Preflight(context.Background(), cfg, Requirements{}); err != nil {
		t.Fatalf("preflight with the simulator's certificate as ca_file: %v", err)
	}
}

func TestPreflightFailsFastWhenVCenterIsUnreachable(t *testing.T) {
	cfg := Config{URL: "127.0.0.1:1", Username: "u", Password: "p", Datacenter: "DC0", Timeout: 3 * time.Second}
	start := time.Now()
	err := Preflight(context.Background(), cfg, Requirements{})
	if err == nil || !strings.Contains(err.Error(), "connect to vCenter https://127.0.0.1:1/sdk") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}
