package catalog

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Each fixture under testdata/ has exactly one broken thing; the catalog must
// name the file, line and column, and say what is wrong in words.
func TestLoadLocatesEachBrokenFixture(t *testing.T) {
	type want struct {
		file      string
		line, col int
		message   string
	}
	tests := []struct {
		fixture string
		want    []want
	}{
		{"bad-hcl", []want{{"images/bad/bad.pkr.hcl", 7, 1, "Missing item separator"}}},
		{"unknown-key", []want{{"images/web/env.yaml", 10, 1, `unknown key "colour" in env.yaml`}}},
		{"not-semver", []want{{"images/web/env.yaml", 2, 10, `version "1.2" is not a semantic version: write MAJOR.MINOR.PATCH`}}},
		{"missing-base", []want{{"images/app/env.yaml", 10, 7, `base image "debain12" does not exist (did you mean "debian12"?)`}}},
		{"base-cycle", []want{
			{"images/a/env.yaml", 10, 7, "base cycle: a -> b -> a"},
			{"images/b/env.yaml", 10, 7, "base cycle: b -> a -> b"},
		}},
		{"missing-input", []want{{"images/web/env.yaml", 11, 5, `input "kickstart/web/ks.cfg" does not exist in the repository`}}},
		{"bash-syntax", []want{{"images/web/provisioner.sh", 5, 1, "shell syntax error (bash -n): syntax error near unexpected token `fi'"}}},
		{"name-mismatch", []want{{"images/web/env.yaml", 1, 7, `name "webserver" does not match the image's directory images/web: it must be "web"`}}},
		{"missing-check", []want{{"images/web/env.yaml", 12, 5, `field checks: "nosuch" needs the file resources/checks/nosuch.yaml`}}},
		{"bad-check", []want{
			{"images/web/env.yaml", 10, 10, `field checks: "web": resources/checks/web.yaml: line 3: unknown resource type "process"`},
		}},
		{"unresolved-ref", []want{{"images/web/web.pkr.hcl", 13, 20, "the path given to file cannot be resolved statically"}}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			cat, diags := Load(filepath.Join("testdata", tt.fixture))
			if len(diags) != len(tt.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%s", len(diags), len(tt.want), diags.Error())
			}
			for i, w := range tt.want {
				d := diags[i]
				if d.File != w.file || d.Line != w.line || d.Column != w.col || d.Severity != SeverityError {
					t.Errorf("diagnostic %d at %s:%d:%d (%s), want error at %s:%d:%d", i, d.File, d.Line, d.Column, d.Severity, w.file, w.line, w.col)
				}
				if !strings.Contains(d.Message, w.message) {
					t.Errorf("message %q does not say %q", d.Message, w.message)
				}
				if img := cat.Images[d.Image]; img == nil || img.Digest != "" {
					t.Errorf("image %q of a diagnostic: want it in the catalog without a digest, got %+v", d.Image, img)
				}
			}
		})
	}
}

func TestLoadGoodFixture(t *testing.T) {
	cat, diags := Load("testdata/good")
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", diags.Error())
	}
	wantOrder := []string{"base", "declared", "plain", "web", "child", "grandchild"}
	if !reflect.DeepEqual(cat.Order, wantOrder) {
		t.Errorf("order %v, want %v (bases first, then by name)", cat.Order, wantOrder)
	}
	base := cat.Images["base"]
	if want := []string{"images/base/base.pkr.hcl", "images/base/env.yaml", "images/base/provisioner.sh", "kickstart/base/ks.cfg"}; !reflect.DeepEqual(base.Inputs, want) {
		t.Errorf("base inputs %v, want %v", base.Inputs, want)
	}
	if len(base.Template.Files) != 1 || base.Template.Files[0].Attr != "templatefile()" || base.Template.Files[0].Pos.Line != 9 {
		t.Errorf("base template files %+v, want kickstart/base/ks.cfg from templatefile() on line 9", base.Template.Files)
	}
	// web's script path comes from a variable declared in a second file and
	// set in web.auto.pkrvars.hcl: Packer reads the directory, so must we.
	web := cat.Images["web"]
	if got := web.Inputs; !contains(got, "resources/motd.sh") {
		t.Errorf("web inputs %v lack resources/motd.sh (its provisioner script)", got)
	}
	if len(web.Template.Files) != 1 || web.Template.Files[0].Attr != "script" || len(web.Template.Variables) != 1 || web.Template.Variables[0].Pos.File != "images/web/variables.pkr.hcl" {
		t.Errorf("web template %+v", web.Template)
	}
	if got := cat.Images["declared"].Inputs; !contains(got, "kickstart/declared/ks.cfg") {
		t.Errorf("declared inputs %v lack kickstart/declared/ks.cfg (a declared input directory)", got)
	}
	for _, n := range cat.Order {
		if d := cat.Images[n].Digest; !strings.HasPrefix(d, "sha256:") || len(d) != 71 {
			t.Errorf("image %s digest %q", n, d)
		}
	}
	src := cat.Images["base"].Template
	if len(src.Sources) != 1 || src.Sources[0].Ref() != "null.x" || len(src.Builds) != 1 || !reflect.DeepEqual(src.Builds[0].Sources, []string{"null.x"}) {
		t.Errorf("template sources/builds: %+v %+v", src.Sources, src.Builds)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The repository's own images must load without errors.
func TestLoadRepositoryImages(t *testing.T) {
	cat, diags := Load("../..")
	if diags.HasErrors() {
		t.Fatalf("the repository's images have errors:\n%s", diags.Error())
	}
	rocky := cat.Images["rocky9"]
	if rocky == nil {
		t.Fatal("images/rocky9 missing")
	}
	for _, want := range []string{"kickstart/rocky9/ks.cfg", "resources/sshd/99-imagebot.conf"} {
		if !contains(rocky.Inputs, want) {
			t.Errorf("rocky9 inputs %v lack %s", rocky.Inputs, want)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
