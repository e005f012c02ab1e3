// Package qcow2 owns qcow2 disks: it finishes a build's disk with qemu-img
// (compacted, optionally compressed, with its sha256) and reads qcow2 images
// in pure Go (header, L1/L2 tables, plain and deflate-compressed clusters),
// so the OVA writer can stream a disk without converting it first.
//
// The reader handles standalone images only: a backing file, encryption,
// an external data file, extended L2 entries or zstd compression are refused
// with an error that says so.
package qcow2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/flate"
)

const (
	magic         = 0x514649fb // "QFI\xfb"
	offsetMask    = 0x00fffffffffffe00
	l2Compressed  = 1 << 62
	l2ZeroFlag    = 1
	maxL1Entries  = 32 << 20 / 8 // qemu's own limit: a 32 MiB L1 table
	maxVirtual    = 1 << 55      // 32 PiB: keeps offset arithmetic far from overflow
	l2CacheTables = 32

	incompatDirty      = 1 << 0
	incompatCorrupt    = 1 << 1
	incompatDataFile   = 1 << 2
	incompatCompType   = 1 << 3
	incompatExtendedL2 = 1 << 4
)

// Header is the part of a qcow2 header the reader uses.
type Header struct {
	Version          uint32
	BackingFile      string
	ClusterBits      uint32
	Size             uint64 // virtual size in bytes
	L1Size           uint32
	L1TableOffset    uint64
	IncompatFeatures uint64
	CompressionType  uint8 // 0 deflate, 1 zstd
}

// ClusterSize is the cluster size in bytes.
func (h Header) ClusterSize() int64 { return 1 << h.ClusterBits }

// ParseHeader decodes and checks a qcow2 header. size is the file's size,
// used to check offsets; the backing file name is read through r.
func ParseHeader(r io.ReaderAt, size int64) (Header, error) {
	var b [112]byte
	n, err := r.ReadAt(b[:], 0)
	if n < 72 {
		if err == nil || errors.Is(err, io.EOF) {
			return Header{}, fmt.Errorf("header truncated: %d bytes, a qcow2 header has at least 72", n)
		}
		return Header{}, fmt.Errorf("read header: %w", err)
	}
	be := binary.BigEndian
	if m := be.Uint32(b[0:]); m != magic {
		return Header{}, fmt.Errorf("not a qcow2 image (magic %#08x, want %#08x)", m, magic)
	}
	h := Header{
		Version:       be.Uint32(b[4:]),
		ClusterBits:   be.Uint32(b[20:]),
		Size:          be.Uint64(b[24:]),
		L1Size:        be.Uint32(b[36:]),
		L1TableOffset: be.Uint64(b[40:]),
	}
	backingOff, backingLen := be.Uint64(b[8:]), be.Uint32(b[16:])
	if h.Version != 2 && h.Version != 3 {
		return h, fmt.Errorf("unsupported qcow2 version %d (want 2 or 3)", h.Version)
	}
	if h.ClusterBits < 9 || h.ClusterBits > 21 {
		return h, fmt.Errorf("cluster_bits %d out of range 9..21", h.ClusterBits)
	}
	if backingOff != 0 {
		name := "?"
		if backingLen > 0 && backingLen <= 1023 && int64(backingOff) < size {
			nb := make([]byte, backingLen)
			if _, err := r.ReadAt(nb, int64(backingOff)); err == nil {
				name = string(nb)
			}
		}
		return h, fmt.Errorf("image has a backing file %q: flatten it first (qemu-img convert -O qcow2)", name)
	}
	if c := be.Uint32(b[32:]); c != 0 {
		return h, fmt.Errorf("encrypted images are not supported (crypt_method %d)", c)
	}
	if h.Size > maxVirtual {
		return h, fmt.Errorf("virtual size %d too large", h.Size)
	}
	if h.Version == 3 {
		if n < 104 {
			return h, fmt.Errorf("version 3 header truncated: %d bytes, want at least 104", n)
		}
		h.IncompatFeatures = be.Uint64(b[72:])
		hdrLen := be.Uint32(b[100:])
		if hdrLen < 104 {
			return h, fmt.Errorf("header_length %d below 104", hdrLen)
		}
		if err := h.checkFeatures(b[:n], hdrLen); err != nil {
			return h, err
		}
	}
	cs := uint64(h.ClusterSize())
	perL1 := cs * (cs / 8) // bytes covered by one L2 table
	need := (h.Size + perL1 - 1) / perL1
	if uint64(h.L1Size) < need {
		return h, fmt.Errorf("l1_size %d too small for virtual size %d (need %d)", h.L1Size, h.Size, need)
	}
	if h.L1Size > maxL1Entries {
		return h, fmt.Errorf("l1_size %d above the limit %d", h.L1Size, maxL1Entries)
	}
	if need > 0 {
		if h.L1TableOffset%cs != 0 {
			return h, fmt.Errorf("l1_table_offset %d not aligned to the cluster size %d", h.L1TableOffset, cs)
		}
		if h.L1TableOffset == 0 || h.L1TableOffset+need*8 > uint64(size) {
			return h, fmt.Errorf("l1_table_offset %d (%d entries) outside the file (%d bytes)", h.L1TableOffset, need, size)
		}
	}
	return h, nil
}

