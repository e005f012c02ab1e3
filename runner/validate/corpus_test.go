package validate

import (
	"context"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
)

// Public templates (testdata/corpus/README.md) validate with no error: the
// catalog and `packer validate` accept what Packer accepts. Packer runs
// offline (its own network namespace), with the plugins of the runner's
// plugin directory; deploy/test.sh runs it on the default Packer and again
// on Packer 1.9.4.
func TestCorpusValidatesOffline(t *testing.T) {
	rep, err := Run(context.Background(), Options{Root: "testdata/corpus", Packer: testenv.Tool(t, "packer"), PluginDir: testenv.PluginDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Images) != 4 {
		t.Errorf("checked %v, want the 4 corpus images", rep.Images)
	}
	for _, d := range rep.Diagnostics {
		t.Logf("%s", d)
	}
	if !rep.OK() {
		t.Errorf("%d false error(s) on %s", rep.Errors, rep.Packer)
	}
}
