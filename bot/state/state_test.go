package state

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/queue/pgtest"
)

// TestQueriesOnBothDrivers runs the typed queries on SQLite and
// PostgreSQL: the same statements must mean the same on both.
func TestQueriesOnBothDrivers(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			opts := queue.Options{Driver: driver, Path: filepath.Join(t.TempDir(), "imagebot.db"), Log: zerolog.Nop()}
			if driver == "postgres" {
				opts.URL = pgtest.Start(t)
			}
			q, err := queue.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close(ctx)
			if err := Migrate(ctx, q); err != nil {
				t.Fatal(err)
			}
			if err := Migrate(ctx, q); err != nil { // a second start
				t.Fatalf("migrate again: %v", err)
			}
			inTx := func(fn func(queue.Tx) error) {
				t.Helper()
				if err := q.InTx(ctx, fn); err != nil {
					t.Fatal(err)
				}
			}
			repo := forge.Repo{FullName: "infra/images"}
			k := MRKey{Forge: "gitlab", Repo: repo.FullName, MR: 7}
			inTx(func(tx queue.Tx) error {
				for i, n := range []NewBuild{
					{ID: "a", Image: "rocky9", Gen: 0},
					{ID: "b", Image: "rocky9", Gen: 1},
					{ID: "c", Image: "debian12", Kind: KindRelease, Version: "1.0.0"},
				} {
					n.Forge, n.Repo, n.MR, n.SHA, n.JobID = "gitlab", repo, 7, "c0ffee", int64(i+1)
					if err := InsertBuild(ctx, tx, n); err != nil {
						return err
					}
					time.Sleep(2 * time.Millisecond) // created_ms orders them
				}
				return UpdateBuild(ctx, tx, "a", Status("failed"), Note("n"), Finished(time.Now()),
					Files([]PublishedFile{{Name: "x.ova"}}), StatusSent("failure:c0ffee"))
			})
			inTx(func(tx queue.Tx) error {
				bs, err := MRBuilds(ctx, tx, "gitlab", repo.FullName, 7)
				if err != nil {
					return err
				}
				if len(bs) != 2 || bs[0].ID != "b" || bs[1].ID != "c" || bs[1].Kind != KindRelease || bs[0].Kind != KindMR {
					t.Errorf("latest build per image: %+v", bs)
				}
				a, err := GetBuild(ctx, tx, "a")
				if err != nil {
					return err
				}
				if a.Status != "failed" || !a.Done() || a.Files[0].Name != "x.ova" || a.StatusSent != "failure:c0ffee" ||
					a.ForgeRepo().FullName != repo.FullName {
					t.Errorf("updated build: %+v", a)
				}
				if _, err := GetBuild(ctx, tx, "nope"); !errors.Is(err, queue.ErrNoRows) {
					t.Errorf("unknown build: %v, want ErrNoRows", err)
				}
				act, err := ActiveMRBuilds(ctx, tx, "gitlab", repo.FullName, 7)
				if len(act) != 2 {
					t.Errorf("active builds: %d, want 2", len(act))
				}
				return err
			})
			inTx(func(tx queue.Tx) error {
				if err := ResetSteps(ctx, tx, "b", StepRecord{Name: "fetch", Started: time.Now()}); err != nil {
					return err
				}
				many := make([]StepRecord, MaxSteps+5)
				for i := range many {
					many[i] = StepRecord{Name: "s", Started: time.Now()}
				}
				if err := RecordSteps(ctx, tx, "b", many); err != nil {
					return err
				}
				steps, err := BuildSteps(ctx, tx, "b")
				if len(steps) != MaxSteps || steps[0].Name != "s" {
					t.Errorf("steps: %d (first %q), want the newest %d", len(steps), steps[0].Name, MaxSteps)
				}
				return err
			})
			inTx(func(tx queue.Tx) error {
				if err := UpsertMR(ctx, tx, "gitlab", repo, 7, "c0ffee"); err != nil {
					return err
				}
				if err := UpsertMR(ctx, tx, "gitlab", repo, 7, ""); err != nil { // keeps the head
					return err
				}
				if err := BumpMR(ctx, tx, k); err != nil {
					return err
				}
				for i := 0; i < MaxNotices+2; i++ {
					if err := AddNotices(ctx, tx, k, []string{string(rune('a' + i))}); err != nil {
						return err
					}
				}
				if err := MRSent(ctx, tx, k, 42, 1, time.Now()); err != nil {
					return err
				}
				m, err := GetMR(ctx, tx, k)
				if m.Head != "c0ffee" || m.CommentID != 42 || m.Version != 1 || m.SentVersion != 1 ||
					len(m.Notices) != MaxNotices || m.Notices[0] != "c" {
					t.Errorf("MR state: %+v", m)
				}
				return err
			})
			inTx(func(tx queue.Tx) error {
				if _, err := LatestApproval(ctx, tx, k); !errors.Is(err, queue.ErrNoRows) {
					t.Errorf("no approval yet: %v", err)
				}
				for _, a := range []Approval{{SHA: "old", By: "m", At: time.UnixMilli(1)}, {SHA: "c0ffee", By: "m", At: time.UnixMilli(2)}, {SHA: "c0ffee", By: "x", At: time.UnixMilli(3)}} {
					if err := SaveApproval(ctx, tx, k, a); err != nil {
						return err
					}
				}
				a, err := LatestApproval(ctx, tx, k)
				if err != nil || a.SHA != "c0ffee" || a.By != "m" {
					t.Errorf("latest approval: %+v %v", a, err)
				}
				for i := 0; i < 2; i++ {
					if err := SaveRefused(ctx, tx, k, "c0ffee", Refused{Command: "/build rocky9", Actor: "dev"}); err != nil {
						return err
					}
				}
				r, err := RefusedAt(ctx, tx, k, "c0ffee")
				if len(r) != 1 || r[0].Actor != "dev" {
					t.Errorf("refused: %+v", r)
				}
				return err
			})
			inTx(func(tx queue.Tx) error {
				ok := OutboxKey{Forge: "gitlab", Repo: repo.FullName, Target: "comment:1"}
				for _, p := range []string{`{"body":"one"}`, `{"body":"two"}`} {
					if err := PutOutbox(ctx, tx, ok, repo, []byte(p)); err != nil {
						return err
					}
				}
				o, err := GetOutbox(ctx, tx, ok)
				if err != nil || string(o.Payload) != `{"body":"two"}` || o.Version != 2 || o.Sent != 0 {
					t.Errorf("outbox: %+v %v", o, err)
				}
				v, err := OutboxSent(ctx, tx, ok, 1)
				if v != 2 {
					t.Errorf("version after a newer write: %d, want 2", v)
				}
				return err
			})
		})
	}
}
