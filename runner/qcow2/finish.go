package qcow2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/imagebot/imagebot/runner/ctxio"
)

// Options tune Finish.
type Options struct {
	// Compress writes deflate-compressed clusters (qemu-img convert -c):
	// smaller downloads, slower random reads until the guest rewrites them.
	Compress bool
	// QemuImg is the qemu-img binary; empty means "qemu-img" from PATH.
	QemuImg string
	// SourceFormat is the source's format, given to qemu-img as -f so it
	// never guesses from the content: qcow2 (the default) or raw.
	SourceFormat string
	// Nice, when above 0, lowers the conversion's CPU priority by that much
	// (as nice(1) does, up to 19): the runner compresses while the checks
	// boot the same disk, and the boot is the longer of the two.
	Nice int
}

// Result is a finished qcow2 file. The runner maps it to its runner.File.
type Result struct {
	Path        string // dst, absolute
	Size        int64  // bytes on disk
	SHA256      string // hex
	VirtualSize int64  // bytes the guest sees
}

// Finish writes src (qcow2, or raw when opts.SourceFormat says so) to dst as
// a compacted standalone qcow2: unallocated and zero clusters dropped, no
// backing file, compressed when opts.Compress is set. A source with a
// backing file or an external data file is refused: a build could point it
// at a host file, whose bytes would otherwise be published. dst appears only once complete
// (written beside it, then renamed); its sha256 is computed from the file.
// src and dst must differ.
func Finish(ctx context.Context, src, dst string, opts Options) (*Result, error) {
	qemuImg := opts.QemuImg
	if qemuImg == "" {
		qemuImg = "qemu-img"
	}
	absSrc, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	absDst, err := filepath.Abs(dst)
	if err != nil {
		return nil, err
	}
	if absSrc == absDst {
		return nil, fmt.Errorf("finish qcow2: source and destination are the same file %s", absSrc)
	}
	format := opts.SourceFormat
	if format == "" {
		format = "qcow2"
	}
	if format != "qcow2" && format != "raw" {
		return nil, fmt.Errorf("finish qcow2 %s: source format %q: want qcow2 or raw", src, format)
	}
	if err := standalone(ctx, qemuImg, format, absSrc); err != nil {
		return nil, fmt.Errorf("finish qcow2 %s: %w", src, err)
	}
	tmp := absDst + ".partial"
	defer os.Remove(tmp)
	// -m/-W: several coroutines and out-of-order writes, which lets qemu-img
	// compress clusters on several threads.
	args := []string{"convert", "-f", format, "-O", "qcow2", "-o", "compat=1.1", "-m", strconv.Itoa(min(8, 2*runtime.NumCPU())), "-W"}
	if opts.Compress {
		args = append(args, "-c")
	}
	args = append(args, absSrc, tmp)
	if err := runNice(ctx, opts.Nice, qemuImg, args...); err != nil {
		return nil, fmt.Errorf("finish qcow2 %s: %w", src, err)
	}
	img, err := Open(tmp)
	if err != nil {
		return nil, fmt.Errorf("finish qcow2 %s: qemu-img wrote an unreadable image: %w", src, err)
	}
	vsize := img.Size()
	img.Close()
	if err := os.Rename(tmp, absDst); err != nil {
		return nil, fmt.Errorf("finish qcow2: %w", err)
	}
	sum, size, err := HashFile(ctx, absDst)
	if err != nil {
		return nil, fmt.Errorf("finish qcow2: %w", err)
	}
	return &Result{Path: absDst, Size: size, SHA256: sum, VirtualSize: vsize}, nil
}

// standalone refuses an image whose content comes from other files: a
// backing file (a chain, listed whole by --backing-chain) or a qcow2
// external data file.
// Standalone refuses a disk with a backing file or an external data file,
// whose bytes would come from another file of the host. The runner calls it
// on Packer's disk before anything (the offline inspection's raw copy
// included) is made from it; Finish calls it on its own source.
func Standalone(ctx context.Context, qemuImg, format, path string) error {
	if qemuImg == "" {
		qemuImg = "qemu-img"
	}
	if err := standalone(ctx, qemuImg, format, path); err != nil {
		return fmt.Errorf("disk %s: %w", path, err)
	}
	return nil
}

func standalone(ctx context.Context, qemuImg, format, path string) error {
	cmd := exec.CommandContext(ctx, qemuImg, "info", "-f", format, "--output=json", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("qemu-img info: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var info struct {
		BackingFilename     string `json:"backing-filename"`
		FullBackingFilename string `json:"full-backing-filename"`
		FormatSpecific      struct {
			Data struct {
				DataFile string `json:"data-file"`
			} `json:"data"`
		} `json:"format-specific"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return fmt.Errorf("qemu-img info: %w", err)
	}
	if b := info.BackingFilename + info.FullBackingFilename; b != "" {
		return fmt.Errorf("image has a backing file (%s): refused, a finished image must stand alone and a build must not publish another file's bytes", info.BackingFilename)
	}
	if d := info.FormatSpecific.Data.DataFile; d != "" {
		return fmt.Errorf("image has an external data file (%s): refused, a finished image must stand alone", d)
	}
	return nil
}

func run(ctx context.Context, name string, args ...string) error {
	return runNice(ctx, 0, name, args...)
}

// runNice runs name with its nice value raised by nice (0: unchanged,
// at most 19) through nice(1), so the priority holds from the exec on,
// before qemu-img starts its compression threads, which inherit it.
func runNice(ctx context.Context, nice int, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if nice > 0 {
		cmd = exec.CommandContext(ctx, "nice", append([]string{"-n", strconv.Itoa(nice), name}, args...)...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(name), args[0], err, msg)
	}
	return nil
}

// HashFile returns the hex sha256 and size of a file, stopping early when
// ctx is cancelled.
func HashFile(ctx context.Context, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, ctxio.Reader(ctx, f), make([]byte, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
