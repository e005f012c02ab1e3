// Package nocloud writes cloud-init NoCloud seeds: a small ISO 9660 image
// labelled "cidata" holding meta-data and user-data, which cloud-init reads
// at boot when the image has it installed. imagebot's checks hand the guest
// their per-boot login key this way (runner/checks). The image is made with
// github.com/diskfs/go-diskfs, no external tool.
package nocloud

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// Label is the volume label cloud-init's NoCloud datasource looks for.
const Label = "cidata"

// Seed is what a seed hands cloud-init.
type Seed struct {
	// InstanceID is meta-data's instance-id. A new one makes cloud-init
	// treat the boot as a new instance (its per-instance modules, which
	// install the keys, run again).
	InstanceID string
	// AuthorizedKeys are public keys (authorized_keys lines) for root and
	// for the image's default user.
	AuthorizedKeys []string
}

// NewInstanceID returns a random instance-id.
func NewInstanceID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("nocloud: instance-id: %w", err)
	}
	return "imagebot-" + hex.EncodeToString(b), nil
}

// MetaData is the seed's meta-data file.
func (s Seed) MetaData() []byte {
	return []byte("instance-id: " + s.InstanceID + "\n")
}

// UserData is the seed's user-data: #cloud-config that installs the keys
// for the default user and, with disable_root false, for root unchanged
// (cloud-init otherwise prefixes root's copy with a command that refuses
// the login).
func (s Seed) UserData() []byte {
	var b strings.Builder
	b.WriteString("#cloud-config\ndisable_root: false\nssh_authorized_keys:\n")
	for _, k := range s.AuthorizedKeys {
		// A key is one line of base64 and a comment we make: quoted anyway.
		fmt.Fprintf(&b, "  - %q\n", strings.TrimSpace(k))
	}
	return []byte(b.String())
}

// Write makes the seed image at path (ISO 9660 with Rock Ridge and Joliet
// names, so the files are "meta-data" and "user-data" whatever the reader).
func Write(path string, s Seed) error {
	if s.InstanceID == "" || strings.ContainsAny(s.InstanceID, "\n\r:") {
		return fmt.Errorf("nocloud: instance-id %q: empty or not one plain word", s.InstanceID)
	}
	for _, k := range s.AuthorizedKeys {
		if strings.ContainsAny(strings.TrimSpace(k), "\n\r") {
			return fmt.Errorf("nocloud: an authorized key spans lines")
		}
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("nocloud: %w", err)
	}
	work, err := os.MkdirTemp(filepath.Dir(path), ".nocloud-")
	if err != nil {
		return fmt.Errorf("nocloud: %w", err)
	}
	defer os.RemoveAll(work)
	if err := write(path, work, s); err != nil {
		os.Remove(path)
		return fmt.Errorf("nocloud: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// write uses go-diskfs's ISO 9660 package and file backend, not its
// top-level package: that one links every filesystem it knows (squashfs
// with lz4, xz and lzo, ext4, FAT) into imagebot for nothing.
func write(path, work string, s Seed) error {
	const size = 1 << 20 // two small files; Finalize trims nothing, 1 MiB is plenty
	b, err := file.CreateFromPath(path, size)
	if err != nil {
		return err
	}
	defer b.Close()
	iso, err := iso9660.Create(b, size, 0, 2048, work)
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"meta-data": s.MetaData(), "user-data": s.UserData()} {
		f, err := iso.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return iso.Finalize(iso9660.FinalizeOptions{RockRidge: true, Joliet: true, VolumeIdentifier: Label})
}
