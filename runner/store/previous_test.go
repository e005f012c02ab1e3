package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
)

func TestPrevious(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(store.LocalConfig{Dir: t.TempDir(), BaseURL: "http://127.0.0.1:1/download"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0-rc.1", "1.3.0"} {
		m := `{"schema":1,"image":"app","version":"` + v + `"}`
		if _, err := st.Put(ctx, store.Release("app", v).Key(store.ManifestName), strings.NewReader(m), int64(len(m)), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for version, want := range map[string]string{
		"1.3.0": "1.1.0", // the stable one before, not the pre-release and not itself
		"1.4.0": "1.3.0", // not published yet
		"1.1.0": "1.0.0",
	} {
		ref, err := store.Previous(ctx, st, "app", version)
		if err != nil || ref.Version != want {
			t.Errorf("Previous(%s) = %v, %v; want %s", version, ref, err, want)
		}
	}
	if _, err := store.Previous(ctx, st, "app", "1.0.0"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("before the first: %v", err)
	}
	if _, err := store.Previous(ctx, st, "app", "one"); err == nil {
		t.Error("a version that is not semantic was accepted")
	}
}
