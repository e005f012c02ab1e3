// Package sbom owns the SBOM written beside a build's artifacts: a CycloneDX
// 1.5 JSON document made with the format's maintained library
// (github.com/CycloneDX/cyclonedx-go) from the image's inventory. The image
// is the BOM's subject; its OS and every installed package are components,
// each package with a package URL (purl) that scanners match against.
package sbom

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/imagebot/imagebot/runner/inventory"
)

// Ext is the artifact extension of the SBOM (image-version.cdx.json).
const Ext = "cdx.json"

// Subject names what the SBOM describes.
type Subject struct {
	Image   string
	Version string
	BuildID string
	GitSHA  string
}

// Build makes the CycloneDX BOM of an inventory.
func Build(inv *inventory.Inventory, subj Subject, now time.Time) *cdx.BOM {
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:" + uuidFrom(subj.Image+"@"+subj.Version+"#"+subj.BuildID)
	osRef := "os:" + inv.OS.ID + "@" + inv.OS.Version
	props := []cdx.Property{{Name: "imagebot:build_id", Value: subj.BuildID}}
	if subj.GitSHA != "" {
		props = append(props, cdx.Property{Name: "imagebot:git_sha", Value: subj.GitSHA})
	}
	if inv.Kernel != "" {
		props = append(props, cdx.Property{Name: "imagebot:kernel", Value: inv.Kernel})
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: now.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "imagebot",
		}}},
		// CycloneDX has no "disk image" type; a platform is the nearest.
		Component: &cdx.Component{
			BOMRef: "image:" + subj.Image + "@" + subj.Version, Type: cdx.ComponentTypePlatform,
			Name: subj.Image, Version: subj.Version, Properties: &props,
		},
	}
	components := []cdx.Component{{
		BOMRef: osRef, Type: cdx.ComponentTypeOS, Name: inv.OS.ID, Version: inv.OS.Version,
		Description: inv.OS.PrettyName,
	}}
	deps := []string{}
	for _, p := range inv.Packages {
		ref := purl(inv, p)
		c := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version, PackageURL: ref}
		if p.Source != "" && p.Source != p.Name {
			c.Properties = &[]cdx.Property{{Name: "imagebot:source_package", Value: p.Source}}
		}
		components = append(components, c)
		deps = append(deps, ref)
	}
	bom.Components = &components
	bom.Dependencies = &[]cdx.Dependency{
		{Ref: bom.Metadata.Component.BOMRef, Dependencies: &[]string{osRef}},
		{Ref: osRef, Dependencies: &deps},
	}
	return bom
}

// purl returns the package URL of p: pkg:deb/debian/NAME@VERSION?arch=A&distro=debian-12
// or pkg:rpm/rocky/NAME@VERSION?arch=A&distro=rocky-9 (purl-spec's deb and rpm types).
func purl(inv *inventory.Inventory, p inventory.Package) string {
	typ := "deb"
	if inv.PackageManager == "rpm" {
		typ = "rpm"
	}
	ns := inv.OS.ID
	if ns == "" {
		ns = typ
	}
	q := url.Values{}
	q.Set("arch", p.Arch)
	if inv.OS.ID != "" && inv.OS.Version != "" {
		q.Set("distro", inv.OS.ID+"-"+inv.OS.Version)
	}
	epoch, ver, ok := strings.Cut(p.Version, ":")
	if typ == "rpm" && ok { // rpm purls carry the epoch as a qualifier
		q.Set("epoch", epoch)
	} else {
		ver = p.Version
	}
	if p.Source != "" && p.Source != p.Name {
		q.Set("upstream", p.Source)
	}
	return fmt.Sprintf("pkg:%s/%s/%s@%s?%s", typ, url.PathEscape(strings.ToLower(ns)), url.PathEscape(p.Name),
		url.PathEscape(ver), q.Encode())
}

// Encode writes bom as CycloneDX 1.5 JSON.
func Encode(w io.Writer, bom *cdx.BOM) error {
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_5); err != nil {
		return fmt.Errorf("encode CycloneDX SBOM: %w", err)
	}
	return nil
}

// Marshal returns the JSON of the SBOM of inv.
func Marshal(inv *inventory.Inventory, subj Subject, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	if err := Encode(&b, Build(inv, subj, now)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Decode reads a CycloneDX JSON SBOM with the library's decoder.
func Decode(r io.Reader) (*cdx.BOM, error) {
	bom := new(cdx.BOM)
	if err := cdx.NewBOMDecoder(r, cdx.BOMFileFormatJSON).Decode(bom); err != nil {
		return nil, fmt.Errorf("decode CycloneDX SBOM: %w", err)
	}
	return bom, nil
}
