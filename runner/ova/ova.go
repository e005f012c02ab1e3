// Package ova owns the OVA artifact: it writes a VMware-importable OVA from a
// qcow2 or raw disk (a streamOptimized VMDK compressed on all cores, a DMTF
// OVF 1.0 descriptor, a .mf of SHA256 lines, a tar with the descriptor first,
// and the OVA's own .sha256), and packs a vSphere OVF export (descriptor plus
// VMDKs) into an OVA the same way.
package ova

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/ctxio"
	"github.com/rs/zerolog"
)

// ExportOptions say what to export and how the descriptor describes it.
type ExportOptions struct {
	Disk string // qcow2 or raw disk to export
	Out  string // the .ova to write; Out+".sha256" is written beside it
	// Name names the virtual machine and the files inside the OVA
	// (<Name>.ovf, <Name>.mf, <Name>-disk1.vmdk). Default: Out's base name
	// without ".ova".
	Name        string
	Version     string // ProductSection Version, e.g. 1.2.0
	BuildID     string // build information for FullVersion and the annotation
	GitSHA      string
	Description string
	Vendor      string           // default "imagebot"
	OS          catalog.OS       // OperatingSystemSection
	Hardware    catalog.Hardware // VirtualHardwareSection; zero fields take the defaults
	Network     string           // logical network name; default "VM Network"
	Workers     int              // compression goroutines; 0 means GOMAXPROCS
	Level       int              // zlib level 1..9; 0 means DefaultLevel
	ModTime     time.Time        // tar entry times; zero means now
	Logger      *zerolog.Logger  // optional
}

// Entry is one file inside the OVA, in tar order.
type Entry struct {
	Name   string
	Size   int64
	SHA256 string
}

// Result describes a written OVA.
type Result struct {
	Path       string  // the .ova
	Size       int64   // bytes
	SHA256     string  // hex, of the whole .ova
	SHA256Path string  // Path + ".sha256", in sha256sum's format
	Entries    []Entry // descriptor, manifest, disks: the tar's order
	// DiskCapacity and DiskPopulated are the exported disk's virtual size and
	// the bytes of non-zero grains (0 for FromOVF).
	DiskCapacity  int64
	DiskPopulated int64
}

