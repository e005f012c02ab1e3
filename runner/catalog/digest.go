package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Directories never part of an image's inputs: Packer's download cache and
// version-control metadata are not in any checkout's committed tree.
var skipDirs = map[string]bool{"packer_cache": true, ".git": true}

// fileSum is what the digest records for one file: its normalised mode and
// the sha256 of its content (a symlink's content is its target).
type fileSum struct {
	mode string
	sum  string
}

// hasher hashes files once per Load, whichever images share them.
type hasher struct {
	root string
	sums map[string]fileSum
}

// computeDigests fills Inputs and Digest of every image, bases first. An
// image with errors, or whose base has no digest, gets no digest.
func computeDigests(cat *Catalog, byName map[string]*loadedImage, diags Diagnostics) Diagnostics {
	h := &hasher{root: cat.Root, sums: map[string]fileSum{}}
	broken := map[string]bool{}
	for _, d := range diags {
		if d.Severity == SeverityError && d.Image != "" {
			broken[d.Image] = true
		}
	}
	var out Diagnostics
	for _, n := range cat.Order {
		img := cat.Images[n]
		inputs, err := h.inputs(img)
		img.Inputs = inputs
		if err != nil {
			out = append(out, errorAt(n, Pos{File: img.Dir}, "cannot read the image's inputs: %v", err))
			continue
		}
		baseDigest := ""
		if img.Env.Base != "" {
			base, ok := cat.Images[img.Env.Base]
			if !ok || base.Digest == "" {
				continue
			}
			baseDigest = base.Digest
		}
		if broken[n] {
			continue
		}
		d, err := h.digest(inputs, baseDigest)
		if err != nil {
			out = append(out, errorAt(n, Pos{File: img.Dir}, "cannot hash the image's inputs: %v", err))
			continue
		}
		img.Digest = d
	}
	return out
}

// inputRoots are the paths an image depends on as written: its directory,
// its declared inputs and the files and directories its template references.
func inputRoots(img *Image) []string {
	roots := []string{img.Dir}
	roots = append(roots, img.Env.Inputs...)
	for _, f := range img.Template.Files {
		roots = append(roots, f.Path)
	}
	return roots
}

// inputs expands the input roots into a sorted list of files.
func (h *hasher) inputs(img *Image) ([]string, error) {
	set := map[string]bool{}
	for _, r := range inputRoots(img) {
		if err := h.expand(r, set); err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

func (h *hasher) expand(rel string, set map[string]bool) error {
	abs := filepath.Join(h.root, filepath.FromSlash(rel))
	fi, err := os.Lstat(abs)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // reported where it was declared or referenced
		}
		return err
	}
	// An input under a symlinked directory (resources/h -> /) resolves
	// elsewhere: the walk must not hash the host's directories.
	// A symlink itself is hashed as its target text, never followed: only
	// the directory holding it must resolve inside the repository.
	check := rel
	if fi.Mode()&fs.ModeSymlink != 0 {
		check = filepath.Dir(filepath.FromSlash(rel))
	}
	if _, err := resolveInRepo(h.root, check); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	if !fi.IsDir() {
		set[filepath.ToSlash(filepath.Clean(rel))] = true
		return nil
	}
	return filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != abs && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		r, err := filepath.Rel(h.root, p)
		if err != nil {
			return err
		}
		set[filepath.ToSlash(r)] = true
		return nil
	})
}

// digest is sha256 over every input's path, mode and content hash, then the
// base image's digest. mtimes, owners and the checkout's location never enter it.
func (h *hasher) digest(inputs []string, baseDigest string) (string, error) {
	d := sha256.New()
	for _, p := range inputs {
		s, err := h.sum(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(d, "%s %s %s\x00", s.mode, s.sum, p)
	}
	if baseDigest != "" {
		fmt.Fprintf(d, "base %s\x00", baseDigest)
	}
	return "sha256:" + hex.EncodeToString(d.Sum(nil)), nil
}

// sum hashes one file. Modes are normalised the way git records them
// (100644, 100755, 120000), so a different umask gives the same digest.
func (h *hasher) sum(rel string) (fileSum, error) {
	if s, ok := h.sums[rel]; ok {
		return s, nil
	}
	abs := filepath.Join(h.root, filepath.FromSlash(rel))
	fi, err := os.Lstat(abs)
	if err != nil {
		return fileSum{}, err
	}
	d := sha256.New()
	var s fileSum
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(abs)
		if err != nil {
			return fileSum{}, err
		}
		s.mode = "120000"
		io.WriteString(d, filepath.ToSlash(target))
	case fi.Mode().IsRegular():
		s.mode = "100644"
		if fi.Mode()&0o111 != 0 {
			s.mode = "100755"
		}
		f, err := os.Open(abs)
		if err != nil {
			return fileSum{}, err
		}
		_, err = io.Copy(d, f)
		f.Close()
		if err != nil {
			return fileSum{}, fmt.Errorf("read %s: %w", rel, err)
		}
	default:
		return fileSum{}, fmt.Errorf("%s is neither a file nor a symlink", rel)
	}
	s.sum = hex.EncodeToString(d.Sum(nil))
	h.sums[rel] = s
	return s, nil
}

// under reports whether path p is root itself or lies below it.
func under(p, root string) bool {
	return p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}
