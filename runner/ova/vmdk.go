package ova

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zlib"
)

// The streamOptimized layout follows VMware's "Virtual Disk Format 5.0":
// a sparse header whose grain directory offset says "at the end", the
// embedded descriptor, then compressed grains each behind a grain marker in
// increasing LBA order, a grain table after the grains it covers, then the
// grain directory, a footer (the header again, with the real directory
// offset) and an end-of-stream marker. It is what qemu-img writes for
// subformat=streamOptimized, and what ESXi imports.
const (
	sector        = 512
	grainSectors  = 128
	grainSize     = grainSectors * sector // 64 KiB
	gtEntries     = 512                   // grains per grain table
	gtSectors     = gtEntries * 4 / sector
	descOffset    = 1  // sectors
	descSectors   = 20 // room for the embedded descriptor
	overheadSecs  = 128
	gdAtEnd       = ^uint64(0)
	flagNLTest    = 1 << 0
	flagCompress  = 1 << 16
	flagMarkers   = 1 << 17
	markerEOS     = 0
	markerGT      = 1
	markerGD      = 2
	markerFooter  = 3
	compressDefl  = 1
	vmdkMagic     = 0x564d444b // "KDMV"
	vmdkVersion   = 3
	maxCapacitySz = 2 << 40 // 2 TiB: grain tables hold 32-bit sector numbers
)

// vmdkInfo is what writing a streamOptimized VMDK found out.
type vmdkInfo struct {
	Capacity  int64 // virtual size in bytes (rounded up to a sector)
	Populated int64 // bytes of non-zero grains
	Grains    int64 // grains written
}

// vmdkOptions tune the VMDK writer.
type vmdkOptions struct {
	Workers     int    // compression goroutines; 0 means GOMAXPROCS
	Level       int    // zlib level; 0 means DefaultLevel
	AdapterType string // ddb.adapterType: lsilogic, ide, ...
	FileName    string // name in the embedded descriptor's extent line
}

// DefaultLevel is the zlib level grains are compressed with unless told
// otherwise: level 1 is several times faster than qemu-img's default for a
// few percent more bytes.
const DefaultLevel = 1

type grainJob struct {
	seq   int64
	grain int64
}

type grainOut struct {
	seq   int64
	grain int64
	data  *bytes.Buffer // nil: all zeros, skipped
	err   error
}

// writeStreamVMDK writes d as a streamOptimized VMDK to w. Grains are read
// and compressed by opts.Workers goroutines and written in order; at most a
// few grains per worker are in flight, so memory stays flat for any disk size.
func writeStreamVMDK(ctx context.Context, w io.Writer, d Disk, opts vmdkOptions) (vmdkInfo, error) {
	capacity := (d.Size() + sector - 1) / sector * sector
	if capacity <= 0 {
		return vmdkInfo{}, errors.New("disk is empty")
	}
	if capacity > maxCapacitySz {
		return vmdkInfo{}, fmt.Errorf("disk of %d bytes is larger than the 2 TiB a sparse VMDK extent holds", capacity)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	level := opts.Level
	if level == 0 {
		level = DefaultLevel
	}
	sw := &sectorWriter{w: w}
	hdr := sparseHeader(capacity, gdAtEnd)
	desc := descriptor(capacity, opts)
	if len(desc) > descSectors*sector {
		return vmdkInfo{}, errors.New("vmdk descriptor too long")
	}
	sw.write(hdr)
	sw.write(desc)
	sw.padTo(overheadSecs * sector)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	grains := capacity / grainSize
	if capacity%grainSize != 0 {
		grains++
	}
	inflight := make(chan struct{}, 4*workers)
	jobs := make(chan grainJob)
	results := make(chan grainOut, 4*workers)
	var dispatchErr error
	go func() { // dispatcher: allocated grains in order
		defer close(jobs)
		var seq int64
		for g := int64(0); g < grains; g++ {
			ok, err := d.Allocated(g*grainSize, grainSize)
			if err != nil {
				dispatchErr = fmt.Errorf("grain %d: %w", g, err)
				cancel()
				return
			}
			if !ok {
				continue
			}
			select {
			case inflight <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- grainJob{seq: seq, grain: g}:
				seq++
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	bufs := sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, grainSize+grainSize/8)) }}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			compressGrains(ctx, d, capacity, level, jobs, results, &bufs)
		}()
	}
	go func() { wg.Wait(); close(results) }()

	t := newTables(grains)
	info := vmdkInfo{Capacity: capacity}
	pending := map[int64]grainOut{}
	var next int64
	var firstErr error
	for r := range results {
		if firstErr != nil {
			continue // drain so the workers can finish
		}
		if r.err != nil {
			firstErr = r.err
			cancel()
			continue
		}
		pending[r.seq] = r
		for {
			o, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if o.data != nil {
				t.flushBefore(sw, o.grain)
				t.set(o.grain, uint32(sw.off/sector))
				writeGrain(sw, o.grain, o.data.Bytes())
				info.Grains++
				info.Populated += min(grainSize, capacity-o.grain*grainSize)
				o.data.Reset()
				bufs.Put(o.data)
			}
			<-inflight
		}
		if sw.err != nil && firstErr == nil { // e.g. disk full: stop reading now
			firstErr = sw.err
			cancel()
		}
	}
	if firstErr != nil {
		return info, firstErr
	}
	if dispatchErr != nil {
		return info, dispatchErr
	}
	if err := ctx.Err(); err != nil {
		return info, err
	}
	t.flush(sw)
	if sw.off/sector > 1<<32-1-int64(len(t.gd)) {
		return info, errors.New("compressed disk too large for 32-bit grain table entries")
	}
	gdSector := t.writeDirectory(sw)
	sw.write(metaMarker(1, markerFooter))
	sw.write(sparseHeader(capacity, gdSector))
	sw.write(metaMarker(0, markerEOS))
	return info, sw.err
}