func (h *Header) checkFeatures(b []byte, hdrLen uint32) error {
	f := h.IncompatFeatures
	switch {
	case f&incompatCorrupt != 0:
		return errors.New("image is marked corrupt; run qemu-img check -r all")
	case f&incompatDataFile != 0:
		return errors.New("images with an external data file are not supported")
	case f&incompatExtendedL2 != 0:
		return errors.New("images with extended L2 entries (subclusters) are not supported")
	}
	if unknown := f &^ (incompatDirty | incompatCompType); unknown != 0 {
		return fmt.Errorf("unknown incompatible features %#x", unknown)
	}
	if f&incompatCompType != 0 {
		if hdrLen < 105 || len(b) < 105 {
			return errors.New("compression type feature set but header too short to hold it")
		}
		h.CompressionType = b[104]
		if h.CompressionType != 0 {
			return fmt.Errorf("compression type %d (zstd) not supported, only deflate", h.CompressionType)
		}
	}
	return nil
}

// Image is an open qcow2 image. ReadAt and Allocated are safe for
// concurrent use.
type Image struct {
	f        io.ReaderAt
	closer   io.Closer
	fileSize int64
	h        Header
	cs       int64 // cluster size
	l2n      int64 // entries per L2 table
	cshift   uint  // bit where a compressed entry's sector count starts
	l1       []uint64

	mu      sync.Mutex
	l2cache map[uint64][]uint64
}

// Open opens a qcow2 image for reading.
func Open(path string) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	img, err := NewReader(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("qcow2 %s: %w", path, err)
	}
	img.closer = f
	return img, nil
}

// NewReader reads a qcow2 image of size bytes from r.
func NewReader(r io.ReaderAt, size int64) (*Image, error) {
	h, err := ParseHeader(r, size)
	if err != nil {
		return nil, err
	}
	img := &Image{f: r, fileSize: size, h: h, cs: h.ClusterSize(), l2cache: map[uint64][]uint64{}}
	img.l2n = img.cs / 8
	img.cshift = uint(62 - (h.ClusterBits - 8))
	n := (int64(h.Size) + img.cs*img.l2n - 1) / (img.cs * img.l2n)
	raw := make([]byte, n*8)
	if _, err := r.ReadAt(raw, int64(h.L1TableOffset)); err != nil {
		return nil, fmt.Errorf("read L1 table: %w", err)
	}
	img.l1 = make([]uint64, n)
	for i := range img.l1 {
		img.l1[i] = binary.BigEndian.Uint64(raw[i*8:])
	}
	return img, nil
}

// Header returns the image's header.
func (img *Image) Header() Header { return img.h }

// Size is the virtual disk size in bytes.
func (img *Image) Size() int64 { return int64(img.h.Size) }

// ClusterSize is the image's cluster size in bytes.
func (img *Image) ClusterSize() int64 { return img.cs }

// Close closes the file opened by Open.
func (img *Image) Close() error {
	if img.closer == nil {
		return nil
	}
	return img.closer.Close()
}

type clusterKind int

const (
	kindZero clusterKind = iota // unallocated or zero flag: reads as zeros
	kindData
	kindCompressed
)

type cluster struct {
	kind clusterKind
	off  int64 // host offset
	clen int64 // compressed length
}

