package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/web"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
	"github.com/imagebot/imagebot/runner/store/local"
)

// With store keys per repository, each repository's images have pages of
// their own below /r/<name>/; the images page links to the repositories the
// viewer may read; another repository's pages answer 404.
func TestRepositoryImagePages(t *testing.T) {
	st, err := local.New(store.LocalConfig{Dir: filepath.Join(t.TempDir(), "a"), BaseURL: "http://bot.test/download"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := store.Config{}
	for _, repo := range []string{"infra/images", "infra/secret"} {
		pre, _ := cfg.RepoPrefix("gitlab", repo)
		browsetest.Publish(t, store.RepoStore(st, pre), browsetest.Build{Ref: store.Release("rocky9", "9.4.0"), Digest: "sha256:aa", GitSHA: "0a1b2c3d4e",
			Files: map[string][]byte{"rocky9-9.4.0.qcow2": []byte("disk of " + repo)}})
	}
	visible := func(_ context.Context, forge, repo string) bool { return forge == "gitlab" && repo == "infra/images" }
	rp := web.NewRepoPages(web.RepoPagesOptions{Store: st, Config: cfg, Visible: visible, Page: web.Options{Log: zerolog.Nop()}})
	root, err := web.New(web.Options{Store: st, Repos: rp.Links, Visible: visible, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	get := func(h interface {
		ServeHTTP(w http.ResponseWriter, r *http.Request)
	}, path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	for _, tc := range []struct {
		h interface {
			ServeHTTP(w http.ResponseWriter, r *http.Request)
		}
		path string
		code int
		want string
	}{
		{root, "/images/", 200, `href="/r/gitlab~infra~images/images/"`},
		{rp, "/r/gitlab~infra~images/images/", 200, `href="/r/gitlab~infra~images/images/rocky9"`},
		{rp, "/r/gitlab~infra~images/images/rocky9/9.4.0", 200, "rocky9-9.4.0.qcow2"},
		{rp, "/r/gitlab~infra~secret/images/", 404, ""},
		{rp, "/r/nosuch/images/", 404, ""},
		{rp, "/r/gitlab~never~seen/images/", 404, ""}, // a name no build used makes no page server
		{rp, "/r/gitlab~infra~images/builds/", 404, ""},
	} {
		code, body := get(tc.h, tc.path)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want %d with %q:\n%.600s", tc.path, code, tc.code, tc.want, body)
		}
	}
	if _, body := get(root, "/images/"); strings.Contains(body, "infra~secret") {
		t.Error("the images page links to a repository the viewer cannot read")
	}
}
