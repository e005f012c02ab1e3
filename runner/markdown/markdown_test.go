package markdown

import (
	"bytes"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// blocks parses md as CommonMark and returns its top-level nodes.
func blocks(md string) []ast.Node {
	src := []byte(md)
	doc := goldmark.New().Parser().Parse(text.NewReader(src))
	var out []ast.Node
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		out = append(out, n)
	}
	return out
}

// TestCodeBlockHoldsHostileText renders hostile text as a fenced block
// inside a comment and parses it as CommonMark: the text is exactly one
// code block's content, nothing of it becomes a mention, link or image.
func TestCodeBlockHoldsHostileText(t *testing.T) {
	for _, hostile := range []string{
		"plain",
		"```\n@all ![x](http://evil/x.png) [click](http://evil)\n```",
		"````\n@all\n`````",
		"a `` b ``` c ```````",
		"line\r```\r@all",
		"~~~\n@all",
		"   ```\n@all",
		"\x00\x1b[31m```\n@all",
	} {
		comment := "The images do not validate:\n\n" + CodeBlock(hostile) + "\nafter"
		nodes := blocks(comment)
		if len(nodes) != 3 {
			t.Errorf("%q: %d top-level blocks, want paragraph, code block, paragraph:\n%s", hostile, len(nodes), comment)
			continue
		}
		cb, ok := nodes[1].(*ast.FencedCodeBlock)
		if !ok {
			t.Errorf("%q: second block is %T", hostile, nodes[1])
			continue
		}
		var got bytes.Buffer
		lines := cb.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			got.Write(seg.Value([]byte(comment)))
		}
		want := strings.TrimSuffix(strings.NewReplacer("\r\n", "\n", "\r", "\n", "\x00", " ", "\x1b", " ").Replace(hostile), "\n") + "\n"
		if got.String() != want {
			t.Errorf("%q: code block holds %q, want %q", hostile, got.String(), want)
		}
		if p, ok := nodes[2].(*ast.Paragraph); !ok || string(p.Text([]byte(comment))) != "after" {
			t.Errorf("%q: text after the block is not the comment's own", hostile)
		}
	}
}

func TestCodeSpan(t *testing.T) {
	for in, want := range map[string]string{
		"/build rocky9":    "`/build rocky9`",
		"a`b":              "`` a`b ``",
		"``x":              "``` ``x ```",
		"line\nbreak @all": "`line break @all`",
	} {
		if got := CodeSpan(in); got != want {
			t.Errorf("CodeSpan(%q) = %q, want %q", in, got, want)
		}
	}
	if got := CodeSpan(strings.Repeat("é", 300)); len(got) > maxSpan+10 {
		t.Errorf("long input kept %d bytes", len(got))
	}
}
