package forge

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"0123456789abc", 10, "0123456…"},
		{strings.Repeat("é", 10), 9, "ééé…"},
		{strings.Repeat("é", 10), 10, "ééé…"},
		{"abc", 2, ""},
	}
	for _, tt := range tests {
		got := Truncate(tt.in, tt.n)
		if got != tt.want || len(got) > tt.n || !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
	if ShortSHA("4c8d2a6f0b1e3d5c") != "4c8d2a6f" || ShortSHA("abc") != "abc" {
		t.Error("ShortSHA")
	}
}
