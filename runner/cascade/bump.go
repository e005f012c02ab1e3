package cascade

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/imagediff"
	"github.com/imagebot/imagebot/runner/store"
)

// File is the whole new content of a repository file.
type File struct {
	Path    string // repository-relative
	Content string
}

// Change is a proposed merge request: the bot opens it with
// forge.Forge.OpenChange (same fields).
type Change struct {
	Branch  string
	Title   string
	Body    string // Markdown
	Message string // commit message
	Files   []File
	Bumps   []Bump
}

// Bump is one image's version bump.
type Bump struct {
	Image    string
	From, To string
	Path     string // its env.yaml, repository-relative
	Content  string // env.yaml with the new version, nothing else changed
}

// BumpImage bumps image's env.yaml version to the next patch (a
// pre-release 1.3.0-rc.1 becomes 1.3.0), editing only the version's value
// where the file has it, so comments, order and quoting stay as written.
func BumpImage(cat *catalog.Catalog, image string) (Bump, error) {
	img, ok := cat.Images[image]
	if !ok {
		return Bump{}, fmt.Errorf("bump %s: not in the catalog", image)
	}
	from, err := semver.StrictNewVersion(img.Env.Version)
	if err != nil {
		return Bump{}, fmt.Errorf("bump %s: version %q: %w", image, img.Env.Version, err)
	}
	to := from.IncPatch().String()
	rel := filepath.ToSlash(filepath.Join(img.Dir, "env.yaml"))
	src, err := os.ReadFile(filepath.Join(cat.Root, filepath.FromSlash(rel)))
	if err != nil {
		return Bump{}, fmt.Errorf("bump %s: %w", image, err)
	}
	pos, ok := img.EnvPos["version"]
	if !ok {
		return Bump{}, fmt.Errorf("bump %s: %s has no version position", image, rel)
	}
	out, err := replaceValue(src, pos.Line, pos.Column, img.Env.Version, to)
	if err != nil {
		return Bump{}, fmt.Errorf("bump %s: %s:%d: %w", image, rel, pos.Line, err)
	}
	return Bump{Image: image, From: img.Env.Version, To: to, Path: rel, Content: string(out)}, nil
}

// replaceValue replaces the scalar old written at line:col (1-based; plain,
// single- or double-quoted) with new.
func replaceValue(src []byte, line, col int, old, new string) ([]byte, error) {
	lines := bytes.SplitAfter(src, []byte("\n"))
	if line < 1 || line > len(lines) {
		return nil, fmt.Errorf("no line %d", line)
	}
	l := lines[line-1]
	start := col - 1
	if start < 0 || start >= len(l) {
		return nil, fmt.Errorf("no column %d", col)
	}
	if q := l[start]; q == '"' || q == '\'' {
		start++
	}
	if !bytes.HasPrefix(l[start:], []byte(old)) {
		return nil, fmt.Errorf("the version %q is not where the catalog read it", old)
	}
	edited := append(append(append([]byte{}, l[:start]...), new...), l[start+len(old):]...)
	lines[line-1] = edited
	return bytes.Join(lines, nil), nil
}

// Grouping says how a cascade is split into merge requests.
type Grouping string

const (
	// PerBase is one merge request per base release bumping every outdated
	// child (issue 15's "one merge request … that bumps their env.yaml
	// patch versions"); the default.
	PerBase Grouping = "base"
	// PerImage is one merge request per outdated child, each reviewed and
	// merged on its own.
	PerImage Grouping = "image"
)

// CheckGrouping reports a grouping that is neither base nor image ("" is base).
func CheckGrouping(g Grouping) error {
	switch g {
	case "", PerBase, PerImage:
		return nil
	}
	return fmt.Errorf("cascade.group %q: want base or image", g)
}

// ForBase is the cascade after base's latest release: one change bumping
// every outdated child of base that the catalog still derives from it, or
// nil when there is none. outdated comes from Check.
func ForBase(ctx context.Context, cat *catalog.Catalog, st store.Store, base string, outdated []Outdated) (*Change, error) {
	kids := derived(cat, base, outdated)
	if len(kids) == 0 {
		return nil, nil
	}
	return change(ctx, cat, st, base, kids, "imagebot/cascade/"+base+"-"+kids[0].BaseLatest)
}

