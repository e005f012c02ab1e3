package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Attributes whose value is a local path (or list of paths) Packer reads.
var pathAttrs = map[string]bool{
	"http_directory": true, "floppy_files": true, "floppy_dirs": true, "cd_files": true,
}

// Attributes of provisioner and post-processor blocks that name local files.
var provisionerPathAttrs = map[string]bool{
	"source": true, "sources": true, "script": true, "scripts": true, "playbook_file": true,
}

// Functions whose first argument is a local file (or, for fileset, a directory).
var fileFuncs = map[string]bool{
	"file": true, "templatefile": true, "filebase64": true, "filemd5": true,
	"filesha1": true, "filesha256": true, "filesha512": true, "fileset": true, "fileexists": true,
}

// refFinder walks a template's syntax tree for every file it references.
type refFinder struct {
	pts      []*parsedTemplate
	pt       *parsedTemplate // the file being walked
	root     string          // absolute repository root
	imageDir string          // absolute image directory: Packer's working directory and path.root
	ctx      *hcl.EvalContext
	refs     []FileRef
	diags    Diagnostics
}

// findRefs returns the files and directories the template references, with
// env.yaml's variables applied. Anything that reaches into kickstart/ or
// resources/ but cannot be resolved statically is an error.
// pts are the template's files (Packer reads every *.pkr.hcl of the
// directory as one template); vars are env.yaml's over *.auto.pkrvars.hcl's.
func findRefs(pts []*parsedTemplate, root, imageDir string, vars map[string]cty.Value, tpl Template) ([]FileRef, Diagnostics) {
	f := &refFinder{pts: pts, root: root, imageDir: imageDir}
	f.ctx = f.evalContext(vars, tpl)
	for _, pt := range pts {
		f.pt = pt
		f.blocks(pt.body.Blocks)
	}
	return f.refs, f.diags
}

func (f *refFinder) evalContext(vars map[string]cty.Value, tpl Template) *hcl.EvalContext {
	values := map[string]cty.Value{}
	for _, v := range tpl.Variables {
		val := cty.DynamicVal
		for _, pt := range f.pts {
			if d, ok := pt.defaults[v.Name]; ok {
				val = d
			}
		}
		if s, ok := vars[v.Name]; ok {
			val = s
		}
		if tpl.Injects(v.Name) {
			val = cty.DynamicVal
		}
		if v.Name == VarRepoRoot {
			val = cty.StringVal(f.root)
		}
		values[v.Name] = val
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"path": cty.ObjectVal(map[string]cty.Value{"root": cty.StringVal(f.imageDir), "cwd": cty.StringVal(f.imageDir)}),
			"var":  cty.ObjectVal(values),
		},
		Functions: f.functions(),
	}
	ctx.Variables["local"] = f.locals(ctx)
	return ctx
}

func isInjected(name string) bool {
	for _, n := range InjectedVariables {
		if n == name {
			return true
		}
	}
	return false
}

