package qcow2

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
)

func qemu(t *testing.T, tool string, args ...string) {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, tool), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
}

// makeImage writes a 16 MiB qcow2 with data, a zero-written range and holes.
func makeImage(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "src.qcow2")
	qemu(t, "qemu-img", "create", "-q", "-f", "qcow2", p, "16M")
	random := filepath.Join(dir, "random.bin")
	buf := make([]byte, 300000)
	for i := range buf {
		buf[i] = byte(i*7 + i/251)
	}
	if err := os.WriteFile(random, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	qemu(t, "qemu-io", "-c", "write -P 0x5a 65536 200000", // unaligned end
		"-c", "write -s "+random+" 3M 300000",
		"-c", "write -z 8M 1M", // zero clusters
		"-c", "write -P 0x11 16711680 65536", // last cluster
		p)
	return p
}

func rawOf(t *testing.T, dir, img string) []byte {
	t.Helper()
	raw := filepath.Join(dir, filepath.Base(img)+".raw")
	qemu(t, "qemu-img", "convert", "-O", "raw", img, raw)
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReaderReadsWhatQemuImgReads checks the pure-Go reader against
// qemu-img's own raw conversion, for plain and deflate-compressed images.
func TestReaderReadsWhatQemuImgReads(t *testing.T) {
	dir := t.TempDir()
	plain := makeImage(t, dir)
	compressed := filepath.Join(dir, "compressed.qcow2")
	qemu(t, "qemu-img", "convert", "-c", "-O", "qcow2", plain, compressed)
	v2 := filepath.Join(dir, "v2.qcow2")
	qemu(t, "qemu-img", "convert", "-O", "qcow2", "-o", "compat=0.10,cluster_size=4096", plain, v2)
	for _, p := range []string{plain, compressed, v2} {
		t.Run(filepath.Base(p), func(t *testing.T) {
			want := rawOf(t, dir, p)
			img, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			if img.Size() != int64(len(want)) {
				t.Fatalf("size %d, qemu-img says %d", img.Size(), len(want))
			}
			got := make([]byte, img.Size())
			// Odd-sized reads cross cluster boundaries.
			for off := 0; off < len(got); off += 100003 {
				end := min(off+100003, len(got))
				if _, err := img.ReadAt(got[off:end], int64(off)); err != nil {
					t.Fatalf("ReadAt %d: %v", off, err)
				}
			}
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && got[i] == want[i] {
					i++
				}
				t.Fatalf("content differs from qemu-img's at byte %d", i)
			}
		})
	}
}

