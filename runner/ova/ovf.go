package ova

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"text/template"

	"github.com/imagebot/imagebot/runner/catalog"
)

// Hardware defaults for a descriptor whose image says nothing.
const (
	DefaultCPUs     = 2
	DefaultMemoryMB = 2048
	DefaultNIC      = "vmxnet3"
	DefaultDiskBus  = "scsi"
	DefaultNetwork  = "VM Network"
	// DefaultHWVersion is the virtual hardware family: vmx-13 is ESXi 6.5,
	// old enough for every vSphere still supported.
	DefaultHWVersion = "vmx-13"
)

// guestOS is an OS as OVF names it: a CIM OperatingSystem id and VMware's guest id.
type guestOS struct {
	CIM    int
	OSType string
	Desc   string
}

// guestFor maps the catalog's OS to the descriptor's OperatingSystemSection.
// CIM ids are DMTF's CIM_OperatingSystem OSType values (as govmomi's ovf
// package lists them); unknown Linux distributions fall back to "other
// Linux 64-bit".
func guestFor(o catalog.OS) guestOS {
	major := o.Version
	if i := strings.IndexAny(major, ".-"); i >= 0 {
		major = major[:i]
	}
	is32 := o.Arch == "i386" || o.Arch == "i686" || o.Arch == "x86"
	desc := strings.TrimSpace(o.Name + " " + o.Version + " " + o.Arch)
	pick := func(cim64, cim32 int, t64, t32 string) guestOS {
		if is32 {
			return guestOS{cim32, t32, desc}
		}
		return guestOS{cim64, t64, desc}
	}
	switch strings.ToLower(o.Name) {
	case "debian":
		if major == "" {
			major = "12"
		}
		return pick(96, 95, "debian"+major+"_64Guest", "debian"+major+"Guest")
	case "ubuntu":
		return pick(94, 93, "ubuntu64Guest", "ubuntuGuest")
	case "centos":
		if major == "" {
			major = "7"
		}
		return pick(107, 106, "centos"+major+"_64Guest", "centos"+major+"Guest")
	case "rhel", "redhat":
		if major == "" {
			major = "9"
		}
		return pick(80, 79, "rhel"+major+"_64Guest", "rhel"+major+"Guest")
	case "rocky", "rockylinux":
		return pick(80, 79, "rockylinux_64Guest", "otherLinuxGuest")
	case "alma", "almalinux":
		return pick(80, 79, "almalinux_64Guest", "otherLinuxGuest")
	case "oracle", "oraclelinux":
		return pick(109, 108, "oracleLinux"+major+"_64Guest", "oracleLinuxGuest")
	case "photon":
		return pick(101, 36, "vmwarePhoton64Guest", "otherLinuxGuest")
	case "windows":
		return pick(102, 1, "windows2019srv_64Guest", "otherGuest")
	}
	if strings.EqualFold(o.Family, "windows") {
		return pick(102, 1, "windows9Server64Guest", "otherGuest")
	}
	if strings.EqualFold(o.Family, "linux") || o.Family == "" {
		return pick(101, 36, "otherLinux64Guest", "otherLinuxGuest")
	}
	return pick(102, 1, "other64Guest", "otherGuest")
}

// descriptorData is what the OVF template renders.
type descriptorData struct {
	Name        string
	Description string
	Version     string
	FullVersion string
	Vendor      string
	Annotation  string
	DiskFile    string
	DiskSize    int64
	Capacity    int64
	Populated   int64
	Network     string
	OS          guestOS
	HWVersion   string
	CPUs        int
	MemoryMB    int
	Controller  controller
	NIC         string
	EFI         bool
}

type controller struct {
	ResourceType int
	SubType      string
	Name         string
}

func controllerFor(bus string) (controller, error) {
	switch strings.ToLower(bus) {
	case "", "scsi", "lsilogic":
		return controller{6, "lsilogic", "SCSI Controller 0"}, nil
	case "pvscsi", "paravirtual":
		return controller{6, "VirtualSCSI", "SCSI Controller 0"}, nil
	case "sata", "ahci":
		return controller{20, "vmware.sata.ahci", "SATA Controller 0"}, nil
	case "ide":
		return controller{5, "PIIX4", "IDE Controller 0"}, nil
	}
	return controller{}, fmt.Errorf("hardware.disk_bus %q: want scsi, pvscsi, sata or ide", bus)
}

func nicFor(nic string) (string, error) {
	switch strings.ToLower(nic) {
	case "", "vmxnet3":
		return "VmxNet3", nil
	case "e1000":
		return "E1000", nil
	case "e1000e":
		return "E1000e", nil
	}
	return "", fmt.Errorf("hardware.nic %q: want vmxnet3, e1000 or e1000e", nic)
}

// adapterFor is the VMDK descriptor's ddb.adapterType for a controller.
func adapterFor(c controller) string {
	switch c.ResourceType {
	case 5:
		return "ide"
	case 20:
		return "ide" // VMware writes "ide" for SATA-attached stream disks too
	}
	return "lsilogic"
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// The descriptor follows DMTF DSP0243 1.0 as vCenter and ovftool write it.
// Item elements list their rasd: children in the schema's alphabetical order.
// Deliberately no vmw:BootOrderSection: some ESXi imports empty the disks of
// an appliance that carries one.
var descriptorTmpl = template.Must(template.New("ovf").Funcs(template.FuncMap{"x": esc}).Parse(`<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="imagebot" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
    <File ovf:href="{{x .DiskFile}}" ovf:id="file1" ovf:size="{{.DiskSize}}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="{{.Capacity}}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized" ovf:populatedSize="{{.Populated}}"/>
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="{{x .Network}}">
      <Description>The {{x .Network}} network</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{{x .Name}}">
    <Info>A virtual machine</Info>
    <Name>{{x .Name}}</Name>
    <AnnotationSection>
      <Info>A human-readable annotation</Info>
      <Annotation>{{x .Annotation}}</Annotation>
    </AnnotationSection>
    <OperatingSystemSection ovf:id="{{.OS.CIM}}" vmw:osType="{{x .OS.OSType}}">
      <Info>The kind of installed guest operating system</Info>
      <Description>{{x .OS.Desc}}</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{{x .Name}}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>{{x .HWVersion}}</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of Virtual CPUs</rasd:Description>
        <rasd:ElementName>{{.CPUs}} virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>{{.CPUs}}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>{{.MemoryMB}}MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>{{.MemoryMB}}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Description>{{x .Controller.Name}}</rasd:Description>
        <rasd:ElementName>{{x .Controller.Name}}</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>{{x .Controller.SubType}}</rasd:ResourceSubType>
        <rasd:ResourceType>{{.Controller.ResourceType}}</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>7</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>{{x .Network}}</rasd:Connection>
        <rasd:Description>{{x .NIC}} ethernet adapter on &quot;{{x .Network}}&quot;</rasd:Description>
        <rasd:ElementName>Network adapter 1</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>{{x .NIC}}</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
{{- if .EFI}}
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
{{- end}}
    </VirtualHardwareSection>
    <ProductSection>
      <Info>Information about the installed software</Info>
      <Product>{{x .Name}}</Product>
      <Vendor>{{x .Vendor}}</Vendor>
      <Version>{{x .Version}}</Version>
      <FullVersion>{{x .FullVersion}}</FullVersion>
    </ProductSection>
  </VirtualSystem>
</Envelope>
`))

func renderDescriptor(d descriptorData) ([]byte, error) {
	var b bytes.Buffer
	if err := descriptorTmpl.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render OVF descriptor: %w", err)
	}
	return b.Bytes(), nil
}
