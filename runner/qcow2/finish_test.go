package qcow2

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
)

// TestFinishCompactsCompressesAndHashes: the finished qcow2 holds the same
// disk as the source, is smaller than a raw copy, compressed when asked,
// and its reported sha256 and size are the file's.
func TestFinishCompactsCompressesAndHashes(t *testing.T) {
	dir := t.TempDir()
	src := makeImage(t, dir)
	raw := filepath.Join(dir, "src.raw")
	qemu(t, "qemu-img", "convert", "-O", "raw", src, raw)
	opts := Options{QemuImg: testenv.Tool(t, "qemu-img")}
	plain, err := Finish(context.Background(), raw, filepath.Join(dir, "plain.qcow2"), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Compress = true
	comp, err := Finish(context.Background(), raw, filepath.Join(dir, "comp.qcow2"), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Result{plain, comp} {
		data, err := os.ReadFile(r.Path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if r.SHA256 != hex.EncodeToString(sum[:]) || r.Size != int64(len(data)) {
			t.Errorf("%s: reported %s/%d, file is %x/%d", r.Path, r.SHA256, r.Size, sum, len(data))
		}
		if r.VirtualSize != 16<<20 {
			t.Errorf("%s: virtual size %d", r.Path, r.VirtualSize)
		}
		qemu(t, "qemu-img", "compare", "-q", raw, r.Path)
		if _, err := os.Stat(r.Path + ".partial"); !os.IsNotExist(err) {
			t.Errorf("temporary file left behind: %v", err)
		}
	}
	if plain.Size >= 16<<20/2 {
		t.Errorf("plain qcow2 is %d bytes: not compacted", plain.Size)
	}
	if comp.Size >= plain.Size {
		t.Errorf("compressed %d bytes, not smaller than plain %d", comp.Size, plain.Size)
	}
}

func TestFinishReportsQemuImgErrors(t *testing.T) {
	dir := t.TempDir()
	opts := Options{QemuImg: testenv.Tool(t, "qemu-img")}
	_, err := Finish(context.Background(), filepath.Join(dir, "missing.qcow2"), filepath.Join(dir, "out.qcow2"), opts)
	if err == nil || !strings.Contains(err.Error(), "missing.qcow2") {
		t.Fatalf("error %v should name the missing source", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.qcow2")); !os.IsNotExist(err) {
		t.Fatal("output exists after a failed finish")
	}
	same := filepath.Join(dir, "same.qcow2")
	if _, err := Finish(context.Background(), same, same, opts); err == nil || !strings.Contains(err.Error(), "same file") {
		t.Fatalf("same source and destination: %v", err)
	}
}
