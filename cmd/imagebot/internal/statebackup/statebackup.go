// Package statebackup owns backing up and restoring imagebot's state
// database as a whole: SQLite by an online VACUUM INTO (a consistent copy
// taken while imagebot runs), PostgreSQL by pg_dump and pg_restore in their
// custom format. It runs no queries on imagebot's tables: what is in the
// database is the bot state package's business; this copies all of it.
package statebackup

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Database says where the state is, as config's database section does.
type Database struct {
	Driver string // sqlite or postgres
	Path   string // sqlite file
	URL    string // postgres connection URL; a secret (never printed)
}

// Headers of the two backup formats, to refuse restoring one into the other.
var (
	sqliteHeader = []byte("SQLite format 3\x00")
	pgDumpHeader = []byte("PGDMP")
)

// Backup writes a consistent copy of db to out, which must not exist; it is
// created only when complete.
func Backup(ctx context.Context, db Database, out string) error {
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("backup to %s: the file exists; choose a new name", out)
	}
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial")
	os.Remove(tmp)
	defer os.Remove(tmp)
	var err error
	switch db.Driver {
	case "sqlite", "":
		err = backupSQLite(ctx, db.Path, tmp)
	case "postgres":
		err = backupPostgres(ctx, db.URL, tmp)
	default:
		err = fmt.Errorf("database driver %q: want sqlite or postgres", db.Driver)
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Restore replaces db's content with the backup in. Stop every imagebot
// using the database first. Without force it refuses a database that
// already has content (SQLite: the file exists; PostgreSQL: pg_restore
// meets existing tables and changes nothing).
func Restore(ctx context.Context, db Database, in string, force bool) error {
	head, err := header(in)
	if err != nil {
		return fmt.Errorf("restore %s: %w", in, err)
	}
	switch db.Driver {
	case "sqlite", "":
		if !bytes.HasPrefix(head, sqliteHeader) {
			return fmt.Errorf("restore %s: not a SQLite backup (a PostgreSQL dump restores only into PostgreSQL)", in)
		}
		err = restoreSQLite(ctx, db.Path, in, force)
	case "postgres":
		if !bytes.HasPrefix(head, pgDumpHeader) {
			return fmt.Errorf("restore %s: not a pg_dump custom-format backup (a SQLite backup restores only into SQLite)", in)
		}
		err = restorePostgres(ctx, db.URL, in, force)
	default:
		err = fmt.Errorf("database driver %q: want sqlite or postgres", db.Driver)
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", in, err)
	}
	return nil
}

func header(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 16)
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("read: %w", err)
	}
	return b[:n], nil
}

// backupSQLite copies the database with VACUUM INTO: one read transaction,
// so the copy is consistent while imagebot keeps writing (WAL), and
// compacted. The copy is checked before it is kept.
func backupSQLite(ctx context.Context, path, out string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("sqlite database: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		return fmt.Errorf("VACUUM INTO of %s: %w", path, err)
	}
	return checkSQLite(ctx, out)
}

// checkSQLite runs SQLite's integrity check on a file.
func checkSQLite(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check of %s: %s", path, res)
	}
	return nil
}

// restoreSQLite checks the backup, copies it beside the database and
// renames it into place, removing the old database's WAL files, which
// belong to the replaced file.
func restoreSQLite(ctx context.Context, path, in string, force bool) error {
	if _, err := os.Stat(path); err == nil && !force {
		return fmt.Errorf("%s exists: stop imagebot, then restore with --force to replace it", path)
	}
	if err := checkSQLite(ctx, in); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	tmp := path + ".restore"
	if err := copyFile(tmp, in); err != nil {
		os.Remove(tmp)
		return err
	}
	for _, side := range []string{path + "-wal", path + "-shm"} {
		if err := os.Remove(side); err != nil && !errors.Is(err, os.ErrNotExist) {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// backupPostgres runs pg_dump in its custom format (compressed, restorable
// table by table, consistent: one snapshot).
func backupPostgres(ctx context.Context, url, out string) error {
	return runPG(ctx, "pg_dump", url, "--format=custom", "--no-owner", "--no-privileges", "--file="+out)
}

// restorePostgres runs pg_restore in one transaction: all or nothing.
func restorePostgres(ctx context.Context, url, in string, force bool) error {
	args := []string{"--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges"}
	if force {
		args = append(args, "--clean", "--if-exists")
	}
	return runPG(ctx, "pg_restore", url, append(args, in)...)
}

// runPG runs a PostgreSQL client tool against url. The password goes in
// PGPASSWORD, not in the arguments anyone on the host can list; output and
// errors never name the URL.
func runPG(ctx context.Context, tool, url string, args ...string) error {
	bin, err := pgTool(tool)
	if err != nil {
		return err
	}
	conn, password, err := splitPassword(url)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"--dbname=" + conn}, args...)...)
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if password != "" {
			msg = strings.ReplaceAll(msg, password, "***")
		}
		return fmt.Errorf("%s: %w: %s", tool, err, msg)
	}
	return nil
}

// pgTool finds a PostgreSQL client on PATH, else the newest under Debian's
// /usr/lib/postgresql/<version>/bin (not on PATH).
func pgTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(m) == 0 {
		return "", fmt.Errorf("%s not found on PATH or in /usr/lib/postgresql/*/bin (install Debian's postgresql-client)", name)
	}
	sort.Slice(m, func(i, j int) bool { return pgVersion(m[i]) < pgVersion(m[j]) })
	return m[len(m)-1], nil
}

func pgVersion(path string) int {
	var v int
	fmt.Sscanf(filepath.Base(filepath.Dir(filepath.Dir(path))), "%d", &v)
	return v
}
