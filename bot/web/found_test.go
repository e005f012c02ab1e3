package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
)

// oneBuild is a build history of one finished build.
type oneBuild struct{ b Build }

func (o oneBuild) Recent(context.Context, int) ([]Build, error) { return []Build{o.b}, nil }
func (o oneBuild) Build(_ context.Context, id string) (Build, error) {
	if id != o.b.ID {
		return Build{}, ErrNotFound
	}
	return o.b, nil
}
func (o oneBuild) Log(context.Context, string, int64) ([]byte, bool, error) { return nil, true, nil }

// The build page shows what the build found: package diff, checks with the
// failed one named, hygiene — escaped.
func TestBuildPageShowsWhatTheBuildFound(t *testing.T) {
	st, err := local.New(store.LocalConfig{Dir: t.TempDir(), BaseURL: "http://127.0.0.1:1/download"})
	if err != nil {
		t.Fatal(err)
	}
	b := Build{ID: "b1", Image: "debian12-app", Kind: "release", Version: "1.3.0", Status: "failed",
		Started: time.Now().Add(-time.Minute), Finished: time.Now(),
		Found: &Found{Packages: 166, Diff: "+1 package against debian12-app 1.2.0",
			Checks: []FoundCheck{{Name: "service ssh", Where: "debian12-app.yaml:7", Passed: true},
				{Name: "port tcp:8080", Where: "failing-example.yaml:3", Detail: "listening: want true, got <false>"}},
			Hygiene: []string{"password: account root still accepts a build secret"}}}
	s, err := New(Options{Store: st, Builds: oneBuild{b}, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	code, body := get(t, srv, "/builds/b1")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{"Found in the image", "packages: &#43;1 package against debian12-app 1.2.0", "checks: 1 passed, 1 failed",
		"check failed: <code>port tcp:8080</code> (failing-example.yaml:3): listening: want true, got &lt;false&gt;",
		"hygiene: password: account root still accepts a build secret"} {
		if !strings.Contains(body, want) {
			t.Errorf("build page lacks %q", want)
		}
	}
	b.Found = nil
	s2, _ := New(Options{Store: st, Builds: oneBuild{b}, Log: zerolog.Nop()})
	srv2 := httptest.NewServer(s2)
	defer srv2.Close()
	if _, body := get(t, srv2, "/builds/b1"); strings.Contains(body, "Found in the image") {
		t.Error("a build without details shows the section")
	}
}
