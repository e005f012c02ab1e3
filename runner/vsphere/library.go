package vsphere

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/rs/zerolog"
	"github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25/soap"
)

// Location is where PublishOVA put an OVA: what the release manifest records.
type Location struct {
	Server    string `json:"server"`     // vCenter host
	Library   string `json:"library"`    // content library name
	LibraryID string `json:"library_id"` // its id
	Item      string `json:"item"`       // library item name
	ItemID    string `json:"item_id"`    // its id
}

func (l Location) String() string {
	return fmt.Sprintf("vsphere://%s/%s/%s (item %s)", l.Server, l.Library, l.Item, l.ItemID)
}

// PublishOVA uploads an OVA to a content library (by name or id) as an OVF
// template item called itemName, replacing the item's content when it
// exists already. The OVA's descriptor and every file it references go up
// with the SHA256 sums of its .mf, so vCenter verifies them.
func PublishOVA(ctx context.Context, cfg Config, libraryName, itemName, ovaPath string) (Location, error) {
	loc := Location{Server: cfg.Server(), Library: libraryName, Item: itemName}
	if libraryName == "" {
		libraryName = cfg.ContentLibrary
		loc.Library = libraryName
	}
	if libraryName == "" || itemName == "" {
		return loc, errors.New("publish ova: library and item name are required")
	}
	ova, err := indexOVA(ovaPath)
	if err != nil {
		return loc, fmt.Errorf("publish %s: %w", ovaPath, err)
	}
	defer ova.f.Close()

	c, err := connect(ctx, cfg)
	if err != nil {
		return loc, fmt.Errorf("publish %s: %w", ovaPath, err)
	}
	defer c.close()
	rc, err := c.rest(ctx)
	if err != nil {
		return loc, fmt.Errorf("publish %s: %w", ovaPath, err)
	}
	defer func() { _ = rc.Logout(context.WithoutCancel(ctx)) }()
	m := library.NewManager(rc)

	lib, err := findLibrary(ctx, m, libraryName, cfg.Server())
	if err != nil {
		return loc, fmt.Errorf("publish %s: %w", ovaPath, err)
	}
	loc.LibraryID = lib.ID
	loc.ItemID, err = ensureItem(ctx, m, lib.ID, itemName)
	if err != nil {
		return loc, fmt.Errorf("publish %s: %w", ovaPath, err)
	}
	if err := uploadItem(ctx, m, rc, loc.ItemID, ova); err != nil {
		return loc, fmt.Errorf("publish %s to %s: %w", ovaPath, loc, err)
	}
	zerolog.Ctx(ctx).Info().Str("ova", ovaPath).Stringer("location", loc).Msg("vsphere: published OVA to content library")
	return loc, nil
}

func (c *conn) checkLibrary(ctx context.Context, name string) error {
	rc, err := c.rest(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Logout(context.WithoutCancel(ctx)) }()
	_, err = findLibrary(ctx, library.NewManager(rc), name, c.cfg.Server())
	return err
}

func findLibrary(ctx context.Context, m *library.Manager, name, server string) (*library.Library, error) {
	ids, err := m.FindLibrary(ctx, library.Find{Name: name})
	if err != nil {
		return nil, fmt.Errorf("find content library %q: %w", name, err)
	}
	if len(ids) == 0 {
		if lib, err := m.GetLibraryByID(ctx, name); err == nil {
			return lib, nil
		}
		var have []string
		if libs, err := m.GetLibraries(ctx); err == nil {
			for _, l := range libs {
				have = append(have, l.Name)
			}
		}
		return nil, notFound("content library", name, "vCenter "+server, have, nil)
	}
	if len(ids) > 1 {
		return nil, fmt.Errorf("content library name %q is ambiguous (%d libraries); configure its id", name, len(ids))
	}
	return m.GetLibraryByID(ctx, ids[0])
}

func ensureItem(ctx context.Context, m *library.Manager, libID, name string) (string, error) {
	ids, err := m.FindLibraryItems(ctx, library.FindItem{LibraryID: libID, Name: name})
	if err != nil {
		return "", fmt.Errorf("find library item %q: %w", name, err)
	}
	if len(ids) > 0 {
		return ids[0], nil
	}
	id, err := m.CreateLibraryItem(ctx, library.Item{
		Name: name, Type: library.ItemTypeOVF, LibraryID: libID,
		Description: ptr("Published by imagebot"),
	})
	if err != nil {
		return "", fmt.Errorf("create library item %q: %w", name, err)
	}
	return id, nil
}

