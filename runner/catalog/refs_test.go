package catalog

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// A template's references are found wherever Packer reads a local file, and
// anything that reaches into kickstart/ or resources/ without being
// resolvable is an error rather than a file silently missing from the digest.
func TestTemplateReferences(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"kickstart/k/ks.cfg", "kickstart/k/extra.cfg", "resources/r/a.conf", "resources/r/b.conf", "images/x/provisioner.sh", "images/x/files/motd"} {
		writeFile(t, filepath.Join(root, f), "x\n")
	}
	tests := []struct {
		name    string
		body    string
		vars    map[string]string
		refs    []string // Path@Attr
		problem string   // substring of the only error, "" for none
	}{
		{"http_directory via path.root", `source "qemu" "a" { http_directory = "${path.root}/../../kickstart/k" }`, nil,
			[]string{"kickstart/k@http_directory"}, ""},
		{"http_content with file()", `source "qemu" "a" { http_content = { "/ks.cfg" = file("../../kickstart/k/ks.cfg") } }`, nil,
			[]string{"kickstart/k/ks.cfg@file()"}, ""},
		{"floppy_files glob and cd_files", `source "qemu" "a" {
  floppy_files = ["../../kickstart/k/*.cfg"]
  cd_files     = ["../../resources/r/a.conf"]
  floppy_dirs  = ["files"]
}`, nil, []string{"kickstart/k/extra.cfg@floppy_files", "kickstart/k/ks.cfg@floppy_files", "resources/r/a.conf@cd_files", "images/x/files@floppy_dirs"}, ""},
		{"provisioner source, script, scripts", `build {
  provisioner "file" {
    source      = "${var.repo_root}/resources/r/a.conf"
    destination = "/etc/a.conf"
  }
  provisioner "shell" { script = "provisioner.sh" }
  provisioner "shell" { scripts = ["../../resources/r/b.conf"] }
}`, nil, []string{"resources/r/a.conf@source", "images/x/provisioner.sh@script", "resources/r/b.conf@scripts"}, ""},
		{"variable default resolved, env.yaml wins", `variable "ks" {
  type    = string
  default = "../../kickstart/nope.cfg"
}
source "qemu" "a" { http_content = { "/ks" = file(var.ks) } }`, map[string]string{"ks": "../../kickstart/k/ks.cfg"},
			[]string{"kickstart/k/ks.cfg@file()"}, ""},
		{"locals resolved", `locals { dir = "${path.root}/../../resources/r" }
build {
  provisioner "file" {
    source      = "${local.dir}/a.conf"
    destination = "/tmp/a"
  }
}`, nil, []string{"resources/r/a.conf@source"}, ""},
		{"a plain string into resources", `build {
  provisioner "shell-local" { inline = ["cat ${path.root}/../../resources/r/b.conf"] }
}`, nil, []string{"resources/r/b.conf@path"}, ""},
		{"URLs and guest paths are not files", `source "qemu" "a" {
  boot_command = ["inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/kickstart/ks.cfg<enter>"]
}
build {
  provisioner "shell" { inline = ["ls /etc/resources/x", "curl http://${var.host}/resources/x"] }
}`, nil, nil, ""},
		{"download direction is a guest path", `build {
  provisioner "file" {
    direction   = "download"
    source      = "/var/log/${var.any}"
    destination = "out.log"
  }
}`, nil, nil, ""},
		{"unresolvable http_directory", `source "qemu" "a" { http_directory = var.dir }`, nil, nil,
			"http_directory cannot be resolved statically"},
		{"unresolvable string into kickstart", `build {
  provisioner "shell-local" { inline = ["cp ${var.somewhere}/kickstart/k/ks.cfg /tmp"] }
}`, nil, nil, "reaches into kickstart/ or resources/ through a value that cannot be resolved statically"},
		{"injected variable is not known statically", `source "qemu" "a" { http_content = { "/ks" = file("${var.output_directory}/../kickstart/k/ks.cfg") } }`, nil, nil,
			"the path given to file cannot be resolved statically"},
		{"missing file", `source "qemu" "a" { http_directory = "../../kickstart/gone" }`, nil, nil,
			"http_directory refers to kickstart/gone, which does not exist"},
		{"glob matching nothing", `source "qemu" "a" { floppy_files = ["../../kickstart/k/*.ks"] }`, nil, nil,
			"matches no file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.body
			for _, v := range []string{"dir", "somewhere", "host", "any", "output_directory", "repo_root"} {
				if !strings.Contains(src, `variable "`+v+`"`) {
					src += "\nvariable \"" + v + "\" {\n  type = string\n}\n"
				}
			}
			pt, tpl, diags := parseTemplate("x", "images/x/x.pkr.hcl", []byte(src))
			if pt == nil {
				t.Fatalf("parse: %s", diags.Error())
			}
			vars := map[string]cty.Value{}
			for k, v := range tt.vars {
				vars[k] = cty.StringVal(v)
			}
			refs, rd := findRefs([]*parsedTemplate{pt}, root, filepath.Join(root, "images/x"), vars, tpl)
			var got []string
			for _, r := range refs {
				got = append(got, r.Path+"@"+r.Attr)
			}
			if len(tt.refs) > 0 || len(got) > 0 {
				if !reflect.DeepEqual(sortedCopy(got), sortedCopy(tt.refs)) {
					t.Errorf("refs %v, want %v", got, tt.refs)
				}
			}
			if tt.problem == "" {
				if len(rd) > 0 {
					t.Errorf("unexpected diagnostics:\n%s", rd.Error())
				}
				return
			}
			if len(rd) != 1 || !strings.Contains(rd[0].Message, tt.problem) || rd[0].Line == 0 || rd[0].Column == 0 || rd[0].File != "images/x/x.pkr.hcl" {
				t.Errorf("diagnostics:\n%s\nwant one located error saying %q", rd.Error(), tt.problem)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
