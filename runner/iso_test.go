package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/testenv"
)

// `imagebot build rocky9` on a runner without the Rocky ISO fails in
// seconds, before any machine starts, naming the ISO and how to provide it.
func TestBuildWithoutISOFailsFast(t *testing.T) {
	cat, diags := catalog.Load(testenv.RepoRoot(t))
	if diags.HasErrors() {
		t.Fatalf("catalog: %v", diags)
	}
	r, cfg := testRunner(t, func(c *Config) { c.ISODir = t.TempDir() })
	var evs events
	start := time.Now()
	res, err := r.Build(context.Background(), cat, Request{Image: "rocky9", OutDir: t.TempDir()}, evs.add)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if res.Status != StatusFailed {
		t.Fatalf("status %s, want failed: %s", res.Status, res.Error)
	}
	for _, want := range []string{
		"rocky9", "Rocky-9.4-x86_64-minimal.iso", "sha256:ee3ac97f",
		cfg.ISODir, filepath.Join(cfg.CacheDir, "iso"), `isos: {"Rocky-9.4-x86_64-minimal.iso": PATH_OR_URL}`,
	} {
		if !strings.Contains(res.Error, want) {
			t.Errorf("error %q does not say %q", res.Error, want)
		}
	}
	if took > 10*time.Second {
		t.Errorf("failing took %s; it must not start a machine", took)
	}
	if n := len(evs.list()); n != 0 {
		t.Errorf("packer ran (%d events)", n)
	}
	log, _ := os.ReadFile(res.LogPath)
	if !strings.Contains(string(log), "Rocky-9.4-x86_64-minimal.iso") {
		t.Errorf("build log does not name the ISO:\n%s", log)
	}
}

func TestResolveISO(t *testing.T) {
	root := t.TempDir()
	isoDir, cache := filepath.Join(root, "isos"), filepath.Join(root, "cache")
	elsewhere := filepath.Join(root, "elsewhere.iso")
	for _, p := range []string{filepath.Join(isoDir, "in-dir.iso"), filepath.Join(cache, "iso", "in-cache.iso"), elsewhere,
		filepath.Join(root, "images", "img", "beside.iso")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("iso"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		def     string            // the template's iso_url default ("" : none declared)
		env     string            // env.yaml's iso_url
		isos    map[string]string // runner configuration
		want    string
		wantErr string
	}{
		{name: "no iso_url", want: ""},
		{name: "ISO directory", def: "https://example.invalid/x/in-dir.iso", want: filepath.Join(isoDir, "in-dir.iso")},
		{name: "cache directory", def: "in-cache.iso", want: filepath.Join(cache, "iso", "in-cache.iso")},
		{name: "configured path", def: "https://example.invalid/big.iso", isos: map[string]string{"big.iso": elsewhere}, want: elsewhere},
		{name: "configured URL", def: "https://example.invalid/big.iso", isos: map[string]string{"big.iso": "http://127.0.0.1:1/big.iso"}, want: "http://127.0.0.1:1/big.iso"},
		{name: "env.yaml wins", def: "in-dir.iso", env: "in-cache.iso", want: filepath.Join(cache, "iso", "in-cache.iso")},
		{name: "beside the image", def: "beside.iso", want: filepath.Join(root, "images", "img", "beside.iso")},
		{name: "configured path missing", def: "big.iso", isos: map[string]string{"big.iso": "/nonexistent/big.iso"}, wantErr: "/nonexistent/big.iso, which does not exist"},
		{name: "missing", def: "https://example.invalid/x/gone.iso", wantErr: "needs the installer ISO gone.iso (template iso_url https://example.invalid/x/gone.iso, sha256:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := &catalog.Image{Name: "img", Dir: "images/img", Env: catalog.Env{Variables: map[string]string{}}}
			if tt.def != "" {
				img.Template.Variables = []catalog.Variable{
					{Name: "iso_url", Default: `"` + tt.def + `"`, HasDefault: true},
					{Name: "iso_checksum", Default: `"sha256:00"`, HasDefault: true},
				}
			}
			if tt.env != "" {
				img.Env.Variables["iso_url"] = tt.env
			}
			b := &run{
				r:   &Runner{cfg: Config{ISODir: isoDir, CacheDir: cache, ISOs: tt.isos}},
				cat: &catalog.Catalog{Root: root}, img: img, imageDir: filepath.Join(root, img.Dir),
			}
			got, err := b.resolveISO()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("resolveISO = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
