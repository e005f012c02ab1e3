package diskfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// ErrDiscardUnsupported is Discard's answer for an XFS root filesystem:
// there is no offline XFS discard tool (fstrim needs a mount).
var ErrDiscardUnsupported = errors.New("discarding free space is supported on ext2/3/4 only")

// Raw returns the path of the sparse raw copy the FS reads. It stays valid
// until Close; the runner makes the finished artifacts from it after Discard.
func (f *FS) Raw() string { return f.raw }

// Allocated returns the bytes the raw copy occupies on the host's disk (its
// allocated blocks, not its virtual size): what a compacting writer such as
// qemu-img convert or the OVA's VMDK writer still has to copy.
func (f *FS) Allocated() (int64, error) {
	fi, err := os.Stat(f.raw)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("allocated size of %s: no stat blocks on this system", f.raw)
	}
	return st.Blocks * 512, nil
}

// Discard frees the root filesystem's unused blocks in the raw copy, the
// offline equivalent of virt-sparsify --in-place: e2fsck -E discard punches a
// hole (fallocate PUNCH_HOLE) in the file for every free block, so data a
// provisioner deleted (package caches, downloads) is no longer copied into
// the artifacts. e2fsck runs in preen mode (-p): a filesystem needing more
// than safe automatic repairs fails the step instead of being changed.
// It returns the raw copy's allocated bytes before and after.
func (f *FS) Discard(ctx context.Context) (before, after int64, err error) {
	if f.xfs != "" {
		return 0, 0, ErrDiscardUnsupported
	}
	if before, err = f.Allocated(); err != nil {
		return 0, 0, err
	}
	spec := f.raw
	if f.offset > 0 {
		spec += "?offset=" + strconv.FormatInt(f.offset, 10)
	}
	out, err := exec.CommandContext(ctx, f.tools.E2fsck, "-f", "-p", "-E", "discard", spec).CombinedOutput()
	// e2fsck exit status 1 means "errors corrected" (e.g. free counts
	// updated), which preen mode does only when it is safe.
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			return 0, 0, fmt.Errorf("discard free space: e2fsck -f -p -E discard: %v: %s", err, bytes.TrimSpace(out))
		}
	}
	if after, err = f.Allocated(); err != nil {
		return 0, 0, err
	}
	return before, after, nil
}
