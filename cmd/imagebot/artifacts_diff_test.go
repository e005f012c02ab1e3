package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/imagediff"
	"github.com/imagebot/imagebot/runner/inventory"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
)

func publishWithInventory(t *testing.T, st store.Store, version string, disk int, pkgs ...inventory.Package) {
	t.Helper()
	data, err := inventory.Marshal(&inventory.Inventory{Image: "debian12-app", Version: version, PackageManager: "dpkg",
		OS: inventory.OS{ID: "debian", Version: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"}, Kernel: "6.1.0-28-amd64", Packages: pkgs})
	if err != nil {
		t.Fatal(err)
	}
	invName := "debian12-app-" + version + "." + inventory.Ext
	browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("debian12-app", version), Digest: "sha256:0123456789abcdef",
		Files: map[string][]byte{"debian12-app-" + version + ".qcow2": bytes.Repeat([]byte("d"), disk), invName: data},
		Modify: func(m *manifest.Manifest) {
			for i := range m.Files {
				if m.Files[i].Name == invName {
					m.Files[i].Format = "inventory"
				}
			}
		}})
}

// TestArtifactsDiff: a release that adds a package shows "+1 package" with
// its name and version against the one before, as text and as JSON.
func TestArtifactsDiff(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("data_dir: "+dir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := artifactStore(context.Background(), cfgFile, "")
	if err != nil {
		t.Fatal(err)
	}
	bash := inventory.Package{Name: "bash", Version: "5.2.15-2+b7", Arch: "amd64", Source: "bash"}
	publishWithInventory(t, st, "1.2.0", 1000, bash)
	publishWithInventory(t, st, "1.3.0", 1500, bash, inventory.Package{Name: "jq", Version: "1.6-2.1", Arch: "amd64", Source: "jq"})

	var out bytes.Buffer
	if err := artifacts(context.Background(), []string{"diff", "debian12-app@1.2.0", "debian12-app@1.3.0", "--config", cfgFile}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"debian12-app 1.2.0 -> 1.3.0: +1 package", "+ jq 1.6-2.1", "size qcow2  1000 B -> 1.5 KiB (+500 B)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("$ imagebot artifacts diff debian12-app@1.2.0 debian12-app@1.3.0\n%s", out.String())

	out.Reset()
	if err := artifacts(context.Background(), []string{"diff", "debian12-app@1.2.0", "latest", "--json", "--config", cfgFile}, &out); err != nil {
		t.Fatal(err)
	}
	var d imagediff.Diff
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	if d.NewVersion != "1.3.0" || len(d.Added) != 1 || d.Added[0].Name != "jq" || len(d.Removed)+len(d.Changed) != 0 {
		t.Errorf("json diff %+v", d)
	}

	err = artifacts(context.Background(), []string{"diff", "debian12-app@1.2.0", "debian12-app@9.9.9", "--config", cfgFile}, &out)
	if err == nil || !strings.Contains(err.Error(), "9.9.9") {
		t.Errorf("missing version: err = %v", err)
	}
}
