package web

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/inventory"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
	"github.com/imagebot/imagebot/runner/store/local"
)

// publishInv publishes a release of debian12-app with a qcow2 of disk bytes
// and an inventory listing pkgs (nil pkgs: no inventory file at all).
func publishInv(t *testing.T, st store.Store, ref store.Ref, disk int, pkgs []inventory.Package) {
	t.Helper()
	files := map[string][]byte{"debian12-app.qcow2": bytes.Repeat([]byte("d"), disk)}
	invName := "debian12-app." + inventory.Ext
	if pkgs != nil {
		data, err := inventory.Marshal(&inventory.Inventory{Image: ref.Image, Version: ref.Version, PackageManager: "dpkg",
			OS:     inventory.OS{ID: "debian", Version: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)", Arch: "amd64"},
			Kernel: "6.1.0-28-amd64", Packages: pkgs})
		if err != nil {
			t.Fatal(err)
		}
		files[invName] = data
	}
	browsetest.Publish(t, st, browsetest.Build{Ref: ref, Digest: "sha256:0123456789abcdef", Version: "1.4.0", GitSHA: "0a1b2c3d4e5f", Files: files,
		Modify: func(m *manifest.Manifest) {
			for i := range m.Files {
				if m.Files[i].Name == invName {
					m.Files[i].Format = "inventory"
				}
			}
		}})
}

// inspectServer is the page with the inspection routes registered, over a
// local store holding three releases and an MR build of debian12-app:
// 1.2.0 (bash, curl), 1.3.0 (adds jq, a newer curl, a hostile package name),
// 1.1.0 published before inventories, and mr7 (drops curl).
func inspectServer(t *testing.T) *httptest.Server {
	t.Helper()
	st, err := local.New(store.LocalConfig{Dir: t.TempDir(), BaseURL: "http://127.0.0.1:1/download"})
	if err != nil {
		t.Fatal(err)
	}
	bash := inventory.Package{Name: "bash", Version: "5.2.15-2+b7", Arch: "amd64", Source: "bash"}
	curl := inventory.Package{Name: "curl", Version: "7.88.1-10+deb12u5", Arch: "amd64", Source: "curl"}
	curl2 := curl
	curl2.Version = "7.88.1-10+deb12u8"
	jq := inventory.Package{Name: "jq", Version: "1.6-2.1", Arch: "amd64", Source: "jq"}
	evil := inventory.Package{Name: "<script>alert(1)</script>", Version: "1", Arch: "all"}
	publishInv(t, st, store.Release("debian12-app", "1.1.0"), 900, nil)
	publishInv(t, st, store.Release("debian12-app", "1.2.0"), 1000, []inventory.Package{bash, curl})
	publishInv(t, st, store.Release("debian12-app", "1.3.0"), 1500, []inventory.Package{bash, curl2, jq, evil})
	publishInv(t, st, store.MRBuild("debian12-app", 7, "1a2b3c4d5e6f"), 800, []inventory.Package{bash})
	s, err := New(Options{Store: st, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestVersionPackagesPage(t *testing.T) {
	srv := inspectServer(t)
	code, body := get(t, srv, "/images/debian12-app/1.3.0/packages")
	if code != http.StatusOK {
		t.Fatalf("status %d:\n%s", code, body)
	}
	for _, want := range []string{"Debian GNU/Linux 12 (bookworm)", "6.1.0-28-amd64", `id="package-count">4 (dpkg)`,
		"<strong>jq</strong>", "7.88.1-10&#43;deb12u8", "&lt;script&gt;alert(1)&lt;/script&gt;",
		`action="/images/debian12-app/diff"`, `<option value="1.2.0">1.2.0</option>`} {
		if !strings.Contains(body, want) {
			t.Errorf("packages page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert(1)") {
		t.Error("a package name reached the page unescaped")
	}
	if code, body := get(t, srv, "/images/debian12-app/1.1.0/packages"); code != http.StatusOK || !strings.Contains(body, "published without a package inventory") {
		t.Errorf("version without inventory: %d\n%s", code, body)
	}
	if code, _ := get(t, srv, "/images/debian12-app/9.9.9/packages"); code != http.StatusNotFound {
		t.Errorf("unknown version: %d", code)
	}
}

func TestVersionDiffPage(t *testing.T) {
	srv := inspectServer(t)
	code, body := get(t, srv, "/images/debian12-app/diff?from=1.2.0&to=1.3.0")
	if code != http.StatusOK {
		t.Fatalf("status %d:\n%s", code, body)
	}
	for _, want := range []string{"&#43;2 ~1 packages", "Added (2)", "<strong>jq</strong></td><td><code>1.6-2.1</code>",
		"Changed (1)", "<code>7.88.1-10&#43;deb12u5</code></td><td><code>7.88.1-10&#43;deb12u8</code>",
		"qcow2: 1000 B → 1.5 KiB", `<option value="1.3.0" selected>`, "&lt;script&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("diff page lacks %q", want)
		}
	}
	// Any two versions: an MR build against a release, backwards too.
	if code, body := get(t, srv, "/images/debian12-app/diff?from=1.3.0&to=mr7-1a2b3c4d"); code != http.StatusOK ||
		!strings.Contains(body, "−3 packages") || !strings.Contains(body, "Removed (3)") {
		t.Errorf("release -> MR build: %d\n%s", code, body)
	}
	if _, body := get(t, srv, "/images/debian12-app/diff?from=1.1.0&to=1.2.0"); !strings.Contains(body, "1.1.0 has no package inventory") {
		t.Errorf("old version without inventory not said:\n%s", body)
	}
	// A bare link compares the latest release with the one before.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(srv.URL + "/images/debian12-app/diff")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "/images/debian12-app/diff?from=1.2.0&to=1.3.0" {
		t.Errorf("bare diff: %d %q", resp.StatusCode, loc)
	}
	// Only ?to=: a release against the release before it, an MR build
	// against the latest release (the version page links these).
	if _, body := get(t, srv, "/images/debian12-app/diff?to=1.3.0"); !strings.Contains(body, "1.2.0 → 1.3.0") {
		t.Errorf("?to=1.3.0 did not compare with 1.2.0")
	}
	if _, body := get(t, srv, "/images/debian12-app/diff?to=mr7-1a2b3c4d"); !strings.Contains(body, "1.3.0 → mr7-1a2b3c4d") {
		t.Errorf("?to=mr7 did not compare with the latest release")
	}
	if code, _ := get(t, srv, "/images/debian12-app/diff?to=1.1.0"); code != http.StatusNotFound {
		t.Errorf("first release: %d", code)
	}
	if _, body := get(t, srv, "/images/debian12-app/1.3.0"); !strings.Contains(body, `href="/images/debian12-app/1.3.0/packages"`) ||
		!strings.Contains(body, `href="/images/debian12-app/diff?to=1.3.0"`) {
		t.Errorf("the version page does not link its packages and changes")
	}
	if code, _ := get(t, srv, "/images/debian12-app/diff?from=1.2.0&to=9.9.9"); code != http.StatusNotFound {
		t.Errorf("unknown version: %d", code)
	}
	if code, _ := get(t, srv, "/images/nosuch/diff"); code != http.StatusNotFound {
		t.Errorf("unknown image: %d", code)
	}
	// The existing routes still work beside the new ones.
	if code, _ := get(t, srv, "/images/debian12-app/1.3.0"); code != http.StatusOK {
		t.Errorf("version page: %d", code)
	}
}
