package command

import (
	"strings"
	"testing"
)

// Issue 11 Low: commands readers cannot see do not run.
func TestHiddenCommandsIgnored(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []string
	}{
		{"<!-- /build rocky9 -->", nil},
		{"<!--\n/build rocky9\n-->\n/build debian12", []string{"/build debian12"}},
		{"<details><summary>x</summary>\n/build rocky9\n</details>\n/cancel", []string{"/cancel"}},
		{"<details>\n<details open>\n/build a\n</details>\n/build b\n</details>\n/retry", []string{"/retry"}},
		{"<details open>\n/build rocky9\n</details>", []string{"/build rocky9"}},
		{"<!-- x --> /build rocky9", []string{"/build rocky9"}},
		{"<DETAILS>\n/build rocky9\n</DETAILS>", nil},
	} {
		cmds, err := Parse(tc.body)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.body, err)
		}
		var got []string
		for _, c := range cmds {
			got = append(got, c.String())
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("Parse(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

// Issue 11 item 6: duplicates merged, at most max kept.
func TestLimit(t *testing.T) {
	body := strings.Repeat("/build rocky9\n", 500)
	for i := 0; i < 30; i++ {
		body += "/build img" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "\n"
	}
	cmds, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	kept, dropped := Limit(cmds, 0)
	if len(kept) != DefaultMaxPerComment || dropped != 31-DefaultMaxPerComment {
		t.Fatalf("Limit kept %d, dropped %d; want %d and %d", len(kept), dropped, DefaultMaxPerComment, 31-DefaultMaxPerComment)
	}
	if kept[0].String() != "/build rocky9" || kept[1].String() != "/build imgaa" {
		t.Errorf("Limit kept %v first", kept[:2])
	}
	if n := len(FirstErrors(mustErr(t, strings.Repeat("/retry x\n", 100)))); n != maxErrorReplies {
		t.Errorf("%d error replies for 100 bad lines, want %d", n, maxErrorReplies)
	}
}

func mustErr(t *testing.T, body string) error {
	_, err := Parse(body)
	if err == nil {
		t.Fatalf("Parse(%q): no error", body)
	}
	return err
}

// Issue 11 Low: a syntax-error reply quotes the input only inside a code
// span the input cannot close.
func TestReplyDoesNotEchoRawInput(t *testing.T) {
	for _, line := range []string{
		"/build @all",
		"/build `x` @all ![i](http://e/x.png) [l](http://e)",
		"/build ``` @all ``` <img src=x>",
		"/cancel --bogus=`@all`",
	} {
		for _, se := range SyntaxErrors(mustErr(t, line)) {
			reply := se.Reply()
			outside := outsideCode(reply)
			for _, bad := range []string{"@all", "](", "<img", "http://"} {
				if strings.Contains(outside, bad) {
					t.Errorf("reply to %q has %q outside a code span:\n%s", line, bad, reply)
				}
			}
		}
	}
}

// outsideCode drops code spans and fenced blocks (CommonMark: a span ends at
// the next run of backticks of the same length).
func outsideCode(md string) string {
	var out strings.Builder
	for i := 0; i < len(md); {
		if md[i] != '`' {
			out.WriteByte(md[i])
			i++
			continue
		}
		n := 0
		for i+n < len(md) && md[i+n] == '`' {
			n++
		}
		fence := md[i : i+n]
		rest := md[i+n:]
		j := 0
		for {
			k := strings.Index(rest[j:], fence)
			if k < 0 {
				return out.String() + md[i:] // unclosed: all of it is outside
			}
			k += j
			if (k+n >= len(rest) || rest[k+n] != '`') && (k == 0 || rest[k-1] != '`') {
				i += n + k + n
				break
			}
			j = k + 1
			for j < len(rest) && rest[j] == '`' {
				j++
			}
		}
	}
	return out.String()
}
