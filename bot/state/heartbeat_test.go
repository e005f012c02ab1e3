package state

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/queue/pgtest"
)

type testJob struct{}

func (testJob) Kind() string { return "state_test" }

func openFor(t *testing.T, driver string) *queue.Queue {
	t.Helper()
	ctx := context.Background()
	opts := queue.Options{Driver: driver, Path: filepath.Join(t.TempDir(), "imagebot.db"), Log: zerolog.Nop()}
	if driver == "postgres" {
		opts.URL = pgtest.Start(t)
	}
	q, err := queue.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(ctx) })
	if err := Migrate(ctx, q); err != nil {
		t.Fatal(err)
	}
	return q
}

// TestHeartbeatClaimAndFence: a claim is beaten while held; another
// attempt's claim supersedes it (the late host's beat fails); the claim
// says whether the previous attempt was lost. On both drivers.
func TestHeartbeatClaimAndFence(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			q := openFor(t, driver)
			a := Heartbeat{BuildID: "b1", JobID: 1, Attempt: 1, Host: "a/1"}
			b := Heartbeat{BuildID: "b1", JobID: 1, Attempt: 2, Host: "b/2"}
			now := time.Now()
			err := q.InTx(ctx, func(tx queue.Tx) error {
				if sup, err := Superseded(ctx, tx, a); err != nil || sup {
					t.Errorf("no row yet: superseded %v, %v", sup, err)
				}
				if lost, err := StartHeartbeat(ctx, tx, a, now); err != nil || lost {
					t.Errorf("first claim: lost %v, %v", lost, err)
				}
				if ok, err := Beat(ctx, tx, a, now.Add(time.Second)); err != nil || !ok {
					t.Errorf("beat of the holder: %v, %v", ok, err)
				}
				if _, err := StartHeartbeat(ctx, tx, b, now.Add(2*time.Second)); err != nil {
					return err
				}
				if ok, err := Beat(ctx, tx, a, now.Add(3*time.Second)); err != nil || ok {
					t.Errorf("beat of a superseded host: %v, %v", ok, err)
				}
				if sup, err := Superseded(ctx, tx, a); err != nil || !sup {
					t.Errorf("old attempt: superseded %v, %v", sup, err)
				}
				if sup, err := Superseded(ctx, tx, b); err != nil || sup {
					t.Errorf("new attempt: superseded %v, %v", sup, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTakeLostRequeuesOnlyTheStaleRunningAttempt (PostgreSQL, the fleet's
// database): a running build whose beat is old is found and its River job
// made available again, once; a fresh beat is not; the next claim learns
// the previous host was lost; on the last attempt the job is discarded.
func TestTakeLostRequeuesOnlyTheStaleRunningAttempt(t *testing.T) {
	ctx := context.Background()
	q := openFor(t, "postgres")
	now := time.Now()
	repo := forge.Repo{FullName: "infra/images"}
	jobs := map[string]int64{}
	err := q.InTx(ctx, func(tx queue.Tx) error {
		for i, id := range []string{"stale", "fresh", "last"} {
			res, err := tx.Insert(ctx, testJob{}, nil)
			if err != nil {
				return err
			}
			jobs[id] = res.Job.ID
			attempts := 2
			if id == "last" {
				attempts = 1
			}
			if _, err := tx.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, max_attempts = $1, attempted_at = now() WHERE id = $2`,
				attempts, res.Job.ID); err != nil {
				return err
			}
			if err := InsertBuild(ctx, tx, NewBuild{ID: id, JobID: res.Job.ID, Forge: "gitlab", Repo: repo, MR: 7 + i, SHA: "c0ffee", Image: "tiny"}); err != nil {
				return err
			}
			if err := UpdateBuild(ctx, tx, id, Status(StatusRunning)); err != nil {
				return err
			}
			beat := now.Add(-time.Minute)
			if id == "fresh" {
				beat = now
			}
			if _, err := StartHeartbeat(ctx, tx, Heartbeat{BuildID: id, JobID: res.Job.ID, Attempt: 1, Host: "a/1"}, beat); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var lost []LostBuild
	err = q.InTx(ctx, func(tx queue.Tx) (err error) {
		lost, err = LostBuilds(ctx, tx, now.Add(-30*time.Second))
		if err != nil {
			return err
		}
		for _, x := range lost {
			if ok, err := TakeLost(ctx, tx, x, now); err != nil || !ok {
				t.Errorf("take %s: %v, %v", x.BuildID, ok, err)
			}
			if ok, err := TakeLost(ctx, tx, x, now); err != nil || ok {
				t.Errorf("take %s twice: %v, %v", x.BuildID, ok, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, x := range lost {
		got[x.BuildID] = x.LastAttempt
		if x.Repo.FullName != repo.FullName || x.Host != "a/1" {
			t.Errorf("lost build %+v", x)
		}
	}
	if len(got) != 2 || got["stale"] || !got["last"] {
		t.Fatalf("lost builds (id: last attempt) = %v, want stale:false last:true", got)
	}
	err = q.InTx(ctx, func(tx queue.Tx) error {
		for id, want := range map[string]string{"stale": "available", "fresh": "running", "last": "discarded"} {
			j, err := tx.Job(ctx, jobs[id])
			if err != nil {
				return err
			}
			if string(j.State) != want {
				t.Errorf("job of %s: %s, want %s", id, j.State, want)
			}
		}
		lost, err := StartHeartbeat(ctx, tx, Heartbeat{BuildID: "stale", JobID: jobs["stale"], Attempt: 2, Host: "b/2"}, now)
		if err != nil || !lost {
			t.Errorf("next claim after a lost host: lost %v, %v", lost, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRescueStuckTakesBackOnlyOldRunningJobsOfTheGivenKinds: a job a dead
// process left running long ago goes back to available; one attempted
// just now, one of another kind, one with no attempt left and one not
// running stay as they are.
func TestRescueStuckTakesBackOnlyOldRunningJobsOfTheGivenKinds(t *testing.T) {
	ctx := context.Background()
	q := openFor(t, "postgres")
	cases := []struct {
		name, state string
		age         time.Duration
		attempt     int
		kind        string
		want        string
	}{
		{"dead worker's", "running", 10 * time.Minute, 1, "state_test", "available"},
		{"live worker's", "running", time.Second, 1, "state_test", "running"},
		{"other kind", "running", 10 * time.Minute, 1, "imagebot_build", "running"},
		{"last attempt", "running", 10 * time.Minute, 3, "state_test", "running"},
		{"retryable", "retryable", 10 * time.Minute, 1, "state_test", "retryable"},
	}
	ids := make([]int64, len(cases))
	err := q.InTx(ctx, func(tx queue.Tx) error {
		for i, c := range cases {
			res, err := tx.Insert(ctx, testJob{}, nil)
			if err != nil {
				return err
			}
			ids[i] = res.Job.ID
			if _, err := tx.Exec(ctx, `UPDATE river_job SET state = $1, kind = $2, attempt = $3, max_attempts = 3,
				attempted_at = now() - ($4 * interval '1 millisecond') WHERE id = $5`,
				c.state, c.kind, c.attempt, c.age.Milliseconds(), res.Job.ID); err != nil {
				return err
			}
		}
		n, err := RescueStuck(ctx, tx, []string{"state_test", "imagebot_report"}, 2*time.Minute)
		if err != nil || n != 1 {
			t.Errorf("rescued %d, %v; want 1", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		var got string
		err := q.InTx(ctx, func(tx queue.Tx) error {
			return queue.QueryRow(ctx, tx, `SELECT state FROM river_job WHERE id = $1`, []any{ids[i]}, &got)
		})
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s job: state %s, want %s", c.name, got, c.want)
		}
	}
}
