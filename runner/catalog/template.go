package catalog

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// parsedTemplate is a template parsed into its syntax tree, kept for the
// second pass that finds file references once env.yaml's variables are known.
type parsedTemplate struct {
	image    string
	file     string // repository-relative
	src      []byte
	body     *hclsyntax.Body
	defaults map[string]cty.Value // variables with a statically known default
}

// parseTemplate reads the variable, source and build blocks of a Packer HCL2
// template. Syntax errors come back as diagnostics with the template's position.
func parseTemplate(image, file string, src []byte) (*parsedTemplate, Template, Diagnostics) {
	tpl := Template{Path: file}
	hf, hd := hclsyntax.ParseConfig(src, file, hcl.InitialPos)
	diags := fromHCL(image, hd)
	if hd.HasErrors() || hf == nil {
		return nil, tpl, diags
	}
	body, ok := hf.Body.(*hclsyntax.Body)
	if !ok {
		return nil, tpl, append(diags, errorAt(image, Pos{File: file, Line: 1, Column: 1}, "template is not native HCL syntax"))
	}
	pt := &parsedTemplate{image: image, file: file, src: src, body: body, defaults: map[string]cty.Value{}}
	seenVar := map[string]Pos{}
	seenSrc := map[string]Pos{}
	for _, b := range body.Blocks {
		pos := pt.pos(b.TypeRange)
		switch b.Type {
		case "variable":
			if len(b.Labels) != 1 {
				diags = append(diags, errorAt(image, pos, "a variable block needs exactly one label, its name"))
				continue
			}
			v := pt.variable(b, &diags)
			if prev, dup := seenVar[v.Name]; dup {
				diags = append(diags, errorAt(image, pos, "variable %q is declared twice (first at line %d)", v.Name, prev.Line))
				continue
			}
			seenVar[v.Name] = pos
			tpl.Variables = append(tpl.Variables, v)
		case "source":
			if len(b.Labels) != 2 {
				diags = append(diags, errorAt(image, pos, `a source block needs two labels: source "<type>" "<name>"`))
				continue
			}
			s := Source{Type: b.Labels[0], Name: b.Labels[1], Pos: pos}
			if prev, dup := seenSrc[s.Ref()]; dup {
				diags = append(diags, errorAt(image, pos, "source %s is declared twice (first at line %d)", s.Ref(), prev.Line))
				continue
			}
			seenSrc[s.Ref()] = pos
			tpl.Sources = append(tpl.Sources, s)
		case "build":
			tpl.Builds = append(tpl.Builds, pt.build(b, &diags))
		case "packer":
			pt.packerBlock(b, &tpl, &diags)
		}
	}
	return pt, tpl, diags
}

// checkTemplate checks what only the whole template (every file) can show:
// at least one source and build, and builds using declared sources.
func checkTemplate(image string, tpl Template) Diagnostics {
	var diags Diagnostics
	at := Pos{File: tpl.Path, Line: 1, Column: 1}
	if len(tpl.Sources) == 0 {
		diags = append(diags, errorAt(image, at, `template declares no source block (e.g. source "qemu" "base" { ... })`))
	}
	if len(tpl.Builds) == 0 {
		diags = append(diags, errorAt(image, at, "template declares no build block"))
	}
	declared := map[string]bool{}
	for _, s := range tpl.Sources {
		declared[s.Ref()] = true
	}
	for _, b := range tpl.Builds {
		if b.Dynamic {
			continue // Packer evaluates the expression and names an unknown source itself
		}
		for _, ref := range b.Sources {
			if !declared[ref] {
				diags = append(diags, errorAt(image, b.Pos, "build uses source %q, which the template does not declare (declared: %s)", ref, strings.Join(sortedKeys(declared), ", ")))
			}
		}
	}
	return diags
}

func (pt *parsedTemplate) pos(r hcl.Range) Pos {
	return Pos{File: pt.file, Line: r.Start.Line, Column: r.Start.Column}
}

// text returns the source text of a range, as written.
func (pt *parsedTemplate) text(r hcl.Range) string {
	if r.Start.Byte < 0 || r.End.Byte > len(pt.src) || r.Start.Byte > r.End.Byte {
		return ""
	}
	return string(pt.src[r.Start.Byte:r.End.Byte])
}

func (pt *parsedTemplate) variable(b *hclsyntax.Block, diags *Diagnostics) Variable {
	v := Variable{Name: b.Labels[0], Pos: pt.pos(b.TypeRange)}
	if a, ok := b.Body.Attributes["type"]; ok {
		v.Type = pt.text(a.Expr.Range())
	}
	if a, ok := b.Body.Attributes["default"]; ok {
		v.HasDefault = true
		val, d := a.Expr.Value(nil)
		switch {
		case !d.HasErrors() && val.IsWhollyKnown() && !val.IsNull() && val.Type() == cty.String:
			v.Default = val.AsString()
			pt.defaults[v.Name] = val
		case !d.HasErrors() && val.IsWhollyKnown():
			v.Default = pt.text(a.Expr.Range())
			pt.defaults[v.Name] = val
		default:
			v.Default = pt.text(a.Expr.Range())
		}
	}
	if a, ok := b.Body.Attributes["sensitive"]; ok {
		val, d := a.Expr.Value(nil)
		if d.HasErrors() || !val.IsKnown() || val.IsNull() || val.Type() != cty.Bool {
			*diags = append(*diags, errorAt(pt.image, pt.pos(a.Expr.Range()), "variable %q: sensitive must be true or false", v.Name))
		} else {
			v.Sensitive = val.True()
		}
	}
	return v
}

