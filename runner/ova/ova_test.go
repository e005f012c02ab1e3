package ova

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/testenv"
)

func run(t testing.TB, tool string, args ...string) string {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, tool), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// makeDisk creates a qcow2 of the given size and writes data into it:
// patterned runs, pseudo-random bytes, explicit zeroes and the last byte.
func makeDisk(t testing.TB, dir, name, size string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", p, size)
	noise := filepath.Join(dir, name+".noise")
	b := make([]byte, 3<<20)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	if err := os.WriteFile(noise, b, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "qemu-io", "-c", "write -P 0x5a 4096 1000000",
		"-c", "write -s "+noise+" 5M 3145728",
		"-c", "write -z 9M 1M",
		"-c", "write -P 0x01 12M 512",
		p)
	os.Remove(noise)
	return p
}

// ovaContents is an extracted OVA: every entry is written to dir, and
// small ones are kept in files too.
type ovaContents struct {
	names []string
	dir   string
	files map[string][]byte
}

func (c ovaContents) path(name string) string { return filepath.Join(c.dir, name) }

func readOVA(t testing.TB, path string) ovaContents {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := ovaContents{dir: t.TempDir(), files: map[string][]byte{}}
	tr := tar.NewReader(bufio.NewReader(f))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(h.Name) != h.Name {
			t.Fatalf("entry %q is not a plain file name", h.Name)
		}
		out, err := os.Create(c.path(h.Name))
		if err != nil {
			t.Fatal(err)
		}
		var small bytes.Buffer
		w := io.Writer(out)
		if h.Size < 16<<20 {
			w = io.MultiWriter(out, &small)
		}
		if _, err := io.Copy(w, tr); err != nil {
			t.Fatal(err)
		}
		out.Close()
		c.names = append(c.names, h.Name)
		if h.Size < 16<<20 {
			c.files[h.Name] = small.Bytes()
		}
	}
	return c
}

var mfRe = regexp.MustCompile(`^SHA256\(([^)]+)\)= ([0-9a-f]{64})$`)

// verifyMF checks every line of the .mf against the tar's files and that
// every other file has a line.
func verifyMF(t testing.TB, c ovaContents, mfName string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(string(c.files[mfName]), "\n"), "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		m := mfRe.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf(".mf line %q is not SHA256(name)= hex", l)
		}
		if !slices.Contains(c.names, m[1]) {
			t.Fatalf(".mf names %s, not in the OVA", m[1])
		}
		if sha256File(t, c.path(m[1])) != m[2] {
			t.Fatalf(".mf line for %s does not verify", m[1])
		}
		seen[m[1]] = true
	}
	for _, n := range c.names {
		if n != mfName && !seen[n] {
			t.Errorf("%s has no .mf line", n)
		}
	}
}

