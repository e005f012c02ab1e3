package bot

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/queue/pgtest"
	"github.com/imagebot/imagebot/bot/release"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner/catalog"
)

// openTestBot is the bot on an SQLite database in dir, not working jobs.
// env adds to the environment (the database driver and URL).
func openTestBot(t *testing.T, dir string, env ...string) *Bot {
	t.Helper()
	env = append(append(os.Environ(), "IMAGEBOT_DATA_DIR="+dir, "IMAGEBOT_QUEUE_WORK=false"), env...)
	cfg, err := config.Load("", env)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(context.Background(), Deps{Config: cfg, Log: zerolog.New(zerolog.NewTestWriter(t)),
		Catalog: func(context.Context, string) (*catalog.Catalog, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	return b
}

func TestReleaseBuildStaysAReleaseAfterARestartRewritesItsNote(t *testing.T) {
	ctx := context.Background()
	b := openTestBot(t, t.TempDir())
	req := release.BuildRequest{Repo: forge.Repo{FullName: "infra/images"}, MR: 7, MergeCommit: "c0ffee1234567890",
		Image: "tiny", Version: "0.1.0", Digest: "sha256:0123"}
	if err := (releaseQueue{b, "gitlab"}).QueueRelease(ctx, req); err != nil {
		t.Fatal(err)
	}
	bs, err := b.RecentBuilds(ctx, 5)
	if err != nil || len(bs) != 1 {
		t.Fatalf("builds %+v, %v; want the one release build", bs, err)
	}
	id := bs[0].ID
	// The worker ran it, then the process died: the next start re-queues it
	// and rewrites its note.
	if err := b.q.InTx(ctx, func(tx queue.Tx) error { return state.UpdateBuild(ctx, tx, id, state.Status(statusRunning)) }); err != nil {
		t.Fatal(err)
	}
	if err := b.markAbandoned(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := b.GetBuild(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Note != "interrupted by a restart, re-running" || got.Status != statusQueued {
		t.Fatalf("after the restart: status %q note %q, want queued, interrupted by a restart, re-running", got.Status, got.Note)
	}
	if got.Kind != kindRelease || got.Version != "0.1.0" {
		t.Errorf("after the restart: kind %q version %q, want release 0.1.0", got.Kind, got.Version)
	}
	wb, err := b.WebBuilds().Build(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if wb.Kind != "release" || wb.Version != "0.1.0" {
		t.Errorf("the page shows kind %q version %q, want release 0.1.0", wb.Kind, wb.Version)
	}
}

// oldBuildTable is imagebot_build as databases made before kind and
// version hold it.
const oldBuildTable = `CREATE TABLE imagebot_build (
	id TEXT PRIMARY KEY, job_id BIGINT NOT NULL DEFAULT 0, forge TEXT NOT NULL, repo TEXT NOT NULL,
	repo_json TEXT NOT NULL, mr BIGINT NOT NULL, sha TEXT NOT NULL, image TEXT NOT NULL, digest TEXT NOT NULL,
	gen BIGINT NOT NULL DEFAULT 0, status TEXT NOT NULL, step TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
	error TEXT NOT NULL DEFAULT '', triggered_by TEXT NOT NULL DEFAULT '', created_ms BIGINT NOT NULL,
	started_ms BIGINT NOT NULL DEFAULT 0, finished_ms BIGINT NOT NULL DEFAULT 0, files TEXT NOT NULL DEFAULT '[]',
	log_url TEXT NOT NULL DEFAULT '', log_path TEXT NOT NULL DEFAULT '', log_tail TEXT NOT NULL DEFAULT '',
	status_sent TEXT NOT NULL DEFAULT '')`

func TestOldDatabaseGetsBuildKindsFromReleaseNotes(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			opts := queue.Options{Driver: driver, Path: filepath.Join(dir, "imagebot.db"), Log: zerolog.Nop()}
			var env []string
			if driver == "postgres" {
				opts.URL = pgtest.Start(t)
				env = []string{"IMAGEBOT_DATABASE_DRIVER=postgres", "IMAGEBOT_DATABASE_URL=" + opts.URL}
			}
			q, err := queue.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			err = q.Migrate(ctx, []string{oldBuildTable,
				`INSERT INTO imagebot_build (id, forge, repo, repo_json, mr, sha, image, digest, status, note, created_ms)
				VALUES ('r1', 'gitlab', 'infra/images', '{}', 7, 'c0ffee', 'tiny', 'd', 'succeeded', 'release 1.2.0', 1)`,
				`INSERT INTO imagebot_build (id, forge, repo, repo_json, mr, sha, image, digest, status, note, created_ms)
				VALUES ('m1', 'gitlab', 'infra/images', '{}', 7, 'c0ffee', 'tiny', 'd', 'succeeded', 'interrupted, re-ran', 2)`})
			q.Close(ctx)
			if err != nil {
				t.Fatal(err)
			}
			b := openTestBot(t, dir, env...)
			for id, want := range map[string][2]string{"r1": {"release", "1.2.0"}, "m1": {"mr", ""}} {
				got, err := b.GetBuild(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if got.Kind != want[0] || got.Version != want[1] {
					t.Errorf("build %s: kind %q version %q, want %q %q", id, got.Kind, got.Version, want[0], want[1])
				}
			}
		})
	}
}
