package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A valid check file that no inputs: entry covers loads, with a warning at
// the checks: line saying an edit would not rebuild the image.
func TestCheckFileNotAnInputWarns(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"images/web/web.pkr.hcl", "images/web/provisioner.sh", "resources/checks/web.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata/missing-check", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, f), string(data))
	}
	env, err := os.ReadFile("testdata/bad-check/images/web/env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "images/web/env.yaml"), string(env))
	cat, diags := Load(root)
	if diags.HasErrors() || len(diags) != 1 {
		t.Fatalf("want one warning, got:\n%s", diags.Error())
	}
	d := diags[0]
	if d.Severity != SeverityWarning || d.File != "images/web/env.yaml" || d.Line != 10 ||
		!strings.Contains(d.Message, "resources/checks/web.yaml is not listed in inputs") {
		t.Errorf("diagnostic %s (%s)", d, d.Severity)
	}
	if cat.Images["web"].Digest == "" {
		t.Error("a warning must not withhold the digest")
	}
}

func TestCoveredByInputs(t *testing.T) {
	for _, tc := range []struct {
		inputs []string
		want   bool
	}{
		{[]string{"resources/checks"}, true},
		{[]string{"resources/checks/web.yaml"}, true},
		{[]string{"resources/"}, true},
		{[]string{"resources/check"}, false},
		{nil, false},
	} {
		if got := coveredByInputs("resources/checks/web.yaml", tc.inputs); got != tc.want {
			t.Errorf("coveredByInputs(%v) = %v", tc.inputs, got)
		}
	}
}