// locals evaluates `locals` and `local` blocks that are static, a few rounds
// so that locals may use each other; the rest stay unknown.
func (f *refFinder) locals(ctx *hcl.EvalContext) cty.Value {
	exprs := map[string]hcl.Expression{}
	for _, pt := range f.pts {
		for _, b := range pt.body.Blocks {
			switch {
			case b.Type == "locals":
				for name, a := range b.Body.Attributes {
					exprs[name] = a.Expr
				}
			case b.Type == "local" && len(b.Labels) == 1:
				if a, ok := b.Body.Attributes["expression"]; ok {
					exprs[b.Labels[0]] = a.Expr
				}
			}
		}
	}
	values := map[string]cty.Value{}
	for name := range exprs {
		values[name] = cty.DynamicVal
	}
	for round := 0; round < 4; round++ {
		ctx.Variables["local"] = cty.ObjectVal(values)
		changed := false
		for name, e := range exprs {
			if values[name].IsWhollyKnown() {
				continue
			}
			if v, d := e.Value(ctx); !d.HasErrors() && v.IsWhollyKnown() {
				values[name] = v
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	return cty.ObjectVal(values)
}

// functions are the side-effect-free ones a path expression plausibly uses.
func (f *refFinder) functions() map[string]function.Function {
	str := func(fn func(string) string) function.Function {
		return function.New(&function.Spec{
			Params: []function.Parameter{{Name: "path", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return cty.StringVal(fn(args[0].AsString())), nil
			},
		})
	}
	return map[string]function.Function{
		"abspath":    str(func(p string) string { return f.abs(p) }),
		"dirname":    str(filepath.Dir),
		"basename":   str(filepath.Base),
		"join":       stdlib.JoinFunc,
		"format":     stdlib.FormatFunc,
		"lower":      stdlib.LowerFunc,
		"upper":      stdlib.UpperFunc,
		"replace":    stdlib.ReplaceFunc,
		"trimprefix": stdlib.TrimPrefixFunc,
		"trimsuffix": stdlib.TrimSuffixFunc,
		"concat":     stdlib.ConcatFunc,
	}
}

func (f *refFinder) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(f.imageDir, p)
}

func (f *refFinder) blocks(blocks hclsyntax.Blocks) {
	for _, b := range blocks {
		if b.Type == "variable" {
			continue // a default is checked where the variable is used
		}
		f.block(b)
	}
}

func (f *refFinder) block(b *hclsyntax.Block) {
	provisioner := b.Type == "provisioner" || b.Type == "post-processor" || b.Type == "error-cleanup-provisioner"
	download := false
	if a, ok := b.Body.Attributes["direction"]; ok {
		if v, d := a.Expr.Value(f.ctx); !d.HasErrors() && v.IsKnown() && v.Type() == cty.String && v.AsString() == "download" {
			download = true
		}
	}
	var skip []hcl.Range // ranges already handled as paths
	for name, a := range b.Body.Attributes {
		isPath := pathAttrs[name] || (provisioner && provisionerPathAttrs[name] && !(download && name == "source"))
		if isPath {
			f.pathAttr(name, a.Expr)
			skip = append(skip, a.Expr.Range())
		}
	}
	if provisioner && len(b.Labels) > 0 {
		switch b.Labels[0] {
		case "ansible", "ansible-local":
			f.ansible(b)
			for name, a := range b.Body.Attributes {
				if ansiblePathAttrs[name] || name == "ansible_env_vars" {
					skip = append(skip, a.Expr.Range())
				}
			}
		case "shell-local":
			f.sourcedFiles(b)
		}
	}
	for name, a := range b.Body.Attributes {
		// A static local is a value, not a use: its uses are resolved where they are.
		strs := true
		if b.Type == "locals" || (b.Type == "local" && name == "expression") {
			if v, d := a.Expr.Value(f.ctx); !d.HasErrors() && v.IsWhollyKnown() {
				strs = false
			}
		}
		f.scan(a.Expr, skip, strs)
	}
	f.blocks(b.Body.Blocks)
}

// pathAttr resolves an attribute whose value is a path or a list of paths.
// A list written out is resolved entry by entry, so that each problem
// points at its own entry rather than at the list's opening bracket.
func (f *refFinder) pathAttr(name string, e hclsyntax.Expression) {
	if tuple, ok := e.(*hclsyntax.TupleConsExpr); ok {
		for _, el := range tuple.Exprs {
			f.pathValue(name, el)
		}
		return
	}
	f.pathValue(name, e)
}

// pathValue resolves one expression that is a path or a list of paths.
func (f *refFinder) pathValue(name string, e hclsyntax.Expression) {
	val, d := e.Value(f.ctx)
	pos := f.pt.pos(e.Range())
	if d.HasErrors() || !val.IsWhollyKnown() {
		f.diags = append(f.diags, errorAt(f.pt.image, pos, "%s cannot be resolved statically, so its files cannot enter the image's digest: write it with literal paths relative to the image directory or ${path.root}", name))
		return
	}
	if val.IsNull() {
		return
	}
	var paths []string
	switch {
	case val.Type() == cty.String:
		paths = []string{val.AsString()}
	case val.CanIterateElements() && !val.Type().IsMapType() && !val.Type().IsObjectType():
		for it := val.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			if ev.IsNull() || ev.Type() != cty.String {
				f.diags = append(f.diags, errorAt(f.pt.image, pos, "%s must list paths as strings", name))
				return
			}
			paths = append(paths, ev.AsString())
		}
	default:
		f.diags = append(f.diags, errorAt(f.pt.image, pos, "%s must be a path or a list of paths", name))
		return
	}
	for _, p := range paths {
		f.addPath(name, p, pos, true)
	}
}

// addPath records one referenced path (a glob is expanded). must says a
// missing file is an error.
func (f *refFinder) addPath(attr, p string, pos Pos, must bool) {
	if strings.TrimSpace(p) == "" {
		return
	}
	abs := f.abs(p)
	if strings.HasPrefix(abs, "/dev/") {
		return // /dev/null and friends: a common "nothing" default, not a file of the image
	}
	rel, err := filepath.Rel(f.root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		f.diags = append(f.diags, warningAt(f.pt.image, pos, "%s refers to %s, outside the repository: it is not part of the image's digest", attr, p))
		return
	}
	if strings.ContainsAny(p, "*?[") {
		matches, err := filepath.Glob(abs)
		if err != nil {
			f.diags = append(f.diags, errorAt(f.pt.image, pos, "%s pattern %s is not a valid glob: %v", attr, f.relName(abs), err))
			return
		}
		if len(matches) == 0 {
			// Packer accepts a pattern that matches nothing (it adds no file);
			// say so, as it is often a typo, but do not stop the build.
			f.diags = append(f.diags, warningAt(f.pt.image, pos, "%s pattern %s matches no file (Packer adds nothing for it)", attr, f.relName(abs)))
			return
		}
		for _, m := range matches {
			f.refs = append(f.refs, FileRef{Path: f.relName(m), Attr: attr, Pos: pos})
		}
		return
	}
	if _, err := resolveInRepo(f.root, abs); errors.Is(err, errLeaves) {
		f.diags = append(f.diags, errorAt(f.pt.image, pos, "%s refers to %s: %v", attr, f.relName(abs), err))
		return
	}
	if _, err := os.Lstat(abs); err != nil {
		if must {
			f.diags = append(f.diags, errorAt(f.pt.image, pos, "%s refers to %s, which does not exist", attr, f.relName(abs)))
		}
		return
	}
	f.refs = append(f.refs, FileRef{Path: filepath.ToSlash(rel), Attr: attr, Pos: pos})
}

func (f *refFinder) relName(abs string) string {
	if rel, err := filepath.Rel(f.root, abs); err == nil {
		return filepath.ToSlash(rel)
	}
	return abs
}

// scan looks inside an expression for file functions and for strings that
// reach into kickstart/ or resources/ (unless strings is false). Expressions
// inside skip are done already.
func (f *refFinder) scan(e hclsyntax.Expression, skip []hcl.Range, strings bool) {
	var calls []*hclsyntax.FunctionCallExpr
	var strs []hclsyntax.Expression
	parts := map[hclsyntax.Expression]bool{}
	hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		switch x := n.(type) {
		case *hclsyntax.FunctionCallExpr:
			if fileFuncs[x.Name] && len(x.Args) > 0 {
				calls = append(calls, x)
			}
		case *hclsyntax.TemplateExpr:
			strs = append(strs, x)
			for _, p := range x.Parts {
				parts[p] = true
			}
		case *hclsyntax.LiteralValueExpr:
			if x.Val.Type() == cty.String {
				strs = append(strs, x)
			}
		}
		return nil
	})
	for _, c := range calls {
		if inside(c.Range(), skip) {
			continue
		}
		skip = append(skip, c.Args[0].Range())
		f.fileCall(c)
	}
	for _, s := range strs {
		if !strings || parts[s] || inside(s.Range(), skip) {
			continue
		}
		f.checkString(s)
	}
}

