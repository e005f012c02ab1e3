package catalog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"
)

// Affected returns the images whose inputs include one of the changed
// repository-relative paths, plus every image deriving from one of them,
// in build order (bases first). A path matches an image when it is one of
// its input files or lies under its directory, a declared input or a
// referenced directory, so added and deleted files count too.
func Affected(cat *Catalog, changedPaths []string) []string {
	order := cat.Order
	if len(order) != len(cat.Images) { // a catalog not made by Load
		order, _ = buildOrder(cat.Images)
	}
	hit := map[string]bool{}
	for _, name := range order {
		if img := cat.Images[name]; img != nil && touches(img, changedPaths) {
			hit[name] = true
		}
	}
	// order puts every base before its children, so one pass reaches grandchildren too.
	for _, name := range order {
		if img := cat.Images[name]; img != nil && img.Env.Base != "" && hit[img.Env.Base] {
			hit[name] = true
		}
	}
	var out []string
	for _, name := range order {
		if hit[name] {
			out = append(out, name)
		}
	}
	return out
}

func touches(img *Image, changed []string) bool {
	roots := inputRoots(img)
	for _, c := range changed {
		c = cleanRel(c)
		if c == "" {
			continue
		}
		for _, r := range roots {
			if under(c, r) {
				return true
			}
		}
		for _, in := range img.Inputs {
			if c == in {
				return true
			}
		}
	}
	return false
}

func cleanRel(p string) string {
	p = strings.TrimSpace(p)
	if p == "" {
		return ""
	}
	return strings.TrimPrefix(path.Clean(strings.TrimPrefix(p, "./")), "/")
}

// ChangedPaths lists the repository-relative paths that differ between two
// git revisions of the repository at root (renames count as a deletion and
// an addition, so both paths are listed). A `from` of all zeros, as forges
// send for a newly pushed branch, means no previous commit: every file of
// `to` counts as changed.
func ChangedPaths(ctx context.Context, root, from, to string) ([]string, error) {
	for _, rev := range []string{from, to} {
		if rev == "" || strings.HasPrefix(rev, "-") {
			return nil, fmt.Errorf("git diff: revision %q is not valid", rev)
		}
	}
	// --relative: paths relative to root even when root is below the git top level.
	args := []string{"-C", root, "diff", "--name-only", "--no-renames", "--relative", "-z", from, to, "--"}
	if strings.Trim(from, "0") == "" {
		args = []string{"-C", root, "ls-tree", "-r", "--name-only", "-z", to}
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("git %s in %s: %v: %s", strings.Join(args[2:], " "), root, err, strings.TrimSpace(stderr.String()))
	}
	var out []string
	for _, p := range strings.Split(stdout.String(), "\x00") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

// AffectedBetween is Affected over the paths that changed between two git
// revisions. cat should be loaded from a checkout of `to`.
func AffectedBetween(ctx context.Context, cat *Catalog, from, to string) ([]string, error) {
	changed, err := ChangedPaths(ctx, cat.Root, from, to)
	if err != nil {
		return nil, err
	}
	return Affected(cat, changed), nil
}

// AffectedRevisions answers which images changed between two git revisions
// of the repository at root, reading the catalog as of `to`: from the working
// tree when `to` is the checked-out HEAD, else from `git archive to` unpacked
// into a temporary directory that is removed before returning.
func AffectedRevisions(ctx context.Context, root, from, to string) ([]string, Diagnostics, error) {
	changed, err := ChangedPaths(ctx, root, from, to)
	if err != nil {
		return nil, nil, err
	}
	head, err := revParse(ctx, root, "HEAD")
	if err != nil {
		return nil, nil, err
	}
	target, err := revParse(ctx, root, to)
	if err != nil {
		return nil, nil, err
	}
	dir := root
	if head != target {
		tmp, err := os.MkdirTemp("", "imagebot-affected-")
		if err != nil {
			return nil, nil, fmt.Errorf("affected: %w", err)
		}
		defer os.RemoveAll(tmp)
		out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--show-toplevel", "--show-prefix").Output()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err != nil || len(lines) == 0 {
			return nil, nil, fmt.Errorf("git rev-parse --show-toplevel in %s: %v", root, err)
		}
		tree := target
		if len(lines) > 1 && strings.TrimSuffix(lines[1], "/") != "" {
			tree += ":" + strings.TrimSuffix(lines[1], "/") // root is a subdirectory of the git repository
		}
		if err := exportRevision(ctx, lines[0], tree, tmp); err != nil {
			return nil, nil, err
		}
		dir = tmp
	}
	cat, diags := LoadContext(ctx, dir)
	return Affected(cat, changed), diags, nil
}

func revParse(ctx context.Context, root, rev string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--verify", "--quiet", rev+"^{commit}").Output()
	if err != nil {
		return "", fmt.Errorf("git rev-parse %s in %s: not a commit", rev, root)
	}
	return strings.TrimSpace(string(out)), nil
}

// exportRevision writes the tree of rev into dir (git archive | tar -x).
func exportRevision(ctx context.Context, root, rev, dir string) error {
	archive := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", rev)
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	untar.Stdin = pipe
	var aerr, terr bytes.Buffer
	archive.Stderr, untar.Stderr = &aerr, &terr
	if err := untar.Start(); err != nil {
		return fmt.Errorf("tar -x: %w", err)
	}
	if err := archive.Run(); err != nil {
		untar.Wait()
		return fmt.Errorf("git archive %s: %v: %s", rev, err, strings.TrimSpace(aerr.String()))
	}
	if err := untar.Wait(); err != nil {
		return fmt.Errorf("unpack git archive %s: %v: %s", rev, err, strings.TrimSpace(terr.String()))
	}
	return nil
}
