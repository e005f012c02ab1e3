package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// encoders are the forms a secret may take in a log, a comment or a row.
// Each takes the text around the secret too, since an encoding of a longer
// string (base64 of "user:secret") holds no clean copy of the secret's own.
var encoders = map[string]func(pre, secret, post string) string{
	"raw":    func(pre, s, post string) string { return pre + s + post },
	"packer": func(pre, s, post string) string { return pre + strings.ReplaceAll(s, ",", "%!(PACKER_COMMA)") + post },
	"json": func(pre, s, post string) string {
		b, _ := json.Marshal(s)
		return pre + string(b) + post
	},
	"query":  func(pre, s, post string) string { return pre + url.QueryEscape(s) + post },
	"path":   func(pre, s, post string) string { return pre + url.PathEscape(s) + post },
	"b64std": func(pre, s, post string) string { return base64.StdEncoding.EncodeToString([]byte(pre + s + post)) },
	"b64url": func(pre, s, post string) string { return base64.URLEncoding.EncodeToString([]byte(pre + s + post)) },
	"b64raw": func(pre, s, post string) string { return base64.RawStdEncoding.EncodeToString([]byte(pre + s + post)) },
	"reversed": func(pre, s, post string) string {
		return reverse(pre + s + post)
	},
}

// survives reports whether the secret can still be read from the masked
// text in the form enc put it: decoded back, the text still holds it.
func survives(form, masked, secret string) bool {
	var plain string
	switch form {
	case "b64std", "b64url", "b64raw":
		// Decode every window: masking breaks the encoding around the mask,
		// so look for the secret in whatever still decodes.
		return strings.Contains(decodeAll(masked), secret)
	case "reversed":
		plain = reverse(masked)
	case "query":
		plain, _ = url.QueryUnescape(masked)
	case "path":
		plain, _ = url.PathUnescape(masked)
	case "json":
		plain = masked
		var s string
		if i, j := strings.IndexByte(masked, '"'), strings.LastIndexByte(masked, '"'); i >= 0 && j > i {
			if json.Unmarshal([]byte(masked[i:j+1]), &s) == nil {
				plain = s
			}
		}
	case "packer":
		plain = strings.ReplaceAll(masked, "%!(PACKER_COMMA)", ",")
	default:
		plain = masked
	}
	return strings.Contains(plain, secret)
}

// decodeAll decodes every run of base64 characters at every alignment.
func decodeAll(s string) string {
	var out strings.Builder
	for _, run := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("+/-_", r))
	}) {
		for off := 0; off < 4 && off < len(run); off++ {
			r := run[off:]
			r = r[:len(r)/4*4]
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
				if b, err := enc.DecodeString(r); err == nil {
					out.Write(b)
					out.WriteByte(0)
				}
			}
		}
	}
	return out.String()
}

func TestMasksEveryForm(t *testing.T) {
	secrets := []string{"glpat-AbCdEf123456", "p@ss w/rd&=?%,x", "s3kr1t", "ümlaut-sécret"}
	r := New(secrets...)
	for form, enc := range encoders {
		for _, s := range secrets {
			for _, pre := range []string{"", "a", "ab", "abc", "user:", "Authorization: Basic "} {
				in := enc("log: "+pre, s, " end")
				out := r.String(in)
				if survives(form, out, s) {
					t.Errorf("%s form of %q with prefix %q survives: %q -> %q", form, s, pre, in, out)
				}
			}
		}
	}
}

func TestDatabaseURLPasswordIsMaskedWhateverItsName(t *testing.T) {
	r := New("postgres://imagebot:Db-Pa55word@127.0.0.1:5432/imagebot?sslmode=disable")
	for _, in := range []string{
		"dial: password authentication failed for Db-Pa55word",
		"connect postgres://imagebot:Db-Pa55word@db/x",
		"user imagebot:Db-Pa55word",
	} {
		if out := r.String(in); strings.Contains(out, "Db-Pa55word") {
			t.Errorf("%q -> %q", in, out)
		}
	}
}

// FuzzSecretNeverSurvives embeds a secret in arbitrary text, in every form,
// and checks it cannot be read back from the masked text.
func FuzzSecretNeverSurvives(f *testing.F) {
	f.Add("glpat-0123456789abcdef", "token=", "&next=1")
	f.Add("a,b,c,d", "", "")
	f.Add("\"quoted\\secret\"", "x", "y")
	f.Add("pass+/=word", "AB", "C")
	f.Fuzz(func(t *testing.T, secret, pre, post string) {
		if len(secret) < 8 || strings.TrimSpace(secret) != secret || !isPrintable(secret) {
			return // short secrets are masked as words only; see MinLen
		}
		r := New(secret)
		for form, enc := range encoders {
			in := enc(pre, secret, post)
			if out := r.String(in); survives(form, out, secret) {
				t.Errorf("%s form survives: %q -> %q", form, in, out)
			}
		}
	})
}

func isPrintable(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c > 0x7e {
			return false
		}
	}
	return true
}
