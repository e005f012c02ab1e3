// Package schedule owns scheduled refresh: it parses an image's env.yaml
// `refresh:` (daily, weekly or a five-field cron expression, in UTC) and
// decides, on every tick of the bot's scheduler, which images are due for a
// refresh merge request. An image is due when the newest scheduled time
// (its "tick") has passed, its last release is older than that tick, and
// that tick was not handled already: the Ledger records the last handled
// tick per image, so a due schedule opens its merge request once, not on
// every tick. The bump itself is runner/cascade's.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is a parsed `refresh:` value.
type Schedule struct {
	Spec  string // as written
	sched cron.Schedule
}

// Named schedules and what they mean (UTC).
var named = map[string]string{
	"daily":  "0 0 * * *", // every day at 00:00
	"weekly": "0 0 * * 1", // Mondays at 00:00
}

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Parse reads a refresh value: "daily", "weekly" or five cron fields
// (minute hour day-of-month month day-of-week), evaluated in UTC.
func Parse(spec string) (Schedule, error) {
	s := strings.TrimSpace(spec)
	expr := s
	if n, ok := named[s]; ok {
		expr = n
	} else if len(strings.Fields(s)) != 5 || strings.HasPrefix(s, "@") || strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return Schedule{}, fmt.Errorf("refresh %q: want daily, weekly or a cron expression of five fields (minute hour day month weekday), e.g. \"0 4 * * 1\"", spec)
	}
	sc, err := parser.Parse(expr)
	if err != nil {
		return Schedule{}, fmt.Errorf("refresh %q: %v", spec, err)
	}
	return Schedule{Spec: s, sched: sc}, nil
}

// Next is the first scheduled time after t.
func (s Schedule) Next(t time.Time) time.Time { return s.sched.Next(t.UTC()) }

// Prev is the newest scheduled time at or before t (zero when none in the
// last five years). It widens its window until one holds a tick, so a
// dense schedule costs few steps and a sparse one few windows.
func (s Schedule) Prev(t time.Time) time.Time {
	t = t.UTC()
	for _, w := range []time.Duration{time.Hour, 25 * time.Hour, 8 * 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour, 5 * 367 * 24 * time.Hour} {
		var last time.Time
		for n := s.sched.Next(t.Add(-w).Add(-time.Second)); !n.IsZero() && !n.After(t); n = s.sched.Next(n) {
			last = n
		}
		if !last.IsZero() {
			return last
		}
	}
	return time.Time{}
}

// Entry is one image with a refresh schedule.
type Entry struct {
	Image   string
	Refresh Schedule
}

// Releases tells when an image was last released.
type Releases interface {
	// LastRelease is the newest (non-revoked) release's version and when it
	// was published; ok false when the image has none.
	LastRelease(ctx context.Context, image string) (version string, at time.Time, ok bool, err error)
}

// Ledger remembers the last tick handled per image. The bucket-backed
// StoreLedger is one; the bot's state may be another.
type Ledger interface {
	// Last is the last tick recorded for image (zero when none).
	Last(ctx context.Context, image string) (time.Time, error)
	// Record notes that image's tick was handled.
	Record(ctx context.Context, image string, tick time.Time) error
}

// Due is an image whose refresh has come due.
type Due struct {
	Image       string
	Tick        time.Time // the scheduled time that came due
	LastVersion string    // its last release ...
	LastRelease time.Time // ... published then, before Tick
}

// Plan returns the entries due at now, sorted by image, and why each
// image is or is not due (for logs and tests). It records nothing:
// the caller records each tick (Ledger.Record) once its merge request is
// open, so a failure to open it is tried again on the next tick.
func Plan(ctx context.Context, entries []Entry, rel Releases, led Ledger, now time.Time) ([]Due, map[string]string, error) {
	var due []Due
	why := map[string]string{}
	var errs []error
	for _, e := range entries {
		d, reason, err := decide(ctx, e, rel, led, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("refresh of %s: %w", e.Image, err))
			continue
		}
		why[e.Image] = reason
		if d != nil {
			due = append(due, *d)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].Image < due[j].Image })
	return due, why, errors.Join(errs...)
}

func decide(ctx context.Context, e Entry, rel Releases, led Ledger, now time.Time) (*Due, string, error) {
	tick := e.Refresh.Prev(now)
	if tick.IsZero() {
		return nil, "the schedule has not come due yet", nil
	}
	last, err := led.Last(ctx, e.Image)
	if err != nil {
		return nil, "", err
	}
	if !last.Before(tick) {
		return nil, "the tick of " + tick.Format(time.RFC3339) + " was handled", nil
	}
	version, at, ok, err := rel.LastRelease(ctx, e.Image)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "never released: the ordinary flow releases it first", nil
	}
	if !at.Before(tick) {
		return nil, fmt.Sprintf("released %s at %s, after the tick of %s", version, at.UTC().Format(time.RFC3339), tick.Format(time.RFC3339)), nil
	}
	return &Due{Image: e.Image, Tick: tick, LastVersion: version, LastRelease: at}, "due", nil
}

// Run is one scheduler tick: for every entry due at now it calls open
// (which opens the refresh merge request) and, only when that succeeded,
// records the tick, so a due schedule opens once and a failed attempt is
// tried again on the next tick. It returns the entries it opened.
func Run(ctx context.Context, entries []Entry, rel Releases, led Ledger, now time.Time, open func(context.Context, Due) error) ([]Due, error) {
	due, _, err := Plan(ctx, entries, rel, led, now)
	errs := []error{err}
	var opened []Due
	for _, d := range due {
		if err := open(ctx, d); err != nil {
			errs = append(errs, fmt.Errorf("refresh of %s: %w", d.Image, err))
			continue
		}
		if err := led.Record(ctx, d.Image, d.Tick); err != nil {
			errs = append(errs, fmt.Errorf("refresh of %s: %w", d.Image, err))
			continue
		}
		opened = append(opened, d)
	}
	return opened, errors.Join(errs...)
}