func compressGrains(ctx context.Context, d Disk, capacity int64, level int, jobs <-chan grainJob, out chan<- grainOut, bufs *sync.Pool) {
	raw := make([]byte, grainSize)
	zw, _ := zlib.NewWriterLevel(io.Discard, level)
	for j := range jobs {
		if ctx.Err() != nil {
			out <- grainOut{seq: j.seq, err: ctx.Err()}
			continue
		}
		off := j.grain * grainSize
		n := min(grainSize, capacity-off)
		got, err := d.ReadAt(raw[:n], off)
		if err != nil && !(errors.Is(err, io.EOF) && off+n >= d.Size()) {
			out <- grainOut{seq: j.seq, err: fmt.Errorf("read grain %d at %d: %w", j.grain, off, err)}
			continue
		}
		clear(raw[got:]) // past the end of the disk (a raw file of odd size) reads as zeros
		if isZero(raw) {
			out <- grainOut{seq: j.seq, grain: j.grain}
			continue
		}
		buf := bufs.Get().(*bytes.Buffer)
		zw.Reset(buf)
		_, err = zw.Write(raw)
		if err == nil {
			err = zw.Close()
		}
		if err != nil {
			out <- grainOut{seq: j.seq, err: fmt.Errorf("compress grain %d: %w", j.grain, err)}
			continue
		}
		out <- grainOut{seq: j.seq, grain: j.grain, data: buf}
	}
}

var zeroGrain = make([]byte, grainSize)

func isZero(b []byte) bool { return bytes.Equal(b, zeroGrain[:len(b)]) }

// tables keeps the grain table being filled and the grain directory; a
// grain table is written as soon as the grains it covers are all written.
type tables struct {
	gd     []uint32
	cur    int64 // index of the grain table being filled, -1 none
	gt     [gtEntries]uint32
	filled bool
}

func newTables(grains int64) *tables {
	return &tables{gd: make([]uint32, (grains+gtEntries-1)/gtEntries), cur: -1}
}

// flushBefore writes the current grain table if grain lies beyond it.
func (t *tables) flushBefore(sw *sectorWriter, grain int64) {
	if idx := grain / gtEntries; t.cur != idx {
		t.flush(sw)
		t.cur = idx
	}
}

