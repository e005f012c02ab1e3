package inventory

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
)

// rpmSQLitePath is where rpm 4.16 and later (RHEL/Rocky/Alma 9, Fedora 33+)
// keep their database.
const rpmSQLitePath = "/var/lib/rpm/rpmdb.sqlite"

// ParseRPMSQLite lists the packages of an rpm SQLite database (the
// rpmdb.sqlite file and, when the image has one, its -wal file). Each row of
// its Packages table is one installed package's rpm header blob, parsed by
// parseRPMHeader. The database is the image's, never imagebot's own state:
// it is copied to a private temporary directory and read with one SELECT.
func ParseRPMSQLite(ctx context.Context, db, wal []byte) ([]Package, error) {
	dir, err := os.MkdirTemp("", "imagebot-rpmdb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rpmdb.sqlite")
	if err := os.WriteFile(path, db, 0o600); err != nil {
		return nil, err
	}
	if len(wal) > 0 {
		if err := os.WriteFile(path+"-wal", wal, 0o600); err != nil {
			return nil, err
		}
	}
	conn, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return nil, fmt.Errorf("open rpm database rpmdb.sqlite: %w", err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "SELECT hnum, blob FROM Packages ORDER BY hnum")
	if err != nil {
		return nil, fmt.Errorf("rpm database rpmdb.sqlite: %w", err)
	}
	defer rows.Close()
	var pkgs []Package
	for rows.Next() {
		var hnum int64
		var blob []byte
		if err := rows.Scan(&hnum, &blob); err != nil {
			return nil, fmt.Errorf("rpm database rpmdb.sqlite: %w", err)
		}
		p, err := parseRPMHeader(blob)
		if err != nil {
			return nil, fmt.Errorf("rpm database rpmdb.sqlite: package %d: %w", hnum, err)
		}
		if p.Name == "gpg-pubkey" {
			continue // imported signing keys, not software (rpm -qa lists them too; dnf does not)
		}
		pkgs = append(pkgs, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rpm database rpmdb.sqlite: %w", err)
	}
	return pkgs, nil
}

// rpm header tags and types (rpm's lib/rpmtag.h).
const (
	tagName      = 1000
	tagVersion   = 1001
	tagRelease   = 1002
	tagEpoch     = 1003
	tagArch      = 1022
	tagSourceRPM = 1044

	typeInt32  = 4
	typeString = 6

	maxHeaderEntries = 1 << 16 // rpm's own limit is 0xffff
	maxHeaderData    = 256 << 20
)

// parseRPMHeader reads the tags imagebot needs from an rpm header blob as
// rpm stores it in its database: big-endian entry count and data length,
// the index entries (tag, type, offset, count; 16 bytes each), then the
// data. Every offset is checked against the blob: it comes from the image.
func parseRPMHeader(b []byte) (Package, error) {
	if len(b) < 8 {
		return Package{}, errors.New("rpm header: shorter than its 8-byte preamble")
	}
	il, dl := binary.BigEndian.Uint32(b[0:4]), binary.BigEndian.Uint32(b[4:8])
	if il == 0 || il > maxHeaderEntries || dl > maxHeaderData {
		return Package{}, fmt.Errorf("rpm header: %d entries, %d data bytes: out of range", il, dl)
	}
	dataStart := 8 + 16*int64(il)
	if int64(len(b)) < dataStart+int64(dl) {
		return Package{}, fmt.Errorf("rpm header: %d bytes, its index says %d", len(b), dataStart+int64(dl))
	}
	data := b[dataStart : dataStart+int64(dl)]
	var p Package
	var epoch int64 = -1
	var version, release string
	for i := int64(0); i < int64(il); i++ {
		e := b[8+16*i : 8+16*i+16]
		tag, typ := binary.BigEndian.Uint32(e[0:4]), binary.BigEndian.Uint32(e[4:8])
		off, count := binary.BigEndian.Uint32(e[8:12]), binary.BigEndian.Uint32(e[12:16])
		switch tag {
		case tagName, tagVersion, tagRelease, tagArch, tagSourceRPM:
			if typ != typeString {
				return Package{}, fmt.Errorf("rpm header: tag %d has type %d, want a string", tag, typ)
			}
			s, err := cString(data, off)
			if err != nil {
				return Package{}, fmt.Errorf("rpm header: tag %d: %w", tag, err)
			}
			switch tag {
			case tagName:
				p.Name = s
			case tagVersion:
				version = s
			case tagRelease:
				release = s
			case tagArch:
				p.Arch = s
			case tagSourceRPM:
				p.Source = s
			}
		case tagEpoch:
			if typ != typeInt32 || count < 1 || uint64(off)+4 > uint64(len(data)) {
				return Package{}, fmt.Errorf("rpm header: epoch tag (type %d, offset %d) out of range", typ, off)
			}
			epoch = int64(binary.BigEndian.Uint32(data[off : off+4]))
		}
	}
	if p.Name == "" || version == "" {
		return Package{}, errors.New("rpm header: no name or version tag")
	}
	p.Version = version
	if release != "" {
		p.Version += "-" + release
	}
	if epoch > 0 { // epoch 0 and no epoch compare equal; both are omitted, as go-rpmdb's reader does
		p.Version = fmt.Sprintf("%d:%s", epoch, p.Version)
	}
	return p, nil
}

// cString returns the NUL-terminated string at off in data.
func cString(data []byte, off uint32) (string, error) {
	if uint64(off) >= uint64(len(data)) {
		return "", fmt.Errorf("string offset %d beyond the %d data bytes", off, len(data))
	}
	for i := int(off); i < len(data); i++ {
		if data[i] == 0 {
			return string(data[off:i]), nil
		}
	}
	return "", fmt.Errorf("string at offset %d is not terminated", off)
}