func sha256File(t testing.TB, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkOVA asserts the layout every OVA must have and returns its contents.
func checkOVA(t testing.TB, res *Result, name string) ovaContents {
	t.Helper()
	c := readOVA(t, res.Path)
	if len(c.names) < 3 || c.names[0] != name+".ovf" || c.names[1] != name+".mf" {
		t.Fatalf("tar lists %v: want %s.ovf first, then %s.mf, then the disks", c.names, name, name)
	}
	verifyMF(t, c, name+".mf")
	if got := sha256File(t, res.Path); got != res.SHA256 {
		t.Fatalf("result sha256 %s, file's %s", res.SHA256, got)
	}
	line, err := os.ReadFile(res.SHA256Path)
	if err != nil {
		t.Fatal(err)
	}
	if want := res.SHA256 + "  " + filepath.Base(res.Path) + "\n"; string(line) != want {
		t.Fatalf(".sha256 holds %q, want %q", line, want)
	}
	for i, e := range res.Entries {
		fi, err := os.Stat(c.path(e.Name))
		if err != nil || e.Name != c.names[i] || e.Size != fi.Size() {
			t.Errorf("entry %d %+v does not match the tar", i, e)
		}
	}
	return c
}

// TestExportedVMDKIsIdenticalToSourceDisk: the VMDK inside the OVA holds the
// same disk as the source, by qemu-img compare, for every input shape.
func TestExportedVMDKIsIdenticalToSourceDisk(t *testing.T) {
	dir := t.TempDir()
	base := makeDisk(t, dir, "base.qcow2", "16M")
	compressed := filepath.Join(dir, "compressed.qcow2")
	run(t, "qemu-img", "convert", "-c", "-O", "qcow2", base, compressed)
	small := filepath.Join(dir, "small-clusters.qcow2")
	run(t, "qemu-img", "convert", "-O", "qcow2", "-o", "cluster_size=4096", base, small)
	raw := filepath.Join(dir, "odd.raw")
	run(t, "qemu-img", "convert", "-O", "raw", base, raw)
	if err := os.Truncate(raw, 16<<20+512*3); err != nil { // not a whole grain
		t.Fatal(err)
	}
	// Not even whole sectors, after a full grain of data: the tail must read
	// as zeros, not as what the grain buffer held before.
	odd := filepath.Join(dir, "odd-bytes.raw")
	noise := make([]byte, 3*grainSize+100)
	for i := range noise {
		noise[i] = byte(i*31 + 7)
	}
	if err := os.WriteFile(odd, noise, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{base, compressed, small, raw, odd} {
		t.Run(filepath.Base(src), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "app.ova")
			workers := 3
			if src == odd {
				workers = 1 // the same grain buffer serves every grain
			}
			res, err := Export(context.Background(), ExportOptions{Disk: src, Out: out, Name: "app", Version: "1.0.0", Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			c := checkOVA(t, res, "app")
			vmdk := c.path("app-disk1.vmdk")
			run(t, "qemu-img", "check", "-q", vmdk)
			info := run(t, "qemu-img", "info", vmdk)
			if !strings.Contains(info, "create type: streamOptimized") || !strings.Contains(info, "compressed: true") {
				t.Fatalf("not a compressed streamOptimized VMDK:\n%s", info)
			}
			run(t, "qemu-img", "compare", "-q", src, vmdk)
		})
	}
}

// TestExportSkipsZeroGrains: zeroes written into allocated clusters cost
// nothing in the VMDK, and populatedSize counts only data.
func TestExportSkipsZeroGrains(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "zeros.raw")
	data := make([]byte, 4<<20) // 64 grains, all allocated on disk
	copy(data[grainSize*10:], "hello")
	if err := os.WriteFile(raw, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Export(context.Background(), ExportOptions{Disk: raw, Out: filepath.Join(dir, "z.ova")})
	if err != nil {
		t.Fatal(err)
	}
	if res.DiskPopulated != grainSize || res.DiskCapacity != 4<<20 {
		t.Fatalf("populated %d capacity %d, want %d and %d", res.DiskPopulated, res.DiskCapacity, grainSize, 4<<20)
	}
	c := checkOVA(t, res, "z")
	if n := len(c.files["z-disk1.vmdk"]); n == 0 || n > 80*1024 {
		t.Fatalf("VMDK of one non-zero grain is %d bytes", n)
	}
}

func TestExportRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	disk := makeDisk(t, dir, "d.qcow2", "16M")
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts ExportOptions
		want string
	}{
		{"no disk", ExportOptions{Out: filepath.Join(dir, "a.ova")}, "required"},
		{"missing disk", ExportOptions{Disk: filepath.Join(dir, "nope.qcow2"), Out: filepath.Join(dir, "a.ova")}, "nope.qcow2"},
		{"bad name", ExportOptions{Disk: disk, Out: filepath.Join(dir, "a.ova"), Name: "a/b"}, "cannot name"},
		{"bad bus", ExportOptions{Disk: disk, Out: filepath.Join(dir, "a.ova"), Hardware: catalog.Hardware{DiskBus: "nvme9"}}, "disk_bus"},
		{"bad nic", ExportOptions{Disk: disk, Out: filepath.Join(dir, "a.ova"), Hardware: catalog.Hardware{NIC: "rtl"}}, "hardware.nic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Export(ctx, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "a.ova")); !os.IsNotExist(err) {
				t.Fatal("an OVA was written")
			}
		})
	}
	// A backing file is refused by the qcow2 reader with a clear message.
	child := filepath.Join(dir, "child.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", disk, child)
	if _, err := Export(ctx, ExportOptions{Disk: child, Out: filepath.Join(dir, "c.ova")}); err == nil || !strings.Contains(err.Error(), "backing file") {
		t.Fatalf("backing file: %v", err)
	}
}

