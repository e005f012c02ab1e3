package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/cmd/imagebot/internal/statebackup"
)

func init() {
	register(command{name: "state", summary: "back up or restore the bot's state database (SQLite or PostgreSQL)", run: runState})
}

const stateUsage = `usage:
  imagebot state backup  [--config FILE] OUT   consistent copy while imagebot runs (SQLite: VACUUM INTO; PostgreSQL: pg_dump -Fc)
  imagebot state restore [--config FILE] [--force] IN
                                               into the configured database; stop every imagebot using it first
                                               (--force replaces an existing database)`

// runState backs up or restores the database config's database section
// names (database.driver, database.path, IMAGEBOT_DATABASE_URL). See
// docs/deploy.md.
func runState(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "backup" && args[0] != "restore") {
		return fmt.Errorf("%w: want backup or restore\n%s", errUsage, stateUsage)
	}
	fs := flag.NewFlagSet("state "+args[0], flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file (default .imagebot/config.yaml when present)")
	force := fs.Bool("force", false, "restore: replace an existing database")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: want one file\n%s", errUsage, stateUsage)
	}
	if *cfgPath == "" {
		if _, err := os.Stat(".imagebot/config.yaml"); err == nil {
			*cfgPath = ".imagebot/config.yaml"
		}
	}
	cfg, err := config.Load(*cfgPath, os.Environ())
	if err != nil {
		return err
	}
	db := statebackup.Database{Driver: cfg.Database.Driver, Path: cfg.Database.Path, URL: cfg.Database.URL}
	file := fs.Arg(0)
	if args[0] == "backup" {
		if err := statebackup.Backup(ctx, db, file); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "imagebot state: %s database backed up to %s\n", db.Driver, file)
		return nil
	}
	if err := statebackup.Restore(ctx, db, file, *force); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "imagebot state: %s restored into the %s database\n", file, db.Driver)
	return nil
}