// Export writes opts.Disk as an OVA at opts.Out, writing the VMDK once:
// straight into the tar at an offset that leaves room for the descriptor
// (padded to the size it would have with the widest numbers) and the .mf
// (whose size is known in advance). The descriptor, the .mf and the tar
// headers are filled in once the VMDK's size and digest are known, then the
// whole file is read back once for the OVA's own sha256. Out appears only
// when complete.
func Export(ctx context.Context, opts ExportOptions) (*Result, error) {
	if opts.Disk == "" || opts.Out == "" {
		return nil, errors.New("ova export: disk and output path are required")
	}
	name := opts.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(opts.Out), ".ova")
	}
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("ova export: name: %w", err)
	}
	ctrl, err := controllerFor(opts.Hardware.DiskBus)
	if err != nil {
		return nil, fmt.Errorf("ova export: %w", err)
	}
	nic, err := nicFor(opts.Hardware.NIC)
	if err != nil {
		return nil, fmt.Errorf("ova export: %w", err)
	}
	disk, err := OpenDisk(opts.Disk)
	if err != nil {
		return nil, fmt.Errorf("ova export: %w", err)
	}
	defer disk.Close()
	log := zerolog.Nop()
	if opts.Logger != nil {
		log = *opts.Logger
	}
	start := time.Now()
	descName, mfName, diskName := name+".ovf", name+".mf", name+"-disk1.vmdk"
	data := descriptorData{
		Name: name, Description: opts.Description, Version: opts.Version,
		FullVersion: fullVersion(opts), Vendor: or(opts.Vendor, "imagebot"), Annotation: annotation(opts),
		DiskFile: diskName, Capacity: disk.Size(),
		Network: or(opts.Network, DefaultNetwork), OS: guestFor(opts.OS), HWVersion: DefaultHWVersion,
		CPUs: orInt(opts.Hardware.CPUs, DefaultCPUs), MemoryMB: orInt(opts.Hardware.MemoryMB, DefaultMemoryMB),
		Controller: ctrl, NIC: nic, EFI: strings.EqualFold(opts.Hardware.Firmware, "efi"),
	}
	wide := data
	wide.DiskSize, wide.Populated, wide.Capacity = math.MaxInt64, math.MaxInt64, math.MaxInt64
	widest, err := renderDescriptor(wide)
	if err != nil {
		return nil, err
	}
	descSize := int64(len(widest))
	zero := strings.Repeat("0", 64)
	mfSize := int64(len(manifestFile([]Entry{{Name: descName, SHA256: zero}, {Name: diskName, SHA256: zero}})))
	vmdkOff := 3*blockSize + roundBlock(descSize) + roundBlock(mfSize)

	out, err := os.OpenFile(opts.Out+".partial", os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ova export: %w", err)
	}
	done := false
	defer func() {
		if !done {
			out.Close()
			os.Remove(opts.Out + ".partial")
		}
	}()
	if _, err := out.Seek(vmdkOff, io.SeekStart); err != nil {
		return nil, fmt.Errorf("ova export: %w", err)
	}
	vh := sha256.New()
	cw := &countWriter{w: io.MultiWriter(out, vh)}
	bw := bufio.NewWriterSize(cw, 1<<20)
	info, err := writeStreamVMDK(ctx, bw, disk, vmdkOptions{
		Workers: opts.Workers, Level: opts.Level, AdapterType: adapterFor(ctrl), FileName: diskName,
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return nil, fmt.Errorf("ova export %s: write vmdk: %w", opts.Disk, err)
	}
	vmdk := Entry{Name: diskName, Size: cw.n, SHA256: hex.EncodeToString(vh.Sum(nil))}
	log.Debug().Str("disk", opts.Disk).Int64("grains", info.Grains).Int64("vmdk_bytes", vmdk.Size).
		Dur("took", time.Since(start)).Msg("vmdk written")

	data.DiskSize, data.Populated, data.Capacity = vmdk.Size, info.Populated, info.Capacity
	desc, err := renderDescriptor(data)
	if err != nil {
		return nil, err
	}
	// Trailing blanks after the root element are XML's own "Misc": they
	// keep the descriptor at its reserved size.
	desc = append(desc, bytes.Repeat([]byte(" "), int(descSize)-len(desc))...)
	desc[len(desc)-1] = '\n'
	descSum := sha256.Sum256(desc)
	descEntry := Entry{Name: descName, Size: descSize, SHA256: hex.EncodeToString(descSum[:])}
	mf := manifestFile([]Entry{descEntry, vmdk})
	mfSum := sha256.Sum256(mf)
	mfEntry := Entry{Name: mfName, Size: int64(len(mf)), SHA256: hex.EncodeToString(mfSum[:])}

	mod := opts.ModTime
	if mod.IsZero() {
		mod = time.Now()
	}
	var head bytes.Buffer
	tw := tar.NewWriter(&head)
	for _, f := range []struct {
		e    Entry
		data []byte
	}{{descEntry, desc}, {mfEntry, mf}, {vmdk, nil}} {
		if err := tw.WriteHeader(tarHeader(f.e.Name, f.e.Size, mod)); err != nil {
			return nil, fmt.Errorf("ova export: tar header for %s: %w", f.e.Name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("ova export: %w", err)
		}
	}
	if int64(head.Len()) != vmdkOff || mfEntry.Size != mfSize {
		return nil, fmt.Errorf("ova export: internal error: tar head is %d bytes, %d reserved", head.Len(), vmdkOff)
	}
	if _, err := out.WriteAt(head.Bytes(), 0); err != nil {
		return nil, fmt.Errorf("ova export: %w", err)
	}
	// The disk's padding to a block, then the two zero blocks ending a tar.
	end := vmdkOff + vmdk.Size
	trailer := make([]byte, roundBlock(vmdk.Size)-vmdk.Size+2*blockSize)
	if _, err := out.WriteAt(trailer, end); err != nil {
		return nil, fmt.Errorf("ova export: %w", err)
	}
	size := end + int64(len(trailer))
	oh := sha256.New()
	if _, err := io.CopyBuffer(oh, ctxio.Reader(ctx, io.NewSectionReader(out, 0, size)), make([]byte, 4<<20)); err != nil {
		return nil, fmt.Errorf("ova export: hash %s: %w", opts.Out, err)
	}
	if err := out.Close(); err != nil {
		return nil, fmt.Errorf("ova export: %w", err)
	}
	if err := os.Rename(opts.Out+".partial", opts.Out); err != nil {
		return nil, fmt.Errorf("ova export: %w", err)
	}
	done = true
	res, err := finishResult(opts.Out, size, hex.EncodeToString(oh.Sum(nil)), []Entry{descEntry, mfEntry, vmdk})
	if err != nil {
		return nil, fmt.Errorf("ova export: %w", err)
	}
	res.DiskCapacity, res.DiskPopulated = info.Capacity, info.Populated
	log.Info().Str("ova", res.Path).Int64("bytes", res.Size).Str("sha256", res.SHA256).
		Dur("took", time.Since(start)).Msg("ova written")
	return res, nil
}

const blockSize = 512 // tar's block

func roundBlock(n int64) int64 { return (n + blockSize - 1) / blockSize * blockSize }

// finishResult writes the OVA's .sha256 (sha256sum's format) and describes it.
func finishResult(path string, size int64, sum string, entries []Entry) (*Result, error) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	res := &Result{Path: path, Size: size, SHA256: sum, SHA256Path: path + ".sha256", Entries: entries}
	line := fmt.Sprintf("%s  %s\n", sum, filepath.Base(path))
	if err := os.WriteFile(res.SHA256Path, []byte(line), 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

func fullVersion(o ExportOptions) string {
	v := o.Version
	var parts []string
	if o.BuildID != "" {
		parts = append(parts, "build "+o.BuildID)
	}
	if o.GitSHA != "" {
		parts = append(parts, "git "+o.GitSHA)
	}
	if len(parts) > 0 {
		v = strings.TrimSpace(v + " (" + strings.Join(parts, ", ") + ")")
	}
	return v
}

func annotation(o ExportOptions) string {
	s := o.Description
	if fv := fullVersion(o); fv != "" {
		if s != "" {
			s += "\n"
		}
		s += "Version " + fv + ", built by imagebot"
	}
	return s
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// checkName refuses names that would not make plain file names in the tar.
func checkName(n string) error {
	if len(n) > 80 {
		return fmt.Errorf("%q is longer than 80 bytes", n)
	}
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\\\x00()=\n") {
		return fmt.Errorf("%q cannot name files inside an OVA", n)
	}
	return nil
}

// manifestFile renders the .mf: one "SHA256(name)= hex" line per file, the
// form ovftool and vCenter verify.
func manifestFile(entries []Entry) []byte {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "SHA256(%s)= %s\n", e.Name, e.SHA256)
	}
	return []byte(b.String())
}