// lookup maps virtual cluster index c to where its data lives.
func (img *Image) lookup(c int64) (cluster, error) {
	l1e := img.l1[c/img.l2n]
	l2off := l1e & offsetMask
	if l2off == 0 {
		return cluster{}, nil
	}
	l2, err := img.l2Table(l2off)
	if err != nil {
		return cluster{}, err
	}
	e := l2[c%img.l2n]
	if e&l2Compressed != 0 {
		off := int64(e & (1<<img.cshift - 1))
		sectors := int64((e&^(1<<63|l2Compressed))>>img.cshift) + 1
		clen := sectors*512 - off%512
		if off >= img.fileSize {
			return cluster{}, fmt.Errorf("compressed cluster %d at offset %d beyond end of file (%d)", c, off, img.fileSize)
		}
		clen = min(clen, img.fileSize-off) // the last sector count may overshoot the file
		return cluster{kind: kindCompressed, off: off, clen: clen}, nil
	}
	off := int64(e & offsetMask)
	if e&l2ZeroFlag != 0 && img.h.Version == 3 || off == 0 {
		return cluster{}, nil
	}
	if off%img.cs != 0 || off+img.cs > img.fileSize {
		return cluster{}, fmt.Errorf("cluster %d at offset %d misaligned or beyond end of file (%d)", c, off, img.fileSize)
	}
	return cluster{kind: kindData, off: off}, nil
}

func (img *Image) l2Table(off uint64) ([]uint64, error) {
	img.mu.Lock()
	defer img.mu.Unlock()
	if t, ok := img.l2cache[off]; ok {
		return t, nil
	}
	if int64(off)%img.cs != 0 || int64(off)+img.cs > img.fileSize {
		return nil, fmt.Errorf("L2 table offset %d misaligned or beyond end of file (%d)", off, img.fileSize)
	}
	raw := make([]byte, img.cs)
	if _, err := img.f.ReadAt(raw, int64(off)); err != nil {
		return nil, fmt.Errorf("read L2 table at %d: %w", off, err)
	}
	t := make([]uint64, img.l2n)
	for i := range t {
		t[i] = binary.BigEndian.Uint64(raw[i*8:])
	}
	if len(img.l2cache) >= l2CacheTables {
		for k := range img.l2cache { // evict one, any one
			delete(img.l2cache, k)
			break
		}
	}
	img.l2cache[off] = t
	return t, nil
}

// Allocated reports whether any cluster touching [off, off+n) holds data
// (plain or compressed). Unallocated and zero-flagged clusters read as zeros.
func (img *Image) Allocated(off, n int64) (bool, error) {
	if off < 0 || n < 0 {
		return false, errors.New("qcow2: negative offset or length")
	}
	end := min(off+n, img.Size())
	for c := off / img.cs; c*img.cs < end; c++ {
		cl, err := img.lookup(c)
		if err != nil {
			return false, err
		}
		if cl.kind != kindZero {
			return true, nil
		}
	}
	return false, nil
}

var inflaters = sync.Pool{}

// ReadAt reads the virtual disk. Reading past the virtual size returns io.EOF.
func (img *Image) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("qcow2: negative offset")
	}
	size := img.Size()
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		if pos >= size {
			return done, io.EOF
		}
		c := pos / img.cs
		in := pos % img.cs
		n := int(min(img.cs-in, int64(len(p)-done), size-pos))
		dst := p[done : done+n]
		cl, err := img.lookup(c)
		if err != nil {
			return done, err
		}
		switch cl.kind {
		case kindZero:
			clear(dst)
		case kindData:
			if _, err := img.f.ReadAt(dst, cl.off+in); err != nil {
				return done, fmt.Errorf("read cluster %d at %d: %w", c, cl.off, err)
			}
		case kindCompressed:
			if err := img.readCompressed(c, cl, in, dst); err != nil {
				return done, err
			}
		}
		done += n
	}
	return done, nil
}

func (img *Image) readCompressed(c int64, cl cluster, in int64, dst []byte) error {
	comp := make([]byte, cl.clen)
	if _, err := img.f.ReadAt(comp, cl.off); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read compressed cluster %d at %d: %w", c, cl.off, err)
	}
	out := make([]byte, img.cs)
	zr, _ := inflaters.Get().(io.ReadCloser)
	src := &byteReader{b: comp}
	if zr == nil {
		zr = flate.NewReader(src)
	} else if err := zr.(flate.Resetter).Reset(src, nil); err != nil {
		return err
	}
	defer inflaters.Put(zr)
	if _, err := io.ReadFull(zr, out); err != nil {
		return fmt.Errorf("inflate cluster %d at %d: %w", c, cl.off, err)
	}
	copy(dst, out[in:])
	return nil
}

// byteReader is a bytes.Reader that flate accepts as a ByteReader without
// wrapping it in a bufio.Reader.
type byteReader struct {
	b []byte
	i int
}

func (r *byteReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

func (r *byteReader) ReadByte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	r.i++
	return r.b[r.i-1], nil
}
