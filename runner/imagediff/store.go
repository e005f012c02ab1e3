package imagediff

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/imagebot/imagebot/runner/inventory"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
)

// maxInventory bounds an inventory.json read from the store.
const maxInventory = 64 << 20

// Load reads one published build's side of a comparison from the store:
// artifact sizes from its manifest and its inventory file (listed in the
// manifest with format "inventory"). A build published before inventories
// existed has a nil Inventory.
func Load(ctx context.Context, st store.Store, ref store.Ref) (Side, error) {
	data, err := store.ReadManifest(ctx, st, ref)
	if err != nil {
		return Side{}, err
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return Side{}, fmt.Errorf("manifest of %s: %w", ref, err)
	}
	name := ref.Version
	if ref.Kind == store.KindMR {
		_, name, _ = strings.Cut(ref.String(), "@")
	}
	side := Side{Image: ref.Image, Version: name, Sizes: map[string]int64{}}
	for _, f := range m.Files {
		switch f.Format {
		case "qcow2", "ova":
			side.Sizes[f.Format] = f.Size
		case "inventory":
			if !store.ValidFileName(f.Name) {
				return Side{}, fmt.Errorf("manifest of %s: inventory file name %q", ref, f.Name)
			}
			if side.Inventory, err = readInventory(ctx, st, ref.Key(f.Name)); err != nil {
				return Side{}, fmt.Errorf("inventory of %s: %w", ref, err)
			}
		}
	}
	return side, nil
}

func readInventory(ctx context.Context, st store.Store, key string) (*inventory.Inventory, error) {
	rc, _, err := st.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxInventory+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInventory {
		return nil, fmt.Errorf("%s is larger than %d bytes", key, maxInventory)
	}
	return inventory.Unmarshal(data)
}
