package catalog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// MaxFileSize is the largest env.yaml, template, variables file or
// provisioner the catalog reads: they are text written by hand.
const MaxFileSize = 1 << 20

// errLeaves says a path resolves outside the repository.
var errLeaves = errors.New("it leaves the repository through a symlink")

// resolveInRepo resolves every symlink of rel (repository-relative or an
// absolute path below root) and returns the real path, refusing one that
// ends outside the repository: an MR may hold resources/h -> / or
// env.yaml -> /etc/shadow, and the catalog must read nothing of the host.
func resolveInRepo(root, rel string) (string, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	abs := rel
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(root, filepath.FromSlash(rel))
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	if !under(real, realRoot) {
		return "", errLeaves
	}
	return real, nil
}

// readRepoFile reads a regular file of the repository, at most MaxFileSize
// bytes. It refuses a symlink leaving the repository and anything but a
// regular file (a device, FIFO or socket: env.yaml -> /dev/zero must be an
// error, not a hang or an unbounded read). Errors name the file.
func readRepoFile(root, rel string) ([]byte, error) {
	f, err := openRepoFile(root, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", display(root, rel), err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than the %d MiB limit for catalog files", display(root, rel), MaxFileSize>>20)
	}
	return data, nil
}

// openRepoFile opens a regular file of the repository for reading; see
// readRepoFile. The file is opened without blocking and checked on the
// open descriptor, so swapping it for a FIFO after a check changes nothing.
func openRepoFile(root, rel string) (*os.File, error) {
	name := display(root, rel)
	real, err := resolveInRepo(root, rel)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, unwrapPathError(err))
	}
	f, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, unwrapPathError(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file (%s): refused", name, kindOf(fi.Mode()))
	}
	return f, nil
}

// checkRepoFile checks what readRepoFile would, without reading: for a
// file another program reads (provisioner.sh, by bash -n and Packer).
func checkRepoFile(root, rel string) error {
	f, err := openRepoFile(root, rel)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > MaxFileSize {
		return fmt.Errorf("%s is larger than the %d MiB limit for catalog files", display(root, rel), MaxFileSize>>20)
	}
	return nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeDir != 0:
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}

// display is rel as the repository names it.
func display(root, rel string) string {
	if filepath.IsAbs(rel) {
		if r, err := filepath.Rel(root, rel); err == nil && !strings.HasPrefix(r, "..") {
			return filepath.ToSlash(r)
		}
	}
	return filepath.ToSlash(rel)
}