func (pt *parsedTemplate) build(b *hclsyntax.Block, diags *Diagnostics) Build {
	out := Build{Pos: pt.pos(b.TypeRange)}
	if a, ok := b.Body.Attributes["name"]; ok {
		if val, d := a.Expr.Value(nil); !d.HasErrors() && val.IsKnown() && val.Type() == cty.String {
			out.Name = val.AsString()
		}
	}
	if a, ok := b.Body.Attributes["sources"]; ok {
		tuple, ok := a.Expr.(*hclsyntax.TupleConsExpr)
		if !ok {
			// var.x, local.x, concat(...): Packer evaluates it (and refuses
			// what is not a list of sources), so the catalog does not guess.
			out.Dynamic = true
		} else {
			for _, e := range tuple.Exprs {
				ref, ok := pt.sourceRef(e)
				if !ok {
					*diags = append(*diags, errorAt(pt.image, pt.pos(e.Range()), `a build source must be written "source.<type>.<name>"`))
					continue
				}
				out.Sources = append(out.Sources, ref)
			}
		}
	}
	for _, nb := range b.Body.Blocks {
		if nb.Type == "source" && len(nb.Labels) == 1 {
			out.Sources = append(out.Sources, strings.TrimPrefix(nb.Labels[0], "source."))
		}
	}
	return out
}

// packerBlock reads `packer { required_version = "..." required_plugins { name = { source = "...", version = "..." } } }`.
func (pt *parsedTemplate) packerBlock(b *hclsyntax.Block, tpl *Template, diags *Diagnostics) {
	if a, ok := b.Body.Attributes["required_version"]; ok {
		if v, d := a.Expr.Value(nil); !d.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
			tpl.RequiredVersion = v.AsString()
		}
	}
	for _, rb := range b.Body.Blocks {
		if rb.Type != "required_plugins" {
			continue
		}
		for _, name := range sortedKeys(rb.Body.Attributes) {
			a := rb.Body.Attributes[name]
			rp := RequiredPlugin{Name: name, Pos: pt.pos(a.NameRange)}
			v, d := a.Expr.Value(nil)
			if d.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
				*diags = append(*diags, errorAt(pt.image, rp.Pos, `required plugin %q must be written { source = "github.com/<org>/<name>", version = ">= x.y.z" }`, name))
				continue
			}
			for k, f := range v.AsValueMap() {
				if f.IsNull() || f.Type() != cty.String {
					continue
				}
				switch k {
				case "source":
					rp.Source = f.AsString()
				case "version":
					rp.Version = f.AsString()
				}
			}
			if rp.Source == "" {
				*diags = append(*diags, errorAt(pt.image, rp.Pos, "required plugin %q has no source (e.g. github.com/hashicorp/%s)", name, name))
				continue
			}
			tpl.RequiredPlugins = append(tpl.RequiredPlugins, rp)
		}
	}
}

// sourceRef turns "source.qemu.base" (a string or a bare traversal) into "qemu.base".
func (pt *parsedTemplate) sourceRef(e hclsyntax.Expression) (string, bool) {
	var s string
	if st, ok := e.(*hclsyntax.ScopeTraversalExpr); ok {
		s = pt.text(st.Range())
	} else if val, d := e.Value(nil); !d.HasErrors() && val.IsKnown() && !val.IsNull() && val.Type() == cty.String {
		s = val.AsString()
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] != "source" || parts[1] == "" || parts[2] == "" {
		return "", false
	}
	return parts[1] + "." + parts[2], true
}

// fromHCL converts HCL diagnostics, whose file names are already repository-relative.
func fromHCL(image string, hd hcl.Diagnostics) Diagnostics {
	var out Diagnostics
	for _, d := range hd {
		sev := SeverityError
		if d.Severity == hcl.DiagWarning {
			sev = SeverityWarning
		}
		msg := d.Summary
		if d.Detail != "" {
			msg = fmt.Sprintf("%s: %s", d.Summary, d.Detail)
		}
		out = append(out, Diagnostic{Severity: sev, Message: msg, Image: image})
		if d.Subject != nil {
			out[len(out)-1].File = d.Subject.Filename
			out[len(out)-1].Line = d.Subject.Start.Line
			out[len(out)-1].Column = d.Subject.Start.Column
		}
	}
	return out
}
