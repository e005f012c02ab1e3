package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// hostileKey is a YAML key with line breaks and a fence: a duplicate of it
// under variables is quoted raw by the diagnostic.
const hostileKey = "x\n```\n@all ![pwn](http://evil.example/p.png) [login](http://evil.example/)\n````"

// TestDiagnosticsMarkdownStaysInItsFence loads an env.yaml whose diagnostic
// quotes a key holding a code fence and a mention, renders the diagnostics
// for the MR comment and parses the comment as CommonMark: one code block
// holding every diagnostic, nothing after it. The fixed ``` fence the bot
// used before (the control) lets the text out.
func TestDiagnosticsMarkdownStaysInItsFence(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "images", "evil")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := "name: evil\nversion: 1.0.0\nvariables:\n  " + yamlQuote(hostileKey) + ": 1\n  " + yamlQuote(hostileKey) + ": 2\n"
	if err := os.WriteFile(filepath.Join(dir, "env.yaml"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	_, diags := Load(root)
	if !strings.Contains(diags.Error(), "\n```\n@all") {
		t.Fatalf("the diagnostics do not quote the hostile key raw (the test would be vacuous):\n%s", diags.Error())
	}
	parse := func(body string) []ast.Node {
		src := []byte("The images do not validate; nothing was built:\n" + body + "\nthe bot's own words")
		var out []ast.Node
		for n := goldmark.New().Parser().Parse(text.NewReader(src)).FirstChild(); n != nil; n = n.NextSibling() {
			out = append(out, n)
		}
		return out
	}
	nodes := parse(diags.Markdown())
	if len(nodes) != 3 {
		t.Fatalf("comment has %d blocks, want paragraph, code block, paragraph:\n%s", len(nodes), diags.Markdown())
	}
	cb, ok := nodes[1].(*ast.FencedCodeBlock)
	if !ok || cb.Lines().Len() != strings.Count(diags.Error(), "\n")+1 {
		t.Fatalf("the diagnostics are not one code block of all their lines: %T\n%s", nodes[1], diags.Markdown())
	}
	// The control: the fixed fence used before breaks out.
	if old := parse("```\n" + diags.Error() + "\n```"); len(old) == 3 {
		t.Errorf("the control did not break out of a fixed fence: the hostile key is not hostile enough")
	}
}

func yamlQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
