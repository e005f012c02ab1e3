package schedule_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/schedule"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
)

func TestParse(t *testing.T) {
	mon := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC) // a Monday
	for _, tc := range []struct {
		spec      string
		at, prev  time.Time
		wantError string
	}{
		{spec: "weekly", at: mon.Add(3 * 24 * time.Hour), prev: mon},
		{spec: "daily", at: mon.Add(30 * time.Hour), prev: mon.Add(24 * time.Hour)},
		{spec: "0 4 * * 1", at: mon.Add(4 * time.Hour), prev: mon.Add(4 * time.Hour)},
		{spec: "*/15 * * * *", at: mon.Add(20 * time.Minute), prev: mon.Add(15 * time.Minute)},
		{spec: "0 3 1 1 *", at: mon, prev: time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)},
		{spec: "hourly", wantError: "want daily, weekly or a cron expression"},
		{spec: "@weekly", wantError: "want daily, weekly or a cron expression"},
		{spec: "* * * *", wantError: "five fields"},
		{spec: "61 * * * *", wantError: `refresh "61 * * * *": `},
		{spec: "CRON_TZ=Europe/Paris 0 4 * * 1", wantError: "five fields"},
	} {
		s, err := schedule.Parse(tc.spec)
		if tc.wantError != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantError) {
				t.Errorf("Parse(%q) = %v, want an error saying %q", tc.spec, err, tc.wantError)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if got := s.Prev(tc.at); !got.Equal(tc.prev) {
			t.Errorf("%q: Prev(%s) = %s, want %s", tc.spec, tc.at, got, tc.prev)
		}
	}
}

// releases is a fixed answer to LastRelease.
type releases map[string]time.Time

func (r releases) LastRelease(_ context.Context, image string) (string, time.Time, bool, error) {
	at, ok := r[image]
	return "1.0.0", at, ok, nil
}

// TestDueScheduleOpensOnceNotOnEveryTick walks the scheduler's ticks over
// two weeks: the weekly refresh is due once after Monday 00:00, not again
// on the following ticks once recorded, due again the next Monday while
// the image is still not released, and not due after a release newer
// than the tick. The ledger is the bucket-backed one.
func TestDueScheduleOpensOnceNotOnEveryTick(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(store.LocalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	led := schedule.StoreLedger{Store: st}
	weekly, _ := schedule.Parse("weekly")
	daily, _ := schedule.Parse("daily")
	mon := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	rel := releases{"rocky9": mon.Add(-6 * 24 * time.Hour), "fresh": mon.Add(time.Hour)} // rocky9: after the tick before
	entries := []schedule.Entry{{Image: "rocky9", Refresh: weekly}, {Image: "fresh", Refresh: weekly}, {Image: "never", Refresh: daily}}

	opened := map[string]int{}
	for now := mon.Add(-time.Hour); now.Before(mon.Add(8 * 24 * time.Hour)); now = now.Add(10 * time.Minute) {
		due, why, err := schedule.Plan(ctx, entries, rel, led, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range due {
			opened[d.Image+"@"+d.Tick.Format("01-02")]++
			if err := led.Record(ctx, d.Image, d.Tick); err != nil {
				t.Fatal(err)
			}
		}
		if now.Equal(mon.Add(2 * time.Hour)) {
			if !strings.Contains(why["rocky9"], "was handled") || !strings.Contains(why["fresh"], "after the tick") || !strings.Contains(why["never"], "never released") {
				t.Errorf("reasons at %s: %v", now, why)
			}
		}
	}
	// fresh was released after the first Monday, so only the second is due.
	want := map[string]int{"rocky9@11-30": 1, "rocky9@12-07": 1, "fresh@12-07": 1}
	if len(opened) != len(want) || opened["rocky9@11-30"] != 1 || opened["rocky9@12-07"] != 1 || opened["fresh@12-07"] != 1 {
		t.Fatalf("refreshes opened %v, want %v", opened, want)
	}
	// The ledger is an object any S3 client reads; an older tick does not replace it.
	if err := led.Record(ctx, "rocky9", mon); err != nil {
		t.Fatal(err)
	}
	if last, err := led.Last(ctx, "rocky9"); err != nil || !last.Equal(mon.Add(7*24*time.Hour)) {
		t.Fatalf("last tick %s, %v", last, err)
	}
	if _, err := st.Stat(ctx, schedule.LedgerKey("rocky9")); err != nil {
		t.Fatal(err)
	}
}

func TestStoreReleasesSkipsRevokedReleases(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(store.LocalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		m := []byte(`{"image":"rocky9","version":"` + v + `"}`)
		if _, err := st.Put(ctx, store.Release("rocky9", v).Key(store.ManifestName), bytes.NewReader(m), int64(len(m)), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r := schedule.StoreReleases{Store: st}
	if v, at, ok, err := r.LastRelease(ctx, "rocky9"); err != nil || !ok || v != "1.1.0" || time.Since(at) > time.Minute {
		t.Fatalf("last release %s %s %v %v", v, at, ok, err)
	}
	if _, err := store.Revoke(ctx, st, store.RevokeRequest{Release: store.Release("rocky9", "1.1.0"), By: "a", Reason: "r", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if v, _, ok, err := r.LastRelease(ctx, "rocky9"); err != nil || !ok || v != "1.0.0" {
		t.Fatalf("after revoking 1.1.0: %s %v %v", v, ok, err)
	}
	if _, _, ok, err := r.LastRelease(ctx, "none"); err != nil || ok {
		t.Fatalf("an image never released: %v %v", ok, err)
	}
}

// TestRunRecordsOnlyWhatItOpened: a failed open is tried again on the next
// tick; once opened, the tick is recorded and not opened again.
func TestRunRecordsOnlyWhatItOpened(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(store.LocalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	led := schedule.StoreLedger{Store: st}
	weekly, _ := schedule.Parse("weekly")
	mon := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	rel := releases{"rocky9": mon.Add(-6 * 24 * time.Hour)}
	entries := []schedule.Entry{{Image: "rocky9", Refresh: weekly}}
	calls, fail := 0, true
	open := func(context.Context, schedule.Due) error {
		calls++
		if fail {
			return errors.New("forge down")
		}
		return nil
	}
	if got, err := schedule.Run(ctx, entries, rel, led, mon.Add(time.Minute), open); err == nil || !strings.Contains(err.Error(), "refresh of rocky9: forge down") || len(got) != 0 {
		t.Fatalf("failing open: %v, %v", got, err)
	}
	fail = false
	for _, at := range []time.Duration{2 * time.Minute, 3 * time.Minute, time.Hour} {
		if _, err := schedule.Run(ctx, entries, rel, led, mon.Add(at), open); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 2 {
		t.Fatalf("open called %d times, want 2 (the failure, then once)", calls)
	}
}