// flush writes the current grain table when it maps any grain.
func (t *tables) flush(sw *sectorWriter) {
	if t.cur >= 0 && t.filled {
		sw.write(metaMarker(gtSectors, markerGT))
		t.gd[t.cur] = uint32(sw.off / sector)
		var b [gtEntries * 4]byte
		for i, e := range t.gt {
			binary.LittleEndian.PutUint32(b[i*4:], e)
		}
		sw.write(b[:])
	}
	t.filled, t.gt = false, [gtEntries]uint32{}
}

func (t *tables) set(grain int64, sec uint32) {
	t.gt[grain%gtEntries] = sec
	t.filled = true
}

// writeDirectory writes the grain directory and returns its sector.
func (t *tables) writeDirectory(sw *sectorWriter) uint64 {
	n := (int64(len(t.gd))*4 + sector - 1) / sector
	sw.write(metaMarker(uint64(n), markerGD))
	at := uint64(sw.off / sector)
	b := make([]byte, n*sector)
	for i, e := range t.gd {
		binary.LittleEndian.PutUint32(b[i*4:], e)
	}
	sw.write(b)
	return at
}

func writeGrain(sw *sectorWriter, grain int64, data []byte) {
	var m [12]byte
	binary.LittleEndian.PutUint64(m[0:], uint64(grain*grainSectors))
	binary.LittleEndian.PutUint32(m[8:], uint32(len(data)))
	sw.write(m[:])
	sw.write(data)
	sw.padTo((sw.off + sector - 1) / sector * sector)
}

func metaMarker(sectors uint64, typ uint32) []byte {
	b := make([]byte, sector)
	binary.LittleEndian.PutUint64(b[0:], sectors)
	binary.LittleEndian.PutUint32(b[12:], typ)
	return b
}

func sparseHeader(capacity int64, gdOffset uint64) []byte {
	b := make([]byte, sector)
	le := binary.LittleEndian
	le.PutUint32(b[0:], vmdkMagic)
	le.PutUint32(b[4:], vmdkVersion)
	le.PutUint32(b[8:], flagNLTest|flagCompress|flagMarkers)
	le.PutUint64(b[12:], uint64(capacity/sector))
	le.PutUint64(b[20:], grainSectors)
	le.PutUint64(b[28:], descOffset)
	le.PutUint64(b[36:], descSectors)
	le.PutUint32(b[44:], gtEntries)
	le.PutUint64(b[48:], 0) // no redundant grain directory
	le.PutUint64(b[56:], gdOffset)
	le.PutUint64(b[64:], overheadSecs)
	b[72] = 0 // clean shutdown
	b[73], b[74], b[75], b[76] = '\n', ' ', '\r', '\n'
	le.PutUint16(b[77:], compressDefl)
	return b
}

func descriptor(capacity int64, opts vmdkOptions) []byte {
	adapter := opts.AdapterType
	if adapter == "" {
		adapter = "lsilogic"
	}
	name := opts.FileName
	if name == "" {
		name = "disk.vmdk"
	}
	sectors := capacity / sector
	cyl := min(sectors/(255*63), 65535)
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", name, capacity)
	cid := h.Sum32()
	s := fmt.Sprintf(`# Disk DescriptorFile
version=1
CID=%08x
parentCID=ffffffff
createType="streamOptimized"

# Extent description
RW %d SPARSE "%s"

# The Disk Data Base
#DDB

ddb.adapterType = "%s"
ddb.geometry.cylinders = "%d"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.longContentID = "%08x%08x%08x%08x"
ddb.toolsInstallType = "4"
ddb.toolsVersion = "2147483647"
ddb.virtualHWVersion = "4"
`, cid, sectors, name, adapter, cyl, cid, cid^0x5a5a5a5a, cid^0xa5a5a5a5, cid^0xffffffff)
	return []byte(s)
}

// sectorWriter counts what it writes and keeps the first error.
type sectorWriter struct {
	w   io.Writer
	off int64
	err error
}

func (s *sectorWriter) write(b []byte) {
	if s.err != nil {
		return
	}
	n, err := s.w.Write(b)
	s.off += int64(n)
	s.err = err
}

var zeroSector [sector]byte

func (s *sectorWriter) padTo(off int64) {
	for s.off < off && s.err == nil {
		s.write(zeroSector[:min(int64(sector), off-s.off)])
	}
}
