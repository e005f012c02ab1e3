package web

import (
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/packer"
)

// normal is data as the browser hands it to the page: every line break a "\n".
func normal(s string) string { return strings.Join(Lines(s), "\n") }

func check(t *testing.T, name, id, data string) {
	t.Helper()
	got := Parse(Format(name, id, data))
	if len(got) != 1 {
		t.Fatalf("Format(%q, %q, %q): browser sees %d events, want 1: %q", name, id, data, len(got), got)
	}
	if got[0].Name != field(name) || got[0].ID != field(id) || got[0].Data != normal(data) {
		t.Fatalf("Format(%q, %q, %q): browser sees %+v", name, id, data, got[0])
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ name, id, data string }{
		{"log", "12", "plain"},
		{"log", "", "two\nlines"},
		// Issue 11 item 3: a provisioner printing a literal \r became a real
		// CR, and the old writer split only on \n.
		{"log", "1", "x\revent: status\rdata: <img src=x onerror=alert(1)>\r\r"},
		{"log", "1", "a\r\n\r\nevent: status\r\ndata: <b>"},
		{"status\nevent: x", "1\r\ndata: y", "ok"},
		{"done", "", ""},
		{"log", "", "\x00\x01\x1b[31m\u2028\u0085tail"},
	} {
		check(t, tc.name, tc.id, tc.data)
	}
}

func TestLines(t *testing.T) {
	got := Lines("a\r\nb\rc\nd\r\r\n")
	want := []string{"a", "b", "c", "d", "", ""}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Lines = %q, want %q", got, want)
	}
}

func FuzzFormat(f *testing.F) {
	f.Add("log", "1", "x\revent: status\rdata: <script>")
	f.Add("status", "", "a\r\n\nb\x00\x7f")
	f.Fuzz(func(t *testing.T, name, id, data string) {
		check(t, name, id, data)
	})
}

// FuzzPackerLineToSSE feeds arbitrary machine-readable lines through
// runner/packer's parser (which turns a literal `\r` into a CR) and the
// SSE writer: every event text reaches the browser as one "log" event.
func FuzzPackerLineToSSE(f *testing.F) {
	f.Add(`1700000000,qemu.base,ui,say,    qemu.base: x\revent: status\rdata: <img src=x onerror=alert(1)>\r\r`)
	f.Add("1700000000,,ui,error,a\\r\\nb%!(PACKER_COMMA)\r")
	f.Add("1700000000,t,error,\x00\x1b\\n\\r\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		l, ok := packer.ParseLine(raw)
		if !ok {
			return
		}
		p := packer.NewParser()
		for _, ev := range p.Events(l) {
			check(t, "log", "7", ev.Text)
		}
		for _, d := range l.Data {
			check(t, "log", "7", d)
		}
	})
}
