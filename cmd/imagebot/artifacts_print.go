package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imagebot/imagebot/runner/store"
)

// printImages writes one line per image: its newest release and how many
// releases and MR builds it has.
func printImages(ctx context.Context, st store.Store, w io.Writer) error {
	names, err := store.Images(ctx, st)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tLATEST\tRELEASES\tMR BUILDS\tPUBLISHED")
	for _, n := range names {
		vs, err := store.Versions(ctx, st, n)
		if err != nil {
			return err
		}
		latest, published, rel := "-", "-", 0
		for _, v := range vs {
			if v.Kind != store.KindRelease {
				continue
			}
			rel++
		}
		if l, err := store.ResolveVersion(ctx, st, n, store.LatestName); err == nil {
			latest, published = l.Name(), stamp(l.Published)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", n, latest, rel, len(vs)-rel, published)
	}
	return tw.Flush()
}

// printVersions writes an image's versions, releases first.
func printVersions(ctx context.Context, st store.Store, w io.Writer, image string) error {
	vs, err := store.Versions(ctx, st, image)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return fmt.Errorf("nothing is published for %s: %w", image, store.ErrNoVersion)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tKIND\tIMAGE VERSION\tCOMMIT\tINPUTS\tFORMATS\tPUBLISHED")
	for _, v := range vs {
		m := v.Manifest
		var formats []string
		for _, f := range m.Files {
			formats = append(formats, f.Format)
		}
		kind := string(v.Kind)
		if m.SourceBuild != nil {
			kind += " (promoted)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Name(), kind, v.ImageVersion(), short(m.GitSHA, 12),
			short(strings.TrimPrefix(m.InputsDigest, "sha256:"), 12), strings.Join(formats, ","), stamp(v.Published))
	}
	return tw.Flush()
}

// printVersion writes what a version is and its files with size and sha256.
func printVersion(ctx context.Context, st store.Store, w io.Writer, v store.Version) error {
	m := v.Manifest
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, val string) {
		if val != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, val)
		}
	}
	row("image", v.Image)
	row("version", v.Name())
	if v.Kind == store.KindMR {
		row("image version", m.Version)
		row("merge request", fmt.Sprintf("!%d", v.MR))
	}
	row("kind", string(v.Kind))
	row("commit", m.GitSHA)
	row("merge commit", m.MergeCommit)
	row("inputs digest", m.InputsDigest)
	row("build id", m.BuildID)
	if m.Builder != "" {
		row("built with", strings.TrimSpace(m.Builder+" · Packer "+m.PackerVersion))
	}
	if !m.Finished.IsZero() {
		row("built", fmt.Sprintf("%s (%s)", stamp(m.Finished), m.Finished.Sub(m.Started).Round(time.Second)))
	}
	row("triggered by", m.TriggeredBy)
	if b := m.BaseImage; b != nil {
		row("base image", b.Image+"@"+b.Version)
	}
	if s := m.SourceBuild; s != nil {
		row("promoted from", s.Path)
	}
	row("location", v.Prefix)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tFORMAT\tSIZE\tSHA256")
	for _, f := range m.Files {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", f.Name, f.Format, f.Size, f.SHA256)
	}
	for _, name := range []string{store.LogName, store.ManifestName} {
		if o, ok := v.File(name); ok {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", name, strings.TrimSuffix(strings.TrimPrefix(name, "build."), ".json"), o.Size, "-")
		}
	}
	return tw.Flush()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	if s == "" {
		return "-"
	}
	return s
}
