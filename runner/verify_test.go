package runner

import (
	"testing"

	"github.com/imagebot/imagebot/runner/inventory"
)

// The checks attach a NoCloud seed only when the inventory lists the
// package cloud-init itself (not a package whose name merely contains it).
func TestHasPackage(t *testing.T) {
	inv := &inventory.Inventory{Packages: []inventory.Package{{Name: "cloud-init"}, {Name: "openssh-server"}}}
	if !hasPackage(inv, "cloud-init") {
		t.Error("cloud-init not found")
	}
	other := &inventory.Inventory{Packages: []inventory.Package{{Name: "cloud-initramfs-growroot"}, {Name: "cloud-guest-utils"}}}
	if hasPackage(other, "cloud-init") || hasPackage(&inventory.Inventory{}, "cloud-init") {
		t.Error("cloud-init found where it is not installed")
	}
}
