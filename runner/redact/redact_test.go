package redact

import (
	"bytes"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	r := New("s3cr3t,pass", "hunter2", "ab", "", "multi\nline-secret")
	tests := []struct{ in, want string }{
		{"password is s3cr3t,pass!", "password is " + Mask + "!"},
		{"1,,ui,message,    x: s3cr3t%!(PACKER_COMMA)pass", "1,,ui,message,    x: " + Mask},
		{`{"p":"hunter2"}`, `{"p":"` + Mask + `"}`},
		{"multi\\nline-secret", Mask},
		{"line-secret alone", Mask + " alone"},
		{"ab is short: about, tab, ab.", Mask + " is short: about, tab, " + Mask + "."},
		{"nothing here", "nothing here"},
	}
	for _, tc := range tests {
		if got := r.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEmptyRedactorPassesThrough(t *testing.T) {
	var r *Redactor
	if got := r.String("x"); got != "x" {
		t.Fatal(got)
	}
	if !New("", "  ").Empty() {
		t.Fatal("blank secrets must be ignored")
	}
}

func TestWriterMasksSecretSplitAcrossWrites(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, New("canary-123456"))
	for _, chunk := range []string{"start cana", "ry-12", "3456 end\nnext ", "canary-123456"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(out.String(), "next") {
		t.Fatalf("partial line written before Close: %q", out.String())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "start " + Mask + " end\nnext " + Mask
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}