func inside(r hcl.Range, outer []hcl.Range) bool {
	for _, o := range outer {
		if r.Start.Byte >= o.Start.Byte && r.End.Byte <= o.End.Byte {
			return true
		}
	}
	return false
}

func (f *refFinder) fileCall(c *hclsyntax.FunctionCallExpr) {
	arg := c.Args[0]
	pos := f.pt.pos(arg.Range())
	attr := c.Name + "()"
	val, d := arg.Value(f.ctx)
	if d.HasErrors() || !val.IsWhollyKnown() || val.IsNull() || val.Type() != cty.String {
		f.diags = append(f.diags, errorAt(f.pt.image, pos, "the path given to %s cannot be resolved statically, so the file cannot enter the image's digest: write a literal path relative to the image directory or ${path.root}", c.Name))
		return
	}
	f.addPath(attr, val.AsString(), pos, c.Name != "fileexists")
}

// A path component kickstart or resources: the repository's shared input trees.
var sharedTreeRE = regexp.MustCompile(`(^|[/\x00])(kickstart|resources)(/|$)`)

// checkString finds strings that name files under kickstart/ or resources/.
func (f *refFinder) checkString(e hclsyntax.Expression) {
	pos := f.pt.pos(e.Range())
	val, d := e.Value(f.ctx)
	if !d.HasErrors() && val.IsKnown() && !val.IsNull() && val.Type() == cty.String {
		for _, tok := range pathTokens(val.AsString()) {
			if !sharedTreeRE.MatchString(tok) || strings.Contains(tok, "://") {
				continue
			}
			abs := f.abs(tok)
			if f.inShared(abs) {
				f.addPath("path", tok, pos, true)
			}
		}
		return
	}
	for _, tok := range pathTokens(f.literalText(e)) {
		if !sharedTreeRE.MatchString(tok) || strings.Contains(tok, "://") {
			continue
		}
		if strings.HasPrefix(tok, "/") { // a path on the guest or the host
			continue
		}
		f.diags = append(f.diags, errorAt(f.pt.image, pos, "this string reaches into kickstart/ or resources/ through a value that cannot be resolved statically, so the file cannot enter the image's digest: use a literal path relative to the image directory or ${path.root}"))
		return
	}
}

// inShared reports whether abs lies in the repository's kickstart/ or resources/.
func (f *refFinder) inShared(abs string) bool {
	for _, tree := range []string{"kickstart", "resources"} {
		t := filepath.Join(f.root, tree)
		if abs == t || strings.HasPrefix(abs, t+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// literalText is a template's text with every interpolation replaced by NUL.
func (f *refFinder) literalText(e hclsyntax.Expression) string {
	t, ok := e.(*hclsyntax.TemplateExpr)
	if !ok {
		return "\x00"
	}
	var b strings.Builder
	for _, p := range t.Parts {
		if lit, ok := p.(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String && lit.Val.IsKnown() {
			b.WriteString(lit.Val.AsString())
		} else {
			b.WriteByte(0)
		}
	}
	return b.String()
}

// pathTokens splits text at whitespace and strips quotes and a "key=" prefix,
// leaving the words that could be paths.
func pathTokens(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ';' || r == ',' || r == '(' || r == ')'
	}) {
		w = strings.Trim(w, `"'`)
		if i := strings.LastIndexByte(w, '='); i >= 0 {
			w = w[i+1:]
		}
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}
