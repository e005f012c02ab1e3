package builds

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/checks"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
)

// A release build records the same details as an MR build, but its diff is
// against the release before it: once published it is itself the latest.
func TestReleaseBuildDetailsCompareWithThePreviousRelease(t *testing.T) {
	st, err := local.New(store.LocalConfig{Dir: t.TempDir(), BaseURL: "http://127.0.0.1/download"})
	if err != nil {
		t.Fatal(err)
	}
	newInv := inv("bash=5.2.15-2", "curl=7.88.1-10+deb12u8", "jq=1.6-2.1")
	publishRelease(t, st, "1.0.0", inv("bash=5.2.15-1", "curl=7.88.1-10"))
	publishRelease(t, st, "1.1.0", newInv) // the release being built, already published
	res := buildResult(t, runner.StatusSucceeded, newInv, []checks.Result{{File: "app", Check: "service ssh", Line: 2, Passed: true}})
	res.Version = "1.1.0"
	b := NewPipeline(Deps{Store: st, Log: zerolog.Nop()})

	data, err := b.detailsJSON(context.Background(), res, st, true)
	if err != nil || data == "" {
		t.Fatalf("details %q, %v", data, err)
	}
	var d state.Details
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		t.Fatal(err)
	}
	if d.Diff == nil || d.Diff.OldVersion != "1.0.0" || d.Diff.Summary() != "+1 ~2 packages" {
		t.Fatalf("release diff %+v (note %q)", d.Diff, d.DiffNote)
	}
	if len(d.Checks) != 1 || len(d.Hygiene) != 1 || d.Packages != 3 {
		t.Errorf("details %+v", d)
	}
	// The MR way would compare the release with itself: nothing changed.
	if mr := b.details(context.Background(), res, st, false); mr.Diff == nil || mr.Diff.OldVersion != "1.1.0" || !mr.Diff.Empty() {
		t.Errorf("MR-style diff %+v", mr.Diff)
	}
	// The first release has nothing before it.
	res.Version = "1.0.0"
	if first := b.details(context.Background(), res, st, true); first.Diff != nil || first.DiffNote != "" {
		t.Errorf("first release: diff %+v, note %q", first.Diff, first.DiffNote)
	}
}
