package main

import (
	"context"
	"fmt"
	"io"

	"github.com/imagebot/imagebot/runner/cascade"
	"github.com/imagebot/imagebot/runner/store"
)

// printOutdated lists the images whose latest release is built on an older
// release of their base than the base's latest (docs/cascades.md).
func printOutdated(ctx context.Context, st store.Store, stdout io.Writer) error {
	out, err := cascade.Check(ctx, st)
	if err != nil {
		return err
	}
	if len(out) == 0 {
		fmt.Fprintln(stdout, "no image is outdated")
		return nil
	}
	for _, o := range out {
		fmt.Fprintf(stdout, "OUTDATED %s\n", o)
	}
	return nil
}
