package statebackup_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/queue/pgtest"
	"github.com/imagebot/imagebot/cmd/imagebot/internal/statebackup"
	"github.com/imagebot/imagebot/runner/catalog"
)

// openBot opens the bot's state in db (its schema made by the bot itself),
// not working any queue.
func openBot(t *testing.T, db statebackup.Database) *bot.Bot {
	t.Helper()
	cfg := config.Default()
	cfg.Database.Driver, cfg.Database.Path, cfg.Database.URL = db.Driver, db.Path, db.URL
	idle := false
	cfg.Queue.Work = &idle
	ctx := context.Background()
	b, err := bot.New(ctx, bot.Deps{Config: cfg, Log: zerolog.Nop(),
		Catalog: func(context.Context, string) (*catalog.Catalog, error) {
			return nil, fmt.Errorf("no catalog in this test")
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(ctx) })
	return b
}

// addBuild records a build row as the bot's build table holds it.
func addBuild(t *testing.T, b *bot.Bot, id, status string) {
	t.Helper()
	ctx := context.Background()
	err := b.Queue().InTx(ctx, func(tx queue.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO imagebot_build (id, forge, repo, repo_json, mr, sha, image, digest, status, created_ms)
			VALUES ($1, 'gitlab', 'infra/images', '{}', 7, 'abcdef12', 'rocky9', 'sha256:00', $2, $3)`, id, status, time.Now().UnixMilli())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func buildIDs(t *testing.T, b *bot.Bot) []string {
	t.Helper()
	builds, err := b.RecentBuilds(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range builds {
		ids = append(ids, x.ID+"="+x.Status)
	}
	slices.Sort(ids)
	return ids
}

// TestBackupWhileRunningAndRestoreIntoAFreshDatabase: a state with builds is
// backed up while the bot has it open (and writes after the backup do not
// leak into it), restored into a fresh database, and the bot reads the same
// builds back. Both drivers, with the real SQLite and PostgreSQL.
func TestBackupWhileRunningAndRestoreIntoAFreshDatabase(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			src := statebackup.Database{Driver: driver, Path: filepath.Join(dir, "imagebot.db")}
			dst := statebackup.Database{Driver: driver, Path: filepath.Join(dir, "restored", "imagebot.db")}
			if driver == "postgres" {
				src.URL, dst.URL = pgtest.Start(t), pgtest.Start(t)
			}
			live := openBot(t, src)
			addBuild(t, live, "b1", "succeeded")
			addBuild(t, live, "b2", "failed")
			addBuild(t, live, "b3", "running")
			want := buildIDs(t, live)

			backup := filepath.Join(dir, "state.backup")
			if err := statebackup.Backup(ctx, src, backup); err != nil {
				t.Fatal(err)
			}
			addBuild(t, live, "b4-after-backup", "queued")
			if err := statebackup.Backup(ctx, src, backup); err == nil || !strings.Contains(err.Error(), "exists") {
				t.Errorf("a second backup over the first: %v, want refused", err)
			}

			if err := statebackup.Restore(ctx, dst, backup, false); err != nil {
				t.Fatal(err)
			}
			restored := openBot(t, dst)
			if got := buildIDs(t, restored); !slices.Equal(got, want) {
				t.Errorf("restored builds %v, want %v", got, want)
			}
			// The restored state works: the bot writes to it.
			addBuild(t, restored, "b5", "queued")

			// An existing database is not replaced without --force.
			if err := statebackup.Restore(ctx, dst, backup, false); err == nil {
				t.Error("restored over a database with content without --force")
			}
			if got := buildIDs(t, restored); len(got) != len(want)+1 {
				t.Errorf("a refused restore changed the database: %v", got)
			}
		})
	}
}

func TestRestoreRefusesTheOtherFormatAndHidesThePassword(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lite := statebackup.Database{Driver: "sqlite", Path: filepath.Join(dir, "imagebot.db")}
	openBot(t, lite)
	backup := filepath.Join(dir, "sqlite.backup")
	if err := statebackup.Backup(ctx, lite, backup); err != nil {
		t.Fatal(err)
	}
	pg := statebackup.Database{Driver: "postgres", URL: "postgres://imagebot:hunter2-pw@127.0.0.1:1/imagebot?sslmode=disable"}
	err := statebackup.Restore(ctx, pg, backup, false)
	if err == nil || !strings.Contains(err.Error(), "not a pg_dump") {
		t.Errorf("SQLite backup into PostgreSQL: %v", err)
	}
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("not a database at all"), 0o644)
	if err := statebackup.Restore(ctx, lite, junk, true); err == nil || !strings.Contains(err.Error(), "not a SQLite backup") {
		t.Errorf("junk into SQLite: %v", err)
	}
	// pg_dump cannot connect: the error names the tool, never the password.
	err = statebackup.Backup(ctx, pg, filepath.Join(dir, "pg.backup"))
	if err == nil || strings.Contains(err.Error(), "hunter2-pw") {
		t.Errorf("backup of an unreachable server: %v (must fail without the password)", err)
	}
	if _, serr := os.Stat(filepath.Join(dir, "pg.backup")); serr == nil {
		t.Error("a failed backup left its file")
	}
}
