package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// finish makes the finished artifacts in OutDir from the build's disk, one
// per env.yaml format. Until the artifacts packages (runner/qcow2, runner/ova,
// runner/manifest) are wired in, the qcow2 is Packer's own, hard-linked or copied.
func (b *run) finish(ctx context.Context, e *baseEntry) ([]File, error) {
	var files []File
	for _, format := range b.img.Env.Formats {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := fmt.Sprintf("%s-%s.%s", b.img.Name, b.req.Version, format)
		dst := filepath.Join(b.req.OutDir, name)
		switch format {
		case "qcow2":
			b.written = append(b.written, dst)
			os.Remove(dst)
			if err := os.Link(e.Disk, dst); err != nil {
				if err := copyFile(dst, e.Disk); err != nil {
					return nil, fmt.Errorf("qcow2 %s: %w", name, err)
				}
			}
			fi, err := os.Stat(dst)
			if err != nil {
				return nil, err
			}
			files = append(files, File{Name: name, Path: dst, Format: "qcow2", Size: fi.Size(), SHA256: e.SHA256})
		default:
			b.logf("format %s: not produced yet by this runner", format)
		}
	}
	return files, nil
}
