package catalog

import (
	"os"
	"path/filepath"
	"testing"
)

// Bad input gets diagnostics, never a panic.
func FuzzParseEnv(f *testing.F) {
	f.Add([]byte(goodEnv))
	f.Add([]byte("name: [\n"))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("a: &x {b: *x}\nname: *x\n"))
	f.Add([]byte("os: ~\nformats: {qcow2: 1}\nhardware: [1]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		parseEnv("web", "images/web/env.yaml", src)
	})
}

func FuzzTemplate(f *testing.F) {
	for _, p := range []string{"testdata/good/images/base/base.pkr.hcl", "testdata/good/images/web/web.pkr.hcl", "../../images/rocky9/rocky9.pkr.hcl"} {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte(`variable "x" { default = [1, "a"] }
locals { a = local.b
  b = local.a }
source "q" "a" { http_directory = [for s in var.x : "${s}/../kickstart"] }
build { sources = [source.q.a, 3] }`))
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		pt, tpl, _ := parseTemplate("x", "images/x/x.pkr.hcl", src)
		if pt != nil {
			findRefs([]*parsedTemplate{pt}, root, filepath.Join(root, "images", "x"), nil, tpl)
		}
	})
}