func uploadItem(ctx context.Context, m *library.Manager, rc *rest.Client, itemID string, ova *ovaIndex) (err error) {
	session, err := m.CreateLibraryItemUpdateSession(ctx, library.Session{LibraryItemID: itemID})
	if err != nil {
		return fmt.Errorf("open update session: %w", err)
	}
	defer func() {
		if err != nil {
			_ = m.FailLibraryItemUpdateSession(context.WithoutCancel(ctx), session)
		}
	}()
	for _, name := range ova.uploads() {
		e := ova.entries[name]
		info := library.UpdateFile{Name: name, SourceType: "PUSH", Size: e.size, Checksum: ova.sums[name]}
		up, err := m.AddLibraryItemFile(ctx, session, info)
		if err != nil {
			return fmt.Errorf("add %s: %w", name, err)
		}
		u, err := url.Parse(up.UploadEndpoint.URI)
		if err != nil {
			return fmt.Errorf("add %s: upload endpoint: %w", name, err)
		}
		p := soap.DefaultUpload
		p.ContentLength = e.size
		h := sha256.New()
		body := io.TeeReader(io.NewSectionReader(ova.f, e.offset, e.size), h)
		if err := rc.Upload(ctx, body, u, &p); err != nil {
			return fmt.Errorf("upload %s: %w", name, err)
		}
		// vCenter checks the sums it was given too; checking here as well
		// costs no extra read and fails the session on any vCenter.
		if want := ova.sums[name]; want != nil && strings.EqualFold(want.Algorithm, "SHA256") {
			if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want.Checksum) {
				return fmt.Errorf("upload %s: checksum mismatch: sha256 %s, the OVA's manifest says %s", name, got, want.Checksum)
			}
		}
	}
	if err := m.CompleteLibraryItemUpdateSession(ctx, session); err != nil {
		return fmt.Errorf("complete update session: %w", err)
	}
	return waitSession(ctx, m, session)
}

// waitSession waits until vCenter has taken the uploaded files in.
func waitSession(ctx context.Context, m *library.Manager, id string) error {
	for {
		s, err := m.GetLibraryItemUpdateSession(ctx, id)
		if err != nil {
			return fmt.Errorf("update session %s: %w", id, err)
		}
		switch s.State {
		case "ACTIVE":
		case "ERROR":
			return fmt.Errorf("update session %s failed: %v", id, s.ErrorMessage)
		default:
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// ovaIndex locates the members of an OVA (a tar) so each can be read on its own.
type ovaIndex struct {
	f          *os.File
	entries    map[string]ovaEntry
	descriptor string
	refs       []string
	sums       map[string]*library.Checksum
}

type ovaEntry struct{ offset, size int64 }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func indexOVA(p string) (_ *ovaIndex, err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	cr := &countingReader{r: f}
	tr := tar.NewReader(cr)
	idx := &ovaIndex{f: f, entries: map[string]ovaEntry{}, sums: map[string]*library.Checksum{}}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read OVA tar: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(h.Name)
		if strings.Contains(name, "/") {
			return nil, fmt.Errorf("OVA member %q is in a directory; an OVA is flat", h.Name)
		}
		idx.entries[name] = ovaEntry{offset: cr.n, size: h.Size}
		switch strings.ToLower(path.Ext(name)) {
		case ".ovf":
			if idx.descriptor != "" {
				return nil, fmt.Errorf("OVA holds two descriptors (%s, %s)", idx.descriptor, name)
			}
			idx.descriptor = name
		case ".mf":
			if idx.sums, err = library.ReadManifest(tr); err != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
		}
	}
	if idx.descriptor == "" {
		return nil, errors.New("OVA holds no .ovf descriptor")
	}
	d := idx.entries[idx.descriptor]
	env, err := ovf.Unmarshal(io.NewSectionReader(f, d.offset, d.size))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", idx.descriptor, err)
	}
	for _, r := range env.References {
		if _, ok := idx.entries[r.Href]; !ok {
			return nil, fmt.Errorf("%s references %q, which the OVA does not hold", idx.descriptor, r.Href)
		}
		idx.refs = append(idx.refs, r.Href)
	}
	return idx, nil
}

// uploads is the descriptor, then every file it references.
func (o *ovaIndex) uploads() []string { return append([]string{o.descriptor}, o.refs...) }

func ptr[T any](v T) *T { return &v }

// ManifestKind names content library publications in a build manifest.
const ManifestKind = "vsphere-content-library"

// Manifest is the release manifest's record of this publication of file.
func (l Location) Manifest(file string) manifest.Location {
	return manifest.Location{Kind: ManifestKind, Where: l.String(), File: file}
}
