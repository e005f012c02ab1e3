package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/catalog/catalogtest"
	"github.com/imagebot/imagebot/runner/testenv"
)

func run(t testing.TB, root string, images ...string) *Report {
	t.Helper()
	rep, err := Run(context.Background(), Options{Root: root, Images: images, Packer: testenv.Tool(t, "packer"), PluginDir: testenv.PluginDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func find(rep *Report, file string) *catalog.Diagnostic {
	for i, d := range rep.Diagnostics {
		if d.File == file {
			return &rep.Diagnostics[i]
		}
	}
	return nil
}

// Problems only Packer sees (an argument its builder does not know, a file
// `packer fmt` would rewrite) come back located like the catalog's own.
func TestPackerProblemsAreLocated(t *testing.T) {
	rep := run(t, "testdata/packer-errors")
	if rep.Errors != 1 || rep.Warnings != 1 || rep.OK() {
		t.Fatalf("want 1 error and 1 warning (packer fmt), got:\n%s", rep.Diagnostics.Error())
	}
	web := find(rep, "images/web/web.pkr.hcl")
	if web == nil || web.Line != 12 || web.Column != 3 || !strings.Contains(web.Message, `Unsupported argument`) || !strings.Contains(web.Message, `"bogus_option"`) {
		t.Errorf("web: got %v, want images/web/web.pkr.hcl:12:3 about bogus_option", web)
	}
	tidy := find(rep, "images/tidy/tidy.pkr.hcl")
	if tidy == nil || tidy.Line != 12 || tidy.Severity != catalog.SeverityWarning || !strings.Contains(tidy.Message, "packer fmt images/tidy") {
		t.Errorf("tidy: got %v, want a warning at images/tidy/tidy.pkr.hcl:12 asking for packer fmt", tidy)
	}
}

// validate.fmt: error makes formatting differences errors again.
func TestFmtStrict(t *testing.T) {
	rep, err := Run(context.Background(), Options{Root: "testdata/packer-errors", Images: []string{"tidy"}, Packer: testenv.Tool(t, "packer"), PluginDir: testenv.PluginDir(t), Fmt: "error"})
	if err != nil {
		t.Fatal(err)
	}
	if tidy := find(rep, "images/tidy/tidy.pkr.hcl"); tidy == nil || tidy.Severity != catalog.SeverityError || rep.OK() {
		t.Errorf("want an error for the unformatted file, got:\n%s", rep.Diagnostics.Error())
	}
}

func TestRepositoryImagesPass(t *testing.T) {
	rep := run(t, testenv.RepoRoot(t))
	if !rep.OK() {
		t.Fatalf("the repository's images do not validate:\n%s", rep.Diagnostics.Error())
	}
	if len(rep.Images) < 1 {
		t.Fatal("no images checked")
	}
}

func TestUnknownImageIsNamedWithClosestMatch(t *testing.T) {
	rep := run(t, "testdata/packer-errors", "tidy", "webb")
	if len(rep.Images) != 1 || rep.Images[0] != "tidy" {
		t.Errorf("checked %v, want [tidy]", rep.Images)
	}
	d := find(rep, "images/webb")
	if d == nil || !strings.Contains(d.Message, `no image named "webb" (did you mean "web"?)`) {
		t.Errorf("got %v", rep.Diagnostics)
	}
	if find(rep, "images/web/web.pkr.hcl") != nil {
		t.Error("a problem of an image not asked for was reported")
	}
}

func TestVariablesInjectedOnlyWhereDeclared(t *testing.T) {
	cat, diags := catalog.Load("testdata/packer-errors")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	tmp := t.TempDir()
	vars, err := Variables(cat, cat.Images["web"], tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(vars) != 2 || vars["api_token"] != sensitivePlaceholder || vars["output_directory"] != filepath.Join(tmp, "output") {
		t.Errorf("vars %v: want output_directory (fresh) and the sensitive placeholder only", vars)
	}
	if _, err := os.Stat(vars["output_directory"]); !os.IsNotExist(err) {
		t.Errorf("output_directory must not exist yet: %v", err)
	}
}

// BenchmarkValidate50Images: the catalog's checks plus packer validate and
// fmt for 50 generated images, in parallel bounded by NumCPU.
func BenchmarkValidate50Images(b *testing.B) {
	root := b.TempDir()
	packer := testenv.Tool(b, "packer")
	plugins := testenv.PluginDir(b)
	catalogtest.Generate(b, root, 50)
	b.ResetTimer()
	for range b.N {
		rep, err := Run(context.Background(), Options{Root: root, Packer: packer, PluginDir: plugins})
		if err != nil {
			b.Fatal(err)
		}
		if !rep.OK() || len(rep.Images) != 50 {
			b.Fatalf("%d images, %d errors:\n%s", len(rep.Images), rep.Errors, rep.Diagnostics.Error())
		}
	}
}

// On failure packer 1.9 sends its warnings and all its errors as one
// ui,error line (captured from a real run): each becomes its own diagnostic.
func TestParseValidateSplitsCombinedMessages(t *testing.T) {
	out, err := os.ReadFile("testdata/unset-variables.machine.txt")
	if err != nil {
		t.Fatal(err)
	}
	img := &catalog.Image{Name: "centos7-base", Dir: "images/centos7-base", Template: catalog.Template{
		Path:      "images/centos7-base/centos7-base.pkr.hcl",
		Variables: []catalog.Variable{{Name: "network", Pos: catalog.Pos{File: "images/centos7-base/centos7-base.pkr.hcl", Line: 80, Column: 1}}},
	}}
	diags := parseValidate(t.TempDir(), img, string(out))
	if len(diags) < 5 || diags.Warnings() != 0 {
		t.Fatalf("got %d diagnostics (%d warnings):\n%s", len(diags), diags.Warnings(), diags.Error())
	}
	for _, d := range diags {
		if d.Severity != catalog.SeverityError || !strings.HasPrefix(d.Message, `packer validate: Unset variable "`) || strings.Contains(d.Message, "Bundled") {
			t.Errorf("diagnostic %s", d)
		}
		if strings.Contains(d.Message, `"network"`) && d.Line != 80 {
			t.Errorf("unset variable not located at its declaration: %s", d)
		}
	}
}

// An unchanged image's packer result comes from the cache; a changed one
// (here: an argument packer rejects) is validated again.
func TestCacheRevalidatesOnlyChangedImages(t *testing.T) {
	root, cacheDir := t.TempDir(), t.TempDir()
	catalogtest.Generate(t, root, 3)
	packer := testenv.Tool(t, "packer")
	plugins := testenv.PluginDir(t)
	validateAll := func() *Report {
		rep, err := Run(context.Background(), Options{Root: root, Packer: packer, PluginDir: plugins, CacheDir: cacheDir})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := validateAll(); rep.Cached != 0 || !rep.OK() {
		t.Fatalf("first run: %d cached, %s", rep.Cached, rep.Diagnostics.Error())
	}
	if rep := validateAll(); rep.Cached != 3 || !rep.OK() {
		t.Fatalf("second run: %d cached, want 3", rep.Cached)
	}
	tpl := filepath.Join(root, "images/img01/img01.pkr.hcl")
	src, err := os.ReadFile(tpl)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(src), `  ssh_username = "root"`, `  ssh_username = "root"`+"\n"+`  no_such_arg  = 1`, 1)
	if err := os.WriteFile(tpl, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := validateAll()
	if rep.Cached != 2 {
		t.Errorf("after changing img01: %d cached, want 2", rep.Cached)
	}
	if d := find(rep, "images/img01/img01.pkr.hcl"); d == nil || d.Line != 13 || !strings.Contains(d.Message, "no_such_arg") {
		t.Errorf("the changed image's new error was not reported: %s", rep.Diagnostics.Error())
	}
}

// BenchmarkValidate50ImagesCached: the same 50 images when nothing changed
// since the last run (the bot validating a merge request that touches none).
func BenchmarkValidate50ImagesCached(b *testing.B) {
	root, cacheDir := b.TempDir(), b.TempDir()
	packer := testenv.Tool(b, "packer")
	plugins := testenv.PluginDir(b)
	catalogtest.Generate(b, root, 50)
	if _, err := Run(context.Background(), Options{Root: root, Packer: packer, PluginDir: plugins, CacheDir: cacheDir}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		rep, err := Run(context.Background(), Options{Root: root, Packer: packer, PluginDir: plugins, CacheDir: cacheDir})
		if err != nil || rep.Cached != 50 || !rep.OK() {
			b.Fatalf("cached %d, err %v", rep.Cached, err)
		}
	}
}
