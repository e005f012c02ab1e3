package qcow2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
	opts := Options{QemuImg: testenv.Tool(t, "qemu-img"), SourceFormat: "raw"}
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

// TestFinishRefusesImagesReadingOtherFiles: a build's qcow2 whose backing
// file (or external data file) is a host file must not be finished, or that
// file's bytes would be published; a raw file is not taken for a qcow2.
func TestFinishRefusesImagesReadingOtherFiles(t *testing.T) {
	qemuImg := testenv.Tool(t, "qemu-img")
	dir := t.TempDir()
	host := filepath.Join(dir, "host-file")
	if err := os.WriteFile(host, []byte(strings.Repeat("HOST SECRET ", 1<<16)), 0o600); err != nil {
		t.Fatal(err)
	}
	backed := filepath.Join(dir, "backed.qcow2")
	qemu(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", host, backed)
	dataFile := filepath.Join(dir, "datafile.qcow2")
	qemu(t, "qemu-img", "create", "-q", "-f", "qcow2", "-o", "data_file="+host+",data_file_raw=on", dataFile, "1M")
	tests := []struct {
		name, src, format, says string
	}{
		{"backing file", backed, "", "has a backing file (" + host + ")"},
		{"external data file", dataFile, "", "has an external data file"},
		{"raw file named as qcow2", host, "", "qemu-img info"},
		{"unknown source format", host, "vmdk", `source format "vmdk"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(dir, "out.qcow2")
			_, err := Finish(context.Background(), tc.src, dst, Options{QemuImg: qemuImg, SourceFormat: tc.format})
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v, want it to say %q", err, tc.says)
			}
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Errorf("%s written: %v", dst, err)
			}
		})
	}
}

// runNice raises the nice value of the process it starts by the given
// amount over this process's own (capped at 19), not to an absolute value.
func TestRunNiceLowersThePriority(t *testing.T) {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	own, err := strconv.Atoi(fields[16]) // field 19 of proc(5): nice
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ nice, want int }{{0, own}, {7, min(19, own+7)}, {40, 19}} {
		// sh compares its own nice value once the priority had time to be set.
		script := fmt.Sprintf(`sleep 0.3; test "$(cut -d' ' -f19 /proc/$$/stat)" = %d`, tc.want)
		if err := runNice(context.Background(), tc.nice, "sh", "-c", script); err != nil {
			t.Errorf("nice +%d: the child's nice value is not %d: %v", tc.nice, tc.want, err)
		}
	}
}
