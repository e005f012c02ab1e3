package ova

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/imagebot/imagebot/runner/qcow2"
)

// Disk is a virtual disk the VMDK writer reads. ReadAt must be safe for
// concurrent use: compression workers read their own grains.
type Disk interface {
	io.ReaderAt
	// Size is the virtual size in bytes.
	Size() int64
	// Allocated reports whether [off, off+n) may hold non-zero data. A false
	// answer lets the writer skip the range without reading it.
	Allocated(off, n int64) (bool, error)
	Close() error
}

// OpenDisk opens a qcow2 image (recognised by its magic) or a raw disk.
func OpenDisk(path string) (Disk, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var m [4]byte
	_, err = f.ReadAt(m[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if string(m[:]) == "QFI\xfb" {
		f.Close()
		return qcow2.Open(path)
	}
	if string(m[:]) == "KDMV" {
		f.Close()
		return nil, fmt.Errorf("%s is a VMDK: convert it to qcow2 or raw first", path)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &rawDisk{f: f, size: fi.Size()}, nil
}

// rawDisk is a raw image; holes found with SEEK_DATA are skipped unread.
type rawDisk struct {
	f    *os.File
	size int64
}

const seekData = 3 // SEEK_DATA (Linux)

func (d *rawDisk) Size() int64                             { return d.size }
func (d *rawDisk) Close() error                            { return d.f.Close() }
func (d *rawDisk) ReadAt(p []byte, off int64) (int, error) { return d.f.ReadAt(p, off) }

func (d *rawDisk) Allocated(off, n int64) (bool, error) {
	next, err := d.f.Seek(off, seekData)
	if errors.Is(err, syscall.ENXIO) {
		return false, nil // no data after off
	}
	if err != nil {
		return true, nil // no SEEK_DATA here: read and look
	}
	return next < off+n, nil
}
