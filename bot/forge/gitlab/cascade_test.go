package gitlab_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/runner/cascade"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/catalog/catalogtest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
)

// TestABaseReleaseOpensExactlyOneBumpMergeRequest goes from the bucket to
// the forge: img00 is released at 1.1.0 while img01 and img02 are built
// on 1.0.0; the cascade opens one merge request bumping both env.yaml
// versions (or, grouped per image, one each); a second pass (another
// tick, a replayed event) opens nothing; merging puts the bumps on main.
func TestABaseReleaseOpensExactlyOneBumpMergeRequest(t *testing.T) {
	for _, g := range []cascade.Grouping{cascade.PerBase, cascade.PerImage} {
		t.Run(string(g), func(t *testing.T) { testCascade(t, g) })
	}
}

func testCascade(t *testing.T, group cascade.Grouping) {
	ctx := context.Background()
	root := t.TempDir()
	catalogtest.Generate(t, root, 5) // img00, a base of img01..img04
	cat, diags := catalog.Load(root)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	st, err := local.New(store.LocalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	put := func(image, version, base, on string) {
		m := fmt.Sprintf(`{"image":%q,"version":%q,"release":true}`, image, version)
		if base != "" {
			m = fmt.Sprintf(`{"image":%q,"version":%q,"release":true,"base_image":{"image":%q,"version":%q}}`, image, version, base, on)
		}
		if _, err := st.Put(ctx, store.Release(image, version).Key(store.ManifestName), strings.NewReader(m), int64(len(m)), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put("img00", "1.0.0", "", "")
	put("img00", "1.1.0", "", "")
	put("img01", "1.0.1", "img00", "1.0.0")
	put("img02", "1.0.2", "img00", "1.0.0")
	put("img03", "1.0.3", "img00", "1.1.0")

	srv := gitlabtest.New(t, token)
	for _, img := range []string{"img00", "img01", "img02", "img03", "img04"} {
		b, err := os.ReadFile(filepath.Join(root, "images", img, "env.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		srv.SetFile(42, "main", "images/"+img+"/env.yaml", string(b))
	}
	g := newAdapter(t, srv.URL)
	r := forge.Repo{ID: 42, FullName: "infra/images", DefaultBranch: "main"}

	var numbers []int
	for pass := 0; pass < 2; pass++ {
		outdated, err := cascade.Check(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		changes, err := cascade.Changes(ctx, cat, st, "img00", outdated, group)
		if err != nil || len(changes) == 0 {
			t.Fatalf("cascade: %+v, %v", changes, err)
		}
		for _, c := range changes {
			files := make([]forge.File, 0, len(c.Files))
			for _, f := range c.Files {
				files = append(files, forge.File{Path: f.Path, Content: f.Content})
			}
			mr, created, err := g.OpenChange(ctx, r, forge.Change{Branch: c.Branch, Title: c.Title, Body: c.Body, Message: c.Message, Files: files})
			if err != nil || created != (pass == 0) {
				t.Fatalf("pass %d: %+v, created %v, %v", pass, mr, created, err)
			}
			numbers = append(numbers, mr.Number)
		}
	}
	mrs := srv.MergeRequests(42)
	want := map[cascade.Grouping][]string{
		cascade.PerBase:  {"Rebuild img01, img02 on img00 1.1.0 imagebot/cascade/img00-1.1.0"},
		cascade.PerImage: {"Rebuild img01 on img00 1.1.0 imagebot/cascade/img01-on-img00-1.1.0", "Rebuild img02 on img00 1.1.0 imagebot/cascade/img02-on-img00-1.1.0"},
	}[group]
	if len(mrs) != len(want) || len(numbers) != 2*len(want) {
		t.Fatalf("merge requests %+v (numbers %v)", mrs, numbers)
	}
	for i, mr := range mrs {
		if got := mr.Title + " " + mr.HeadBranch; got != want[i] || numbers[i] != numbers[i+len(want)] {
			t.Errorf("merge request %d: %q (numbers %v), want %q", i, got, numbers, want[i])
		}
	}
	if d := srv.Description(42, mrs[len(mrs)-1].Number); !strings.Contains(d, "| `img02` | 1.0.2 | img00 1.0.0 | 1.0.3 |") {
		t.Errorf("description:\n%s", d)
	}
	for _, mr := range mrs {
		srv.Merge(42, mr.Number)
	}
	main := srv.Files(42, "main")
	for img, want := range map[string]string{"img01": "version: 1.0.2\n", "img02": "version: 1.0.3\n", "img03": "version: 1.0.3\n", "img00": "version: 1.0.0\n"} {
		if !strings.Contains(main["images/"+img+"/env.yaml"], want) {
			t.Errorf("%s on main after the merge:\n%s", img, main["images/"+img+"/env.yaml"])
		}
	}
}
