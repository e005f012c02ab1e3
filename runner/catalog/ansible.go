package catalog

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Ansible reads more than the playbook Packer is given: the inventory
// variables beside it, roles from roles_path or a roles/ directory beside
// it, a galaxy requirements file, and its configuration (ANSIBLE_CONFIG or
// ansible.cfg in Packer's working directory, the image directory, which is
// an input already). Each of those becomes an input of the image, or the
// template gets an error naming the reference that cannot be resolved.

// Attributes of the ansible and ansible-local provisioners naming one local
// file or directory, or a list of them.
var ansiblePathAttrs = map[string]bool{
	"galaxy_file": true, "roles_path": true, "collections_path": true, // ansible
	"playbook_dir": true, "playbook_paths": true, "role_paths": true, // ansible-local
	"group_vars": true, "host_vars": true, "inventory_file": true,
	"inventory_directory": true,
}

// Environment variables of ansible_env_vars that name local paths.
var ansibleEnvPaths = map[string]bool{
	"ANSIBLE_CONFIG": true, "ANSIBLE_ROLES_PATH": true, "ANSIBLE_COLLECTIONS_PATH": true,
	"ANSIBLE_COLLECTIONS_PATHS": true, "ANSIBLE_INVENTORY": true, "ANSIBLE_VAULT_PASSWORD_FILE": true,
}

// ansible records the files an ansible or ansible-local provisioner reads
// besides those already handled (playbook_file).
func (f *refFinder) ansible(b *hclsyntax.Block) {
	for _, name := range sortedKeys(b.Body.Attributes) {
		a := b.Body.Attributes[name]
		switch {
		case ansiblePathAttrs[name]:
			f.pathAttr(name, a.Expr)
		case name == "playbook_file":
			f.playbookDirs(a.Expr)
		case name == "ansible_env_vars":
			f.ansibleEnv(a.Expr)
		}
	}
}

// playbookDirs adds what Ansible finds beside a playbook by convention:
// host_vars/, group_vars/ and roles/ (and ansible.cfg, when the playbook
// lies outside the image directory and Packer's cwd is not where Ansible
// would look for it: only the cwd's counts, so nothing is added for it).
func (f *refFinder) playbookDirs(e hclsyntax.Expression) {
	val, d := e.Value(f.ctx)
	if d.HasErrors() || !val.IsKnown() || val.IsNull() || val.Type() != cty.String {
		return // pathAttr already reported the playbook itself
	}
	dir := filepath.Dir(f.abs(val.AsString()))
	pos := f.pt.pos(e.Range())
	for _, sub := range []string{"host_vars", "group_vars", "roles"} {
		f.addPath("playbook_file ("+sub+"/)", filepath.Join(dir, sub), pos, false)
	}
}

// ansibleEnv reads ansible_env_vars = ["ANSIBLE_CONFIG=...", ...].
func (f *refFinder) ansibleEnv(e hclsyntax.Expression) {
	tuple, ok := e.(*hclsyntax.TupleConsExpr)
	if !ok {
		// A local or variable holding the list: its entries share its position.
		val, d := e.Value(f.ctx)
		pos := f.pt.pos(e.Range())
		if d.HasErrors() || !val.IsWhollyKnown() || val.IsNull() || !val.CanIterateElements() {
			f.diags = append(f.diags, errorAt(f.pt.image, pos, "ansible_env_vars cannot be resolved statically, so the files Ansible is told to read (ANSIBLE_CONFIG, ANSIBLE_ROLES_PATH, ...) cannot enter the image's digest: write the list out"))
			return
		}
		for it := val.ElementIterator(); it.Next(); {
			_, v := it.Element()
			if v.IsNull() || v.Type() != cty.String {
				continue
			}
			name, value, _ := strings.Cut(v.AsString(), "=")
			if ansibleEnvPaths[name] {
				for _, p := range filepath.SplitList(value) {
					f.addPath("ansible_env_vars "+name, p, pos, true)
				}
			}
		}
		return
	}
	for _, el := range tuple.Exprs {
		pos := f.pt.pos(el.Range())
		name, value, known := f.envEntry(el)
		if !ansibleEnvPaths[name] {
			continue
		}
		if !known {
			f.diags = append(f.diags, errorAt(f.pt.image, pos, "%s in ansible_env_vars cannot be resolved statically, so the file cannot enter the image's digest: write a literal path relative to the image directory or ${path.root}", name))
			continue
		}
		for _, p := range filepath.SplitList(value) {
			f.addPath("ansible_env_vars "+name, p, pos, true)
		}
	}
}

// envEntry splits one "NAME=value" entry; known is false when the value
// (or the name) depends on something only the build knows.
func (f *refFinder) envEntry(e hclsyntax.Expression) (name, value string, known bool) {
	val, d := e.Value(f.ctx)
	if !d.HasErrors() && val.IsKnown() && !val.IsNull() && val.Type() == cty.String {
		name, value, _ = strings.Cut(val.AsString(), "=")
		return name, value, true
	}
	text := f.literalText(e)
	name, _, _ = strings.Cut(text, "=")
	return name, "", false
}

// A line of a shell script that reads another file: ". FILE" or "source FILE".
var sourceLineRE = regexp.MustCompile(`^\s*(?:\.|source)\s+("[^"]*"|'[^']*'|\S+)`)

// sourcedFiles adds the files a shell-local script sources: the script runs
// on this host, so what it reads is part of the build as much as the script.
func (f *refFinder) sourcedFiles(b *hclsyntax.Block) {
	var scripts []string
	for _, name := range []string{"script", "scripts"} {
		a, ok := b.Body.Attributes[name]
		if !ok {
			continue
		}
		val, d := a.Expr.Value(f.ctx)
		if d.HasErrors() || !val.IsWhollyKnown() || val.IsNull() {
			continue // pathAttr reported it
		}
		if val.Type() == cty.String {
			scripts = append(scripts, val.AsString())
		} else if val.CanIterateElements() {
			for it := val.ElementIterator(); it.Next(); {
				if _, v := it.Element(); !v.IsNull() && v.Type() == cty.String {
					scripts = append(scripts, v.AsString())
				}
			}
		}
	}
	for _, s := range scripts {
		f.scriptSources(f.abs(s))
	}
}

// scriptSources reads one script for sourced files. A sourced path is taken
// relative to Packer's working directory (the image directory), or to the
// script's own directory when written "$(dirname "$0")/x"; anything else
// with a shell expansion cannot be resolved and is an error at that line.
func (f *refFinder) scriptSources(script string) {
	src, err := os.ReadFile(script)
	if err != nil {
		return // a missing script is reported where it is referenced
	}
	rel := f.relName(script)
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		m := sourceLineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		p := strings.Trim(m[1], `"'`)
		pos := Pos{File: rel, Line: n, Column: 1}
		for _, self := range []string{`$(dirname "$0")/`, `$(dirname $0)/`, `${0%/*}/`, `$(dirname "${BASH_SOURCE[0]}")/`} {
			if strings.HasPrefix(p, self) {
				p = filepath.Join(filepath.Dir(script), strings.TrimPrefix(p, self))
			}
		}
		if strings.ContainsAny(p, "$`") {
			f.diags = append(f.diags, errorAt(f.pt.image, pos, "the file sourced here (%s) cannot be resolved statically, so it cannot enter the image's digest: source a literal path relative to the image directory", p))
			continue
		}
		f.addPath("sourced by "+filepath.Base(script), p, pos, true)
	}
}
