package ova

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/qcow2"
)

// FromOVF packs an OVF export (a descriptor plus the files its References
// name, such as the <name>-disk-0.vmdk files Packer's vsphere-clone export
// writes) into an OVA at outOVA: descriptor first, then a fresh .mf of SHA256
// lines, then the files in References order, plus outOVA+".sha256".
//
// A vmw:BootOrderSection is removed from the descriptor (some ESXi imports
// empty the disks of an appliance that carries one). When the export has
// its own .mf with SHA256 lines, each file is checked against it while it is
// copied, so files are read once; files without a SHA256 line are hashed first.
func FromOVF(ctx context.Context, ovfPath, outOVA string) (*Result, error) {
	desc, err := os.ReadFile(ovfPath)
	if err != nil {
		return nil, fmt.Errorf("ova from ovf: %w", err)
	}
	refs, err := readReferences(desc)
	if err != nil {
		return nil, fmt.Errorf("ova from ovf %s: %w", ovfPath, err)
	}
	desc = stripBootOrder(desc)
	dir := filepath.Dir(ovfPath)
	base := strings.TrimSuffix(filepath.Base(ovfPath), filepath.Ext(ovfPath))
	known, err := readMF(filepath.Join(dir, base+".mf"))
	if err != nil {
		return nil, fmt.Errorf("ova from ovf %s: %w", ovfPath, err)
	}
	files := make([]Entry, len(refs))
	for i, r := range refs {
		fi, err := os.Stat(filepath.Join(dir, r.Href))
		if err != nil {
			return nil, fmt.Errorf("ova from ovf %s: file %q of References: %w", ovfPath, r.Href, err)
		}
		if r.Size > 0 && r.Size != fi.Size() {
			return nil, fmt.Errorf("ova from ovf %s: %s is %d bytes, References says %d", ovfPath, r.Href, fi.Size(), r.Size)
		}
		files[i] = Entry{Name: r.Href, Size: fi.Size(), SHA256: known[r.Href]}
		if files[i].SHA256 == "" {
			sum, _, err := qcow2.HashFile(ctx, filepath.Join(dir, r.Href))
			if err != nil {
				return nil, fmt.Errorf("ova from ovf %s: %w", ovfPath, err)
			}
			files[i].SHA256 = sum
		}
	}
	ow, err := createOVA(outOVA, ModTimeOf(ovfPath))
	if err != nil {
		return nil, fmt.Errorf("ova from ovf: %w", err)
	}
	defer ow.abort()
	descEntry := ow.addBytes(base+".ovf", desc)
	ow.addBytes(base+".mf", manifestFile(append([]Entry{descEntry}, files...)))
	for _, e := range files {
		f, err := os.Open(filepath.Join(dir, e.Name))
		if err != nil {
			return nil, fmt.Errorf("ova from ovf: %w", err)
		}
		ow.addReader(ctx, e.Name, bufio.NewReaderSize(f, 1<<20), e.Size, e.SHA256)
		f.Close()
	}
	res, err := ow.finish()
	if err != nil {
		return nil, fmt.Errorf("ova from ovf %s: %w", ovfPath, err)
	}
	return res, nil
}

// ModTimeOf is a file's modification time, or the zero time (meaning now).
func ModTimeOf(path string) (t time.Time) {
	if fi, err := os.Stat(path); err == nil {
		t = fi.ModTime()
	}
	return t
}

type reference struct {
	Href string `xml:"href,attr"`
	Size int64  `xml:"size,attr"`
}

func readReferences(desc []byte) ([]reference, error) {
	var env struct {
		XMLName    xml.Name
		References struct {
			Files []reference `xml:"File"`
		} `xml:"References"`
	}
	if err := xml.Unmarshal(desc, &env); err != nil {
		return nil, fmt.Errorf("parse descriptor: %w", err)
	}
	if env.XMLName.Local != "Envelope" {
		return nil, fmt.Errorf("not an OVF descriptor: root element <%s>, want <Envelope>", env.XMLName.Local)
	}
	refs := env.References.Files
	if len(refs) == 0 {
		return nil, errors.New("descriptor's References list no file")
	}
	seen := map[string]bool{}
	for _, r := range refs {
		if r.Href == "" || filepath.Base(r.Href) != r.Href || r.Href == "." || r.Href == ".." || strings.Contains(r.Href, "://") {
			return nil, fmt.Errorf("References File href %q: only plain file names beside the descriptor are supported", r.Href)
		}
		if seen[r.Href] {
			return nil, fmt.Errorf("References name %q twice", r.Href)
		}
		seen[r.Href] = true
	}
	return refs, nil
}

var bootOrder = regexp.MustCompile(`(?s)[ \t]*<vmw:BootOrderSection\b(?:[^>]*/>|.*?</vmw:BootOrderSection>)[ \t]*\r?\n?`)

func stripBootOrder(desc []byte) []byte { return bootOrder.ReplaceAll(desc, nil) }

var mfLine = regexp.MustCompile(`^(SHA256|SHA1|SHA512)\((.+)\)\s*=\s*([0-9a-fA-F]+)\s*$`)

// readMF returns the SHA256 sums of an existing .mf by file name; no .mf is
// no sums. Other algorithms' lines are ignored (the files are hashed anew).
func readMF(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	sums := map[string]string{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		s := strings.TrimSpace(string(line))
		if s == "" {
			continue
		}
		m := mfLine.FindStringSubmatch(s)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: not a manifest line: %q", path, i+1, s)
		}
		if m[1] == "SHA256" && len(m[3]) == 64 {
			sums[m[2]] = strings.ToLower(m[3])
		}
	}
	return sums, nil
}
