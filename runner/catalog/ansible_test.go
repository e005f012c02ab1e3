package catalog

import (
	"slices"
	"strings"
	"testing"
)

const ansibleSource = `
source "qemu" "a" {
  iso_url      = "https://example.com/x.iso"
  iso_checksum = "none"
  ssh_username = "root"
}
`

// Every file Ansible reads is an input of the image; a reference that
// cannot be resolved is an error naming it.
func TestAnsibleInputs(t *testing.T) {
	files := map[string]string{
		"resources/ansible/site.yml":                      "- hosts: all\n",
		"resources/ansible/host_vars/default.yml":         "a: 1\n",
		"resources/ansible/group_vars/all.yml":            "b: 2\n",
		"resources/ansible/roles/web/tasks/main.yml":      "- debug: msg=hi\n",
		"resources/ansible/requirements.yml":              "roles: []\n",
		"resources/ansible/ansible.cfg":                   "[defaults]\n",
		"resources/ansible/extra_roles/db/tasks/main.yml": "- debug: msg=db\n",
		"resources/scripts/common.sh":                     "X=1\n",
		"images/x/publish.sh":                             "#!/bin/bash\n. ../../resources/scripts/common.sh\n",
	}
	tests := []struct {
		name    string
		prov    string
		inputs  []string // must be among the image's inputs
		problem string   // the one error expected ("" for none)
		line    int
	}{
		{"playbook neighbours, galaxy file, roles_path, ANSIBLE_CONFIG", `
  provisioner "ansible" {
    playbook_file    = "../../resources/ansible/site.yml"
    galaxy_file      = "../../resources/ansible/requirements.yml"
    roles_path       = "../../resources/ansible/extra_roles"
    ansible_env_vars = ["ANSIBLE_CONFIG=../../resources/ansible/ansible.cfg", "ANSIBLE_NOCOLOR=1"]
  }`, []string{
			"resources/ansible/site.yml", "resources/ansible/host_vars/default.yml", "resources/ansible/group_vars/all.yml",
			"resources/ansible/roles/web/tasks/main.yml", "resources/ansible/requirements.yml",
			"resources/ansible/extra_roles/db/tasks/main.yml", "resources/ansible/ansible.cfg",
		}, "", 0},
		{"ANSIBLE_CONFIG from a value only the build knows", `
  provisioner "ansible" {
    playbook_file    = "../../resources/ansible/site.yml"
    ansible_env_vars = ["ANSIBLE_CONFIG=${var.cfg}"]
  }`, nil, "ANSIBLE_CONFIG in ansible_env_vars cannot be resolved statically", 20},
		{"a missing galaxy file", `
  provisioner "ansible" {
    playbook_file = "../../resources/ansible/site.yml"
    galaxy_file   = "../../resources/ansible/gone.yml"
  }`, nil, "galaxy_file refers to resources/ansible/gone.yml, which does not exist", 20},
		{"a file a post-processor script sources", `
  post-processor "shell-local" {
    script = "publish.sh"
  }`, []string{"resources/scripts/common.sh"}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := ansibleSource + `
variable "cfg" {
  type = string
}
variable "extra" {
  type    = string
  default = ""
}
build {
  sources = ["source.qemu.a"]
` + tt.prov + "\n}\n"
			cat, diags := loadOne(t, tpl, "", files)
			if tt.problem == "" {
				if len(diags) > 0 {
					t.Fatalf("diagnostics:\n%s", diags.Error())
				}
			} else if len(diags) != 1 || !strings.Contains(diags[0].Message, tt.problem) || diags[0].Line != tt.line {
				t.Fatalf("diagnostics:\n%s\nwant one error at line %d saying %q", diags.Error(), tt.line, tt.problem)
			}
			in := cat.Images["x"].Inputs
			for _, want := range tt.inputs {
				if !slices.Contains(in, want) {
					t.Errorf("input %s missing from %v", want, in)
				}
			}
		})
	}
}