// Changes is the cascade after base's latest release split by g: one
// change (PerBase) or one per outdated child (PerImage, branch
// imagebot/cascade/<child>-on-<base>-<version>).
func Changes(ctx context.Context, cat *catalog.Catalog, st store.Store, base string, outdated []Outdated, g Grouping) ([]*Change, error) {
	if err := CheckGrouping(g); err != nil {
		return nil, err
	}
	kids := derived(cat, base, outdated)
	if len(kids) == 0 {
		return nil, nil
	}
	if g != PerImage {
		c, err := change(ctx, cat, st, base, kids, "imagebot/cascade/"+base+"-"+kids[0].BaseLatest)
		return []*Change{c}, err
	}
	var out []*Change
	for _, k := range kids {
		c, err := change(ctx, cat, st, base, []Outdated{k}, "imagebot/cascade/"+k.Image+"-on-"+base+"-"+k.BaseLatest)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// derived keeps the outdated children of base the catalog still derives from it.
func derived(cat *catalog.Catalog, base string, outdated []Outdated) []Outdated {
	var kids []Outdated
	for _, o := range Children(outdated, base) {
		if img, ok := cat.Images[o.Image]; ok && img.Env.Base == base {
			kids = append(kids, o)
		}
	}
	return kids
}

func change(ctx context.Context, cat *catalog.Catalog, st store.Store, base string, kids []Outdated, branch string) (*Change, error) {
	latest := kids[0].BaseLatest
	c := &Change{Branch: branch}
	var names []string
	oldest := kids[0].BuiltOn
	for _, k := range kids {
		b, err := BumpImage(cat, k.Image)
		if err != nil {
			return nil, err
		}
		c.Bumps = append(c.Bumps, b)
		c.Files = append(c.Files, File{Path: b.Path, Content: b.Content})
		names = append(names, k.Image)
		if older(k.BuiltOn, oldest) {
			oldest = k.BuiltOn
		}
	}
	c.Title = fmt.Sprintf("Rebuild %s on %s %s", list(names), base, latest)
	c.Message = c.Title + "\n\nBump the patch version of every image whose latest release is built on an older " + base + "."
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` %s was released. These images' latest releases are built on an older `%s`; this bumps their versions so that merging releases them on %s.\n\n", base, latest, base, latest)
	b.WriteString("| image | latest release | built on | new version |\n|---|---|---|---|\n")
	for i, k := range kids {
		fmt.Fprintf(&b, "| `%s` | %s | %s %s | %s |\n", k.Image, k.Version, base, k.BuiltOn, c.Bumps[i].To)
	}
	baseChanges(ctx, st, &b, base, oldest, latest)
	b.WriteString("\nOpened by imagebot. The ordinary flow does the rest: `/build`, review, merge, release.\n")
	c.Body = b.String()
	return c, nil
}

// baseChanges writes the base's package diff between the two releases, or
// says why there is none.
func baseChanges(ctx context.Context, st store.Store, b *strings.Builder, base, from, to string) {
	fmt.Fprintf(b, "\n### Changes in `%s` from %s to %s\n\n", base, from, to)
	if from == "" {
		b.WriteString("The children's manifests do not say which release they were built on.\n")
		return
	}
	old, err := imagediff.Load(ctx, st, store.Release(base, from))
	var new imagediff.Side
	if err == nil {
		new, err = imagediff.Load(ctx, st, store.Release(base, to))
	}
	switch {
	case err != nil:
		fmt.Fprintf(b, "The package diff could not be read: %v\n", err)
	case old.Inventory == nil || new.Inventory == nil:
		b.WriteString("No package diff: one of the two releases has no inventory.\n")
	default:
		if err := imagediff.Markdown(b, imagediff.Compare(old, new)); err != nil {
			fmt.Fprintf(b, "The package diff could not be written: %v\n", err)
		}
	}
}

// ForRefresh is the scheduled refresh of image: the same bump, on a branch
// named for the tick that came due.
func ForRefresh(cat *catalog.Catalog, image, lastVersion string, lastRelease, tick time.Time) (*Change, error) {
	b, err := BumpImage(cat, image)
	if err != nil {
		return nil, err
	}
	spec := cat.Images[image].Env.Refresh
	c := &Change{
		Branch: "imagebot/refresh/" + image + "-" + tick.UTC().Format("20060102-1504"),
		Title:  fmt.Sprintf("Refresh %s: scheduled rebuild (%s)", image, spec),
		Files:  []File{{Path: b.Path, Content: b.Content}},
		Bumps:  []Bump{b},
	}
	c.Message = c.Title + "\n\nBump " + image + " from " + b.From + " to " + b.To + " so that security updates get built."
	c.Body = fmt.Sprintf("`%s` refreshes `%s` (UTC). It came due at %s and its last release, %s, was published at %s, before that.\n\n"+
		"This bumps its version from %s to %s so that merging builds and releases it with today's updates.\n\n"+
		"Opened by imagebot. The ordinary flow does the rest: `/build`, review, merge, release.\n",
		image, spec, tick.UTC().Format(time.RFC3339), lastVersion, lastRelease.UTC().Format(time.RFC3339), b.From, b.To)
	return c, nil
}

// list names images for a title: all of them up to three, else a count.
func list(names []string) string {
	sort.Strings(names)
	if len(names) > 3 {
		return fmt.Sprintf("%d images", len(names))
	}
	return strings.Join(names, ", ")
}
