package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// sshLogin is the user and password the template's qemu source logs in
// with (ssh_username, ssh_password), for booting the artifact's checks.
type sshLogin struct{ User, Password string }

// templateLogin evaluates ssh_username and ssh_password of the template's
// first qemu source, with var.* from env.yaml variables or the variables'
// defaults. Only literals and var references are evaluated: a template that
// computes them otherwise gets a clear error.
func (b *run) templateLogin() (sshLogin, error) {
	path := filepath.Join(b.cat.Root, b.img.Template.Path)
	src, err := os.ReadFile(path)
	if err != nil {
		return sshLogin{}, fmt.Errorf("checks: read template: %w", err)
	}
	f, diags := hclsyntax.ParseConfig(src, b.img.Template.Path, hcl.InitialPos)
	if diags.HasErrors() {
		return sshLogin{}, fmt.Errorf("checks: %s", diags.Error())
	}
	vars := map[string]cty.Value{}
	for _, v := range b.img.Template.Variables {
		val := v.Default
		if u, err := strconv.Unquote(v.Default); err == nil {
			val = u
		}
		if ev, ok := b.img.Env.Variables[v.Name]; ok {
			val = ev
		}
		vars[v.Name] = cty.StringVal(val)
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(vars)}}
	for _, blk := range f.Body.(*hclsyntax.Body).Blocks {
		if blk.Type != "source" || len(blk.Labels) != 2 || blk.Labels[0] != "qemu" {
			continue
		}
		var login sshLogin
		for name, dst := range map[string]*string{"ssh_username": &login.User, "ssh_password": &login.Password} {
			attr, ok := blk.Body.Attributes[name]
			if !ok {
				return sshLogin{}, fmt.Errorf("checks: %s: source qemu.%s sets no %s: the checks cannot log in", b.img.Template.Path, blk.Labels[1], name)
			}
			v, d := attr.Expr.Value(ctx)
			if d.HasErrors() || v.Type() != cty.String || v.IsNull() {
				return sshLogin{}, fmt.Errorf("checks: %s:%d: %s is not a string imagebot can evaluate (a literal or var.NAME)", b.img.Template.Path, attr.SrcRange.Start.Line, name)
			}
			*dst = v.AsString()
		}
		return login, nil
	}
	return sshLogin{}, fmt.Errorf("checks: %s has no qemu source to take SSH credentials from", b.img.Template.Path)
}