// TestAllocatedSkipsHolesAndZeroClusters: the allocation map is what lets
// the OVA writer skip a sparse disk's empty space without reading it.
func TestAllocatedSkipsHolesAndZeroClusters(t *testing.T) {
	img, err := Open(makeImage(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	for _, c := range []struct {
		off, n int64
		want   bool
	}{
		{0, 65536, false},
		{65536, 65536, true},
		{0, 2 << 20, true},
		{2 << 20, 1 << 20, false},
		{3 << 20, 4096, true},
		{8 << 20, 1 << 20, false}, // written with zeroes: zero flag
		{10 << 20, 5 << 20, false},
		{16711680, 65536, true},
	} {
		got, err := img.Allocated(c.off, c.n)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("Allocated(%d, %d) = %v, want %v", c.off, c.n, got, c.want)
		}
	}
}

// header builds a version 3 header for a 1 MiB image with 64 KiB clusters,
// its L1 table in the second cluster, then lets mod change it.
func header(mod func(b []byte)) []byte {
	b := make([]byte, 3*65536)
	be := binary.BigEndian
	be.PutUint32(b[0:], magic)
	be.PutUint32(b[4:], 3)
	be.PutUint32(b[20:], 16)
	be.PutUint64(b[24:], 1<<20)
	be.PutUint32(b[36:], 1)
	be.PutUint64(b[40:], 65536)
	be.PutUint32(b[96:], 4)    // refcount_order
	be.PutUint32(b[100:], 104) // header_length
	if mod != nil {
		mod(b)
	}
	return b
}

func TestParseHeaderRejectsMalformedImages(t *testing.T) {
	be := binary.BigEndian
	tests := []struct {
		name string
		data []byte
		want string // in the error; "" means it must open
	}{
		{"valid", header(nil), ""},
		{"empty file", nil, "truncated"},
		{"short", header(nil)[:40], "truncated"},
		{"not qcow2", []byte(strings.Repeat("x", 512)), "not a qcow2 image"},
		{"version 1", header(func(b []byte) { be.PutUint32(b[4:], 1) }), "unsupported qcow2 version 1"},
		{"huge clusters", header(func(b []byte) { be.PutUint32(b[20:], 30) }), "cluster_bits 30"},
		{"backing file", header(func(b []byte) {
			be.PutUint64(b[8:], 512)
			be.PutUint32(b[16:], 8)
			copy(b[512:], "base.img")
		}), `backing file "base.img"`},
		{"encrypted", header(func(b []byte) { be.PutUint32(b[32:], 2) }), "encrypted"},
		{"l1 too small", header(func(b []byte) { be.PutUint64(b[24:], 1<<40) }), "l1_size 1 too small"},
		{"l1 beyond file", header(func(b []byte) { be.PutUint64(b[40:], 1<<30) }), "outside the file"},
		{"l1 misaligned", header(func(b []byte) { be.PutUint64(b[40:], 65537) }), "not aligned"},
		{"corrupt", header(func(b []byte) { be.PutUint64(b[72:], 2) }), "marked corrupt"},
		{"external data", header(func(b []byte) { be.PutUint64(b[72:], 4) }), "external data file"},
		{"extended l2", header(func(b []byte) { be.PutUint64(b[72:], 16) }), "extended L2"},
		{"zstd", header(func(b []byte) {
			be.PutUint64(b[72:], 8)
			be.PutUint32(b[100:], 112)
			b[104] = 1
		}), "zstd"},
		{"unknown feature", header(func(b []byte) { be.PutUint64(b[72:], 1<<40) }), "unknown incompatible features"},
		{"short v3 header length", header(func(b []byte) { be.PutUint32(b[100:], 72) }), "header_length 72"},
		{"l2 beyond file", header(func(b []byte) { be.PutUint64(b[65536:], 1<<40) }), "L2 table offset"},
		{"data cluster beyond file", header(func(b []byte) {
			be.PutUint64(b[65536:], 2*65536)
			be.PutUint64(b[2*65536:], 1<<40)
		}), "beyond end of file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := NewReader(bytes.NewReader(tc.data), int64(len(tc.data)))
			if err == nil {
				// Structural errors in tables surface on read.
				_, err = img.ReadAt(make([]byte, 4096), 0)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("no error, want one containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestOpenNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.qcow2")
	if err := os.WriteFile(p, []byte("QFI\xfb\x00\x00\x00\x07"+strings.Repeat("\x00", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "version 7") {
		t.Fatalf("error %v should name %s and the version", err, p)
	}
}

// smallImage is a 64 KiB image with 512-byte clusters, L1 at 512 and an
// L2 table at 1024: small enough for the fuzzer to mutate quickly.
func smallImage(l2e uint64) []byte {
	b := make([]byte, 2048)
	be := binary.BigEndian
	be.PutUint32(b[0:], magic)
	be.PutUint32(b[4:], 3)
	be.PutUint32(b[20:], 9)
	be.PutUint64(b[24:], 65536)
	be.PutUint32(b[36:], 2)
	be.PutUint64(b[40:], 512)
	be.PutUint32(b[100:], 104)
	be.PutUint64(b[512:], 1024)
	be.PutUint64(b[1024:], l2e)
	return b
}

// FuzzReader: no input makes the reader panic or hang; errors are fine.
func FuzzReader(f *testing.F) {
	f.Add(smallImage(1536))                       // a data cluster
	f.Add(smallImage(1<<62 | 1<<61 | 1536 + 100)) // a compressed cluster
	f.Add(smallImage(1))                          // a zero cluster
	if b, err := os.ReadFile(filepath.Join("testdata", "tiny.qcow2")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		buf := make([]byte, 70000)
		for _, off := range []int64{0, 511, img.Size() / 2, img.Size() - 1} {
			if off >= 0 {
				img.ReadAt(buf, off)
				img.Allocated(off, 1<<20)
			}
		}
	})
}
