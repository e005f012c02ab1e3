package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	rpmdb "github.com/knqyf263/go-rpmdb/pkg"

	"github.com/imagebot/imagebot/runner/diskfs"
)

// readRPM reads the rpm database: SQLite (/var/lib/rpm/rpmdb.sqlite, RHEL 9
// family; see rpmsqlite.go) when the image has one, else Berkeley DB
// (/var/lib/rpm/Packages, as on CentOS 7) with go-rpmdb.
func readRPM(ctx context.Context, fs Reader) ([]Package, error) {
	if db, err := fs.ReadFile(ctx, rpmSQLitePath); err == nil {
		// A WAL left by an unclean shutdown holds the newest transactions.
		wal, werr := fs.ReadFile(ctx, rpmSQLitePath+"-wal")
		if werr != nil && !errors.Is(werr, diskfs.ErrNotExist) {
			return nil, fmt.Errorf("read %s-wal: %w", rpmSQLitePath, werr)
		}
		return ParseRPMSQLite(ctx, db, wal)
	} else if !errors.Is(err, diskfs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", rpmSQLitePath, err)
	}
	data, err := fs.ReadFile(ctx, "/var/lib/rpm/Packages")
	if errors.Is(err, diskfs.ErrNotExist) {
		return nil, errors.New("no package database: none of /var/lib/dpkg/status, /var/lib/rpm/rpmdb.sqlite, /var/lib/rpm/Packages in the image")
	}
	if err != nil {
		return nil, fmt.Errorf("read /var/lib/rpm/Packages: %w", err)
	}
	return ParseRPMDB(data)
}

// ParseRPMDB parses a Berkeley DB rpm Packages database.
func ParseRPMDB(data []byte) ([]Package, error) {
	dir, err := os.MkdirTemp("", "imagebot-rpmdb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "Packages")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, err
	}
	db, err := rpmdb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open rpm database: %w", err)
	}
	list, err := db.ListPackages()
	if err != nil {
		return nil, fmt.Errorf("list rpm packages: %w", err)
	}
	var pkgs []Package
	for _, p := range list {
		v := p.Version + "-" + p.Release
		if p.Epoch != 0 {
			v = fmt.Sprintf("%d:%s", p.Epoch, v)
		}
		src := p.SourceRpm
		pkgs = append(pkgs, Package{Name: p.Name, Version: v, Arch: p.Arch, Source: src})
	}
	return pkgs, nil
}

func rpmArch(pkgs []Package) string {
	for _, p := range pkgs {
		if p.Name == "rpm" || p.Name == "kernel" {
			return p.Arch
		}
	}
	return ""
}
