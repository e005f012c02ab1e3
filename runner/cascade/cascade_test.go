package cascade_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/cascade"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/catalog/catalogtest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
)

type bucket struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
}

func newBucket(t *testing.T) *bucket {
	st, err := local.New(store.LocalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return &bucket{t: t, ctx: context.Background(), st: st}
}

func (b *bucket) put(key, body string) {
	b.t.Helper()
	if _, err := b.st.Put(b.ctx, key, strings.NewReader(body), int64(len(body)), store.PutOptions{}); err != nil {
		b.t.Fatal(err)
	}
}

// release publishes a manifest for image@version built on base@on ("" none),
// with an inventory of pkgs ("name=version") when there are any.
func (b *bucket) release(image, version, base, on string, pkgs ...string) {
	b.t.Helper()
	ref := store.Release(image, version)
	files := `[]`
	if len(pkgs) > 0 {
		var list []string
		for _, p := range pkgs {
			n, v, _ := strings.Cut(p, "=")
			list = append(list, fmt.Sprintf(`{"name":%q,"version":%q,"arch":"amd64"}`, n, v))
		}
		name := image + "-" + version + ".inventory.json"
		b.put(ref.Key(name), `{"schema":1,"package_manager":"dpkg","packages":[`+strings.Join(list, ",")+`]}`)
		files = `[{"name":"` + name + `","format":"inventory","size":1,"sha256":"` + strings.Repeat("ab", 32) + `"}]`
	}
	baseJSON := ""
	if base != "" {
		baseJSON = fmt.Sprintf(`,"base_image":{"image":%q,"version":%q}`, base, on)
	}
	b.put(ref.Key(store.ManifestName), fmt.Sprintf(`{"image":%q,"version":%q,"build_id":"b-%s","release":true,"files":%s%s}`, image, version, version, files, baseJSON))
}

func loadCatalog(t *testing.T, root string) *catalog.Catalog {
	t.Helper()
	cat, diags := catalog.Load(root)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return cat
}

// TestABaseReleaseMakesOneBumpOfItsOutdatedChildren: img00 (a base of
// img01..img04) is released at 1.1.0; img01's latest release is built on
// 1.0.0, img02's already on 1.1.0, img03 was never released. The cascade
// is one change bumping img01 only, with the base's package diff.
func TestABaseReleaseMakesOneBumpOfItsOutdatedChildren(t *testing.T) {
	root := t.TempDir()
	catalogtest.Generate(t, root, 10)
	cat := loadCatalog(t, root)
	b := newBucket(t)
	b.release("img00", "1.0.0", "", "", "openssl=3.0.1", "bash=5.2")
	b.release("img00", "1.1.0", "", "", "openssl=3.0.2", "bash=5.2", "curl=8.0")
	b.release("img01", "1.0.1", "img00", "1.0.0")
	b.release("img02", "1.0.2", "img00", "1.1.0")
	b.release("img05", "1.0.5", "", "")
	b.release("img06", "1.0.6", "img05", "1.0.5")

	out, err := cascade.Check(b.ctx, b.st)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0] != (cascade.Outdated{Image: "img01", Version: "1.0.1", Base: "img00", BuiltOn: "1.0.0", BaseLatest: "1.1.0"}) {
		t.Fatalf("outdated %+v", out)
	}
	c, err := cascade.ForBase(b.ctx, cat, b.st, "img00", out)
	if err != nil {
		t.Fatal(err)
	}
	if c == nil || c.Branch != "imagebot/cascade/img00-1.1.0" || c.Title != "Rebuild img01 on img00 1.1.0" || len(c.Files) != 1 {
		t.Fatalf("change %+v", c)
	}
	old, _ := os.ReadFile(filepath.Join(root, "images/img01/env.yaml"))
	want := strings.Replace(string(old), "version: 1.0.1\n", "version: 1.0.2\n", 1)
	if c.Files[0].Path != "images/img01/env.yaml" || c.Files[0].Content != want || want == string(old) {
		t.Fatalf("file %s:\n%s", c.Files[0].Path, c.Files[0].Content)
	}
	for _, s := range []string{"| `img01` | 1.0.1 | img00 1.0.0 | 1.0.2 |", "Changes in `img00` from 1.0.0 to 1.1.0", "openssl", "curl"} {
		if !strings.Contains(c.Body, s) {
			t.Errorf("body lacks %q:\n%s", s, c.Body)
		}
	}
	per, err := cascade.Changes(b.ctx, cat, b.st, "img00", out, cascade.PerImage)
	if err != nil || len(per) != 1 || per[0].Branch != "imagebot/cascade/img01-on-img00-1.1.0" || per[0].Files[0].Content != want {
		t.Fatalf("per image: %+v, %v", per, err)
	}
	if _, err := cascade.Changes(b.ctx, cat, b.st, "img00", out, "child"); err == nil || !strings.Contains(err.Error(), `cascade.group "child"`) {
		t.Errorf("unknown grouping: %v", err)
	}
	if c, err := cascade.ForBase(b.ctx, cat, b.st, "img05", out); err != nil || c != nil {
		t.Fatalf("img05 has no outdated child: %+v, %v", c, err)
	}

	// Revoking img00@1.1.0 makes 1.0.0 the latest again: nothing is outdated.
	if _, err := store.Revoke(b.ctx, b.st, store.RevokeRequest{Release: store.Release("img00", "1.1.0"), By: "a", Reason: "r", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if out, err := cascade.Check(b.ctx, b.st); err != nil || len(out) != 0 {
		t.Fatalf("after the revocation: %+v, %v", out, err)
	}
}

func TestBumpKeepsTheFileAsWritten(t *testing.T) {
	root := t.TempDir()
	catalogtest.Generate(t, root, 1)
	path := filepath.Join(root, "images/img00/env.yaml")
	src, _ := os.ReadFile(path)
	edited := bytes.Replace(src, []byte("version: 1.0.0\n"), []byte("# the release\nversion: \"1.3.0-rc.1\" # next: 1.3.0\nrefresh: weekly\n"), 1)
	if err := os.WriteFile(path, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	cat := loadCatalog(t, root)
	b, err := cascade.BumpImage(cat, "img00")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(string(edited), `version: "1.3.0-rc.1" # next`, `version: "1.3.0" # next`, 1)
	if b.From != "1.3.0-rc.1" || b.To != "1.3.0" || b.Content != want {
		t.Fatalf("bump %s -> %s:\n%s", b.From, b.To, b.Content)
	}
	tick := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	c, err := cascade.ForRefresh(cat, "img00", "1.2.0", tick.Add(-9*24*time.Hour), tick)
	if err != nil || c.Branch != "imagebot/refresh/img00-20261130-0000" || !strings.Contains(c.Title, "(weekly)") || c.Files[0].Content != want {
		t.Fatalf("refresh change %+v, %v", c, err)
	}
	if _, err := cascade.BumpImage(cat, "nope"); err == nil {
		t.Error("bumped an image that is not in the catalog")
	}
}
