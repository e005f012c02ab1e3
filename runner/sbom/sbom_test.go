package sbom

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/inventory"
)

func testInventory() *inventory.Inventory {
	return &inventory.Inventory{
		OS:     inventory.OS{ID: "debian", Name: "Debian GNU/Linux", Version: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)", Arch: "amd64"},
		Kernel: "6.1.0-28-amd64", PackageManager: "dpkg",
		Packages: []inventory.Package{
			{Name: "libssl3", Version: "3.0.15-1~deb12u1", Arch: "amd64", Source: "openssl"},
			{Name: "vim-tiny", Version: "2:9.0.1378-2", Arch: "amd64", Source: "vim"},
			{Name: "tzdata", Version: "2024a-0+deb12u1", Arch: "all", Source: "tzdata"},
		},
	}
}

func TestSBOMValidatesAndRoundTrips(t *testing.T) {
	data, err := Marshal(testInventory(), Subject{Image: "debian12-app", Version: "1.2.0", BuildID: "b1", GitSHA: "abc"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(data); err != nil {
		t.Fatal(err)
	}
	bom, err := Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if bom.Metadata.Component.Name != "debian12-app" || bom.Metadata.Component.Version != "1.2.0" {
		t.Errorf("subject %+v", bom.Metadata.Component)
	}
	purls := map[string]string{}
	for _, c := range *bom.Components {
		purls[c.Name] = c.PackageURL
	}
	for name, want := range map[string]string{
		"libssl3":  "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl",
		"vim-tiny": "pkg:deb/debian/vim-tiny@2:9.0.1378-2?arch=amd64&distro=debian-12&upstream=vim",
		"tzdata":   "pkg:deb/debian/tzdata@2024a-0+deb12u1?arch=all&distro=debian-12",
	} {
		if purls[name] != want {
			t.Errorf("purl of %s = %q, want %q", name, purls[name], want)
		}
	}
	if len(*bom.Components) != 4 { // the OS and three packages
		t.Errorf("%d components", len(*bom.Components))
	}
}

func TestRPMPurlCarriesEpochAsQualifier(t *testing.T) {
	inv := &inventory.Inventory{OS: inventory.OS{ID: "rocky", Version: "9.4"}, PackageManager: "rpm",
		Packages: []inventory.Package{{Name: "openssl", Version: "1:3.0.7-27.el9", Arch: "x86_64", Source: "openssl-3.0.7-27.el9.src.rpm"}}}
	got := purl(inv, inv.Packages[0])
	if !strings.HasPrefix(got, "pkg:rpm/rocky/openssl@3.0.7-27.el9?") || !strings.Contains(got, "epoch=1") {
		t.Errorf("purl %q", got)
	}
}