// ovaWriter writes the tar to Out+".partial", hashing it as it goes, and
// renames it into place in finish. Errors stick: the first one is returned
// by finish.
type ovaWriter struct {
	path    string
	f       *os.File
	bw      *bufio.Writer
	cw      *countWriter
	h       hash.Hash
	tw      *tar.Writer
	mod     time.Time
	entries []Entry
	err     error
	done    bool
}

func createOVA(path string, mod time.Time) (*ovaWriter, error) {
	f, err := os.OpenFile(path+".partial", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	if mod.IsZero() {
		mod = time.Now()
	}
	o := &ovaWriter{path: path, f: f, h: sha256.New(), mod: mod.Truncate(time.Second)}
	o.cw = &countWriter{w: io.MultiWriter(f, o.h)}
	o.bw = bufio.NewWriterSize(o.cw, 1<<20)
	o.tw = tar.NewWriter(o.bw)
	return o, nil
}

func (o *ovaWriter) header(name string, size int64) *tar.Header { return tarHeader(name, size, o.mod) }

// tarHeader is USTAR, which every OVA reader knows, unless the file needs
// GNU's base-256 size (8 GiB and more) or long-name extension. Either is one
// 512-byte block for names of up to 100 bytes.
func tarHeader(name string, size int64, mod time.Time) *tar.Header {
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: mod.Truncate(time.Second), Format: tar.FormatUSTAR}
	if size > 1<<33-1 || len(name) > 100 {
		h.Format = tar.FormatGNU
	}
	return h
}

func (o *ovaWriter) addBytes(name string, data []byte) Entry {
	sum := sha256.Sum256(data)
	e := Entry{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	if o.err != nil {
		return e
	}
	if o.err = o.tw.WriteHeader(o.header(name, e.Size)); o.err == nil {
		_, o.err = o.tw.Write(data)
	}
	o.entries = append(o.entries, e)
	return e
}

// addReader copies size bytes of r into the tar and checks they hash to
// want (when want is not empty).
func (o *ovaWriter) addReader(ctx context.Context, name string, r io.Reader, size int64, want string) Entry {
	e := Entry{Name: name, Size: size}
	if o.err != nil {
		return e
	}
	if o.err = o.tw.WriteHeader(o.header(name, size)); o.err != nil {
		return e
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(o.tw, h), io.LimitReader(ctxio.Reader(ctx, r), size), make([]byte, 1<<20))
	switch {
	case err != nil:
		o.err = fmt.Errorf("copy %s: %w", name, err)
	case n != size:
		o.err = fmt.Errorf("copy %s: %d bytes, expected %d", name, n, size)
	}
	e.SHA256 = hex.EncodeToString(h.Sum(nil))
	if o.err == nil && want != "" && !strings.EqualFold(want, e.SHA256) {
		o.err = fmt.Errorf("%s: sha256 %s, the manifest says %s", name, e.SHA256, want)
	}
	o.entries = append(o.entries, e)
	return e
}

func (o *ovaWriter) finish() (*Result, error) {
	if o.err == nil {
		o.err = o.tw.Close()
	}
	if o.err == nil {
		o.err = o.bw.Flush()
	}
	if o.err == nil {
		o.err = o.f.Close()
	}
	if o.err != nil {
		return nil, o.err
	}
	if err := os.Rename(o.path+".partial", o.path); err != nil {
		return nil, err
	}
	o.done = true
	return finishResult(o.path, o.cw.n, hex.EncodeToString(o.h.Sum(nil)), o.entries)
}

// abort removes the partial file unless finish succeeded.
func (o *ovaWriter) abort() {
	if o.done {
		return
	}
	o.f.Close()
	os.Remove(o.path + ".partial")
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