// TestCancelledExportLeavesNothing: a cancelled export returns the context's
// error and leaves neither the OVA nor temporary files.
func TestCancelledExportLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	disk := makeDisk(t, dir, "d.qcow2", "16M")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	if _, err := Export(ctx, ExportOptions{Disk: disk, Out: filepath.Join(out, "x.ova")}); err == nil {
		t.Fatal("cancelled export succeeded")
	}
	if left, _ := os.ReadDir(out); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// TestTarHeaderCarriesFilesOver8GiB: a disk of 8 GiB or more gets a header
// (GNU base-256 size) that Go's and GNU tar's readers decode.
func TestTarHeaderCarriesFilesOver8GiB(t *testing.T) {
	var buf bytes.Buffer
	o := &ovaWriter{tw: tar.NewWriter(&buf)}
	const size = 9 << 30
	if err := o.tw.WriteHeader(o.header("big-disk1.vmdk", size)); err != nil {
		t.Fatal(err)
	}
	h, err := tar.NewReader(bytes.NewReader(buf.Bytes())).Next()
	if err != nil {
		t.Fatal(err)
	}
	if buf.Len() != blockSize {
		t.Fatalf("header of a 9 GiB file takes %d bytes; Export reserves one %d-byte block", buf.Len(), blockSize)
	}
	if h.Size != size || h.Name != "big-disk1.vmdk" {
		t.Fatalf("read back %s of %d bytes", h.Name, h.Size)
	}
	if small := o.header("a.ovf", 100); small.Format != tar.FormatUSTAR {
		t.Fatalf("small files should stay plain USTAR, got %v", small.Format)
	}
}

func TestGuestOSMapping(t *testing.T) {
	for _, tc := range []struct {
		os     catalog.OS
		cim    int
		osType string
	}{
		{catalog.OS{Family: "linux", Name: "debian", Version: "12", Arch: "x86_64"}, 96, "debian12_64Guest"},
		{catalog.OS{Family: "linux", Name: "rocky", Version: "9.4", Arch: "x86_64"}, 80, "rockylinux_64Guest"},
		{catalog.OS{Family: "linux", Name: "centos", Version: "7", Arch: "x86_64"}, 107, "centos7_64Guest"},
		{catalog.OS{Family: "linux", Name: "photon", Version: "5.0", Arch: "x86_64"}, 101, "vmwarePhoton64Guest"},
		{catalog.OS{Family: "linux", Name: "ubuntu", Version: "24.04", Arch: "x86_64"}, 94, "ubuntu64Guest"},
		{catalog.OS{Family: "linux", Name: "gentoo", Arch: "x86_64"}, 101, "otherLinux64Guest"},
		{catalog.OS{Family: "linux", Name: "debian", Version: "11", Arch: "i386"}, 95, "debian11Guest"},
	} {
		g := guestFor(tc.os)
		if g.CIM != tc.cim || g.OSType != tc.osType {
			t.Errorf("%+v: got %d/%s, want %d/%s", tc.os, g.CIM, g.OSType, tc.cim, tc.osType)
		}
	}
}

// failingWriter fails after n bytes, like a full disk.
type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("no space left on device")
	}
	return len(p), nil
}

// TestVMDKWriteErrorStopsEarly: a failing output stops the export with its
// error instead of compressing the rest of the disk.
func TestVMDKWriteErrorStopsEarly(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "d.raw")
	data := make([]byte, 8<<20) // incompressible: each grain takes ~64 KiB
	x := uint32(88172645)
	for i := range data {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		data[i] = byte(x)
	}
	os.WriteFile(raw, data, 0o644)
	d, err := OpenDisk(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var calls int
	counting := &countingDisk{Disk: d, reads: &calls}
	_, err = writeStreamVMDK(context.Background(), &failingWriter{n: 200 << 10}, counting, vmdkOptions{Workers: 2})
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("error %v, want the writer's", err)
	}
	if calls > 32 { // 128 grains in all; a few in flight are fine
		t.Fatalf("%d grains read after the output failed", calls)
	}
}

type countingDisk struct {
	Disk
	mu    sync.Mutex
	reads *int
}

func (c *countingDisk) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	*c.reads++
	c.mu.Unlock()
	return c.Disk.ReadAt(p, off)
}
