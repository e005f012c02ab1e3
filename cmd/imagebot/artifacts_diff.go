package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/imagebot/imagebot/runner/imagediff"
	"github.com/imagebot/imagebot/runner/store"
)

// artifactsDiff prints what changed between two published builds:
// `imagebot artifacts diff rocky9@1.2.0 rocky9@1.3.0 [--json]`. The second
// may omit the image ("rocky9@1.2.0 1.3.0").
func artifactsDiff(ctx context.Context, st store.Store, stdout io.Writer, a, b string, asJSON bool) error {
	oldRef, err := diffRef(ctx, st, a, "")
	if err != nil {
		return err
	}
	newRef, err := diffRef(ctx, st, b, oldRef.Image)
	if err != nil {
		return err
	}
	oldSide, err := imagediff.Load(ctx, st, oldRef)
	if err != nil {
		return err
	}
	newSide, err := imagediff.Load(ctx, st, newRef)
	if err != nil {
		return err
	}
	for _, s := range []imagediff.Side{oldSide, newSide} {
		if s.Inventory == nil {
			fmt.Fprintf(stdout, "note: %s@%s has no inventory (published before inventories): sizes only\n", s.Image, s.Version)
		}
	}
	d := imagediff.Compare(oldSide, newSide)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	return imagediff.Text(stdout, d)
}

// diffRef resolves "image@version", or a bare version of defaultImage.
func diffRef(ctx context.Context, st store.Store, arg, defaultImage string) (store.Ref, error) {
	image, version, ok := strings.Cut(arg, "@")
	if !ok {
		if defaultImage == "" {
			return store.Ref{}, fmt.Errorf("%w: %q: want image@version", errUsage, arg)
		}
		image, version = defaultImage, arg
	}
	if image == "" || strings.ContainsAny(image, "/ ") {
		return store.Ref{}, fmt.Errorf("%w: %q: want image@version", errUsage, arg)
	}
	ref, err := store.Resolve(ctx, st, image, version)
	if err != nil {
		return store.Ref{}, err
	}
	return ref, nil
}
