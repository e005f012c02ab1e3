package ova

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/ovf"
)

// vsphereDescriptor is shaped like the descriptor vCenter writes for an
// OVF export (what Packer's vsphere-clone `export {}` saves), including the
// vmw:BootOrderSection that must not reach the OVA.
const vsphereDescriptor = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="build-20395099" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
    <File ovf:href="%[1]s-disk-0.vmdk" ovf:id="file1" ovf:size="%[2]d"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="16" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized" ovf:populatedSize="4194304"/>
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="VM Network">
      <Description>The VM Network network</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="%[1]s">
    <Info>A virtual machine</Info>
    <Name>%[1]s</Name>
    <OperatingSystemSection ovf:id="107" vmw:osType="centos7_64Guest">
      <Info>The kind of installed guest operating system</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>%[1]s</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>2 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>2</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:ElementName>1024MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>1024</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:ElementName>SCSI controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>Hard disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
    <vmw:BootOrderSection vmw:instanceId="4" vmw:type="disk">
      <Info>Virtual hardware device boot order</Info>
    </vmw:BootOrderSection>
  </VirtualSystem>
</Envelope>
`

// vsphereExport writes an export directory: descriptor, one stream VMDK made
// by qemu-img and, when withMF, a .mf of SHA256 lines like Packer's.
func vsphereExport(t *testing.T, name string, withMF bool) (dir, ovfPath string) {
	t.Helper()
	dir = t.TempDir()
	src := makeDisk(t, dir, "src.qcow2", "16M")
	vmdk := filepath.Join(dir, name+"-disk-0.vmdk")
	run(t, "qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized", src, vmdk)
	os.Remove(src)
	fi, err := os.Stat(vmdk)
	if err != nil {
		t.Fatal(err)
	}
	ovfPath = filepath.Join(dir, name+".ovf")
	if err := os.WriteFile(ovfPath, fmt.Appendf(nil, vsphereDescriptor, name, fi.Size()), 0o644); err != nil {
		t.Fatal(err)
	}
	if withMF {
		mf := fmt.Sprintf("SHA256(%s.ovf)= %s\nSHA256(%s-disk-0.vmdk)= %s\n", name, sha256File(t, ovfPath), name, sha256File(t, vmdk))
		if err := os.WriteFile(filepath.Join(dir, name+".mf"), []byte(mf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, ovfPath
}

// TestFromOVFPacksVSphereExport: a vSphere-shaped OVF export becomes an OVA
// with the descriptor first, a .mf that verifies, the disk unchanged, no
// BootOrderSection, and a descriptor govmomi still parses.
func TestFromOVFPacksVSphereExport(t *testing.T) {
	for _, withMF := range []bool{true, false} {
		t.Run(fmt.Sprintf("own-mf=%v", withMF), func(t *testing.T) {
			dir, ovfPath := vsphereExport(t, "centos7-app", withMF)
			res, err := FromOVF(context.Background(), ovfPath, filepath.Join(dir, "centos7-app-2.0.0.ova"))
			if err != nil {
				t.Fatal(err)
			}
			c := checkOVA(t, res, "centos7-app")
			orig, _ := os.ReadFile(filepath.Join(dir, "centos7-app-disk-0.vmdk"))
			if got, _ := os.ReadFile(c.path("centos7-app-disk-0.vmdk")); !bytes.Equal(got, orig) {
				t.Fatal("the VMDK changed on its way into the OVA")
			}
			desc := c.files["centos7-app.ovf"]
			if bytes.Contains(desc, []byte("BootOrderSection")) {
				t.Fatalf("BootOrderSection kept:\n%s", desc)
			}
			e, err := ovf.Unmarshal(bytes.NewReader(desc))
			if err != nil || e.VirtualSystem == nil || len(e.Disk.Disks) != 1 {
				t.Fatalf("govmomi cannot read the packed descriptor: %v", err)
			}
			vm := importIntoSimulator(t, res.Path, "centos7-app", "centos7-app-disk-0.vmdk")
			if vm.cpus != 2 || vm.memoryMB != 1024 || vm.disks != 1 || vm.diskBytes != 16<<20 {
				t.Fatalf("imported machine: %+v", vm)
			}
		})
	}
}

func TestFromOVFRefusesBadExports(t *testing.T) {
	ctx := context.Background()
	t.Run("manifest mismatch", func(t *testing.T) {
		dir, ovfPath := vsphereExport(t, "vm", true)
		mf := filepath.Join(dir, "vm.mf")
		data, _ := os.ReadFile(mf)
		lines := strings.Split(string(data), "\n")
		lines[1] = "SHA256(vm-disk-0.vmdk)= " + strings.Repeat("0", 64)
		os.WriteFile(mf, []byte(strings.Join(lines, "\n")), 0o644)
		out := filepath.Join(dir, "vm.ova")
		_, err := FromOVF(ctx, ovfPath, out)
		if err == nil || !strings.Contains(err.Error(), "vm-disk-0.vmdk: sha256") {
			t.Fatalf("error %v should report the disk's digest mismatch", err)
		}
		for _, p := range []string{out, out + ".partial", out + ".sha256"} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s left behind", p)
			}
		}
	})
	t.Run("missing disk", func(t *testing.T) {
		dir, ovfPath := vsphereExport(t, "vm", false)
		os.Remove(filepath.Join(dir, "vm-disk-0.vmdk"))
		if _, err := FromOVF(ctx, ovfPath, filepath.Join(dir, "vm.ova")); err == nil || !strings.Contains(err.Error(), `"vm-disk-0.vmdk"`) {
			t.Fatalf("error %v should name the missing file", err)
		}
	})
	for _, tc := range []struct{ name, desc, want string }{
		{"path escape", `<Envelope><References><File href="../etc/passwd"/></References></Envelope>`, "plain file names"},
		{"no files", `<Envelope><References/></Envelope>`, "no file"},
		{"not ovf", `<html/>`, "not an OVF descriptor"},
		{"broken xml", `<Envelope><References>`, "parse descriptor"},
		{"bad mf line", `<Envelope><References><File href="a.vmdk"/></References></Envelope>`, "not a manifest line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "x.ovf")
			os.WriteFile(p, []byte(tc.desc), 0o644)
			os.WriteFile(filepath.Join(dir, "a.vmdk"), []byte("data"), 0o644)
			if tc.name == "bad mf line" {
				os.WriteFile(filepath.Join(dir, "x.mf"), []byte("MD5 a.vmdk abc\n"), 0o644)
			}
			_, err := FromOVF(ctx, p, filepath.Join(dir, "x.ova"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
