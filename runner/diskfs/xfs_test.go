package diskfs_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"

	"github.com/imagebot/imagebot/runner/diskfs"
	"github.com/imagebot/imagebot/runner/diskfs/diskfstest"
)

func TestOpenReadsXFSPartition(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 300001) // several blocks, not a block multiple
	rand.Read(big)
	disk := diskfstest.MakeXFSDisk(t, dir, map[string][]byte{
		"etc/os-release":   []byte("ID=centos\n"),
		"etc/release-link": []byte("->os-release"),
		"var/lib/rpm/big":  big,
		"etc/hostname":     []byte("x"),
	})
	ctx := context.Background()
	fs, err := diskfs.Open(ctx, disk, dir, diskfs.Tools{})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if b, err := fs.ReadFile(ctx, "/etc/os-release"); err != nil || string(b) != "ID=centos\n" {
		t.Errorf("os-release = %q, %v", b, err)
	}
	if b, err := fs.ReadFile(ctx, "/etc/release-link"); err != nil || string(b) != "ID=centos\n" {
		t.Errorf("through a symlink: %q, %v", b, err)
	}
	if b, err := fs.ReadFile(ctx, "/var/lib/rpm/big"); err != nil || !bytes.Equal(b, big) {
		t.Errorf("big file: %d bytes, equal %v, %v", len(b), bytes.Equal(b, big), err)
	}
	if _, err := fs.ReadFile(ctx, "/etc/missing"); !errors.Is(err, diskfs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	es, err := fs.ReadDir(ctx, "/etc")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]diskfs.Entry{}
	for _, e := range es {
		byName[e.Name] = e
	}
	if e := byName["os-release"]; !e.IsRegular() || e.Perm() != 0o640 || e.GID != 4 || e.Size != 10 {
		t.Errorf("os-release entry %+v", e)
	}
	if !byName["release-link"].IsSymlink() || !byName["hostname"].IsRegular() || len(es) != 3 {
		t.Errorf("entries %+v", es)
	}
	if _, _, err := fs.Discard(ctx); !errors.Is(err, diskfs.ErrDiscardUnsupported) {
		t.Errorf("discard on XFS: %v", err)
	}
	if err := fs.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "inspect-*")); len(left) > 0 {
		t.Errorf("Close left %v", left)
	}
}
