package vsphere

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"github.com/vmware/govmomi/vapi/library"
)

// WithdrawOVA takes a revoked release's item out of a content library: it
// deletes the item, or, when renameTo is set, renames it (e.g. to
// "rocky9-1.2.0-REVOKED") so that it stays for forensics but no longer
// matches the name deployments ask for. Withdrawing an item that is not
// there is not an error (the returned Location has no ItemID).
func WithdrawOVA(ctx context.Context, cfg Config, libraryName, itemName, renameTo string) (Location, error) {
	loc := Location{Server: cfg.Server(), Library: libraryName, Item: itemName}
	if libraryName == "" {
		libraryName = cfg.ContentLibrary
		loc.Library = libraryName
	}
	if libraryName == "" || itemName == "" {
		return loc, errors.New("withdraw ova: library and item name are required")
	}
	c, err := connect(ctx, cfg)
	if err != nil {
		return loc, fmt.Errorf("withdraw %s: %w", itemName, err)
	}
	defer c.close()
	rc, err := c.rest(ctx)
	if err != nil {
		return loc, fmt.Errorf("withdraw %s: %w", itemName, err)
	}
	defer func() { _ = rc.Logout(context.WithoutCancel(ctx)) }()
	m := library.NewManager(rc)
	lib, err := findLibrary(ctx, m, libraryName, cfg.Server())
	if err != nil {
		return loc, fmt.Errorf("withdraw %s: %w", itemName, err)
	}
	loc.LibraryID = lib.ID
	ids, err := m.FindLibraryItems(ctx, library.FindItem{LibraryID: lib.ID, Name: itemName})
	if err != nil {
		return loc, fmt.Errorf("withdraw %s: find library item: %w", itemName, err)
	}
	if len(ids) == 0 {
		return loc, nil
	}
	item := &library.Item{ID: ids[0], Name: renameTo}
	loc.ItemID = item.ID
	if renameTo == "" {
		err = m.DeleteLibraryItem(ctx, item)
	} else {
		item.Description = ptr("Revoked; withdrawn by imagebot")
		err = m.UpdateLibraryItem(ctx, item)
		loc.Item = renameTo
	}
	if err != nil {
		return loc, fmt.Errorf("withdraw %s from %s: %w", itemName, loc, err)
	}
	zerolog.Ctx(ctx).Info().Str("item", itemName).Str("renamed_to", renameTo).Stringer("location", loc).Msg("vsphere: withdrew revoked OVA from content library")
	return loc, nil
}
