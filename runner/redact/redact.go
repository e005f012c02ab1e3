// Package redact is imagebot's one redactor: it masks secret values
// (sensitive template variables, configured and environment secrets, the
// forge tokens, webhook secrets, store keys and database URL) in text before
// it reaches a log, a comment, a page, a manifest or a database row.
//
// A secret is masked in every form it is likely to be printed in: raw;
// Packer-escaped (machine-readable %!(PACKER_COMMA), \n); Go-, JSON- and
// shell-quoted; URL-escaped (query and path); base64 in the standard and
// URL alphabets at any alignment inside a longer encoded string (the three
// shifted encodings, padding stripped); hex; reversed. A URL secret (a
// database URL) has its password masked on its own too, whatever the
// variable holding it is called.
//
// API, for the runner and the bot alike:
//
//	r := redact.New(secrets...)     // once per set of secrets
//	r.String(s)                      // a log line, comment, page, error, DB value
//	r.Bytes(b)                       // the same for bytes (a manifest, a JSON row)
//	r.Contains(s)                    // refuse instead of mask (manifests)
//	redact.NewWriter(w, r)           // a stream (build.log), line by line
//
// A Redactor is immutable and safe for concurrent use.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Mask replaces every secret.
const Mask = "[REDACTED]"

// MinLen is the shortest secret masked wherever it occurs. A shorter one
// ("ab") would mangle ordinary text, so it is masked only as a whole word.
const MinLen = 4

// Redactor masks a fixed set of secrets. The zero value masks nothing.
type Redactor struct {
	long  []string // every printed form of long secrets, longest first
	short []string // secrets under MinLen, whole words only
}

// New returns a Redactor for these secret values (empty ones are ignored).
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	seen := map[string]bool{}
	for _, s := range withURLParts(secrets) {
		if strings.TrimSpace(s) == "" {
			continue
		}
		if len(s) < MinLen {
			if !seen[s] {
				seen[s] = true
				r.short = append(r.short, s)
			}
			continue
		}
		for _, f := range forms(s) {
			if !seen[f] {
				seen[f] = true
				r.long = append(r.long, f)
			}
		}
	}
	// Longest first, so a secret containing another is masked whole.
	sort.Slice(r.long, func(i, j int) bool { return len(r.long[i]) > len(r.long[j]) })
	return r
}

// forms lists how a secret may be printed.
func forms(s string) []string {
	out := []string{s}
	add := func(f string) {
		if f != s && f != "" {
			out = append(out, f)
		}
	}
	add(strings.ReplaceAll(s, ",", "%!(PACKER_COMMA)"))
	q := strconv.Quote(s)
	add(q[1 : len(q)-1])                                        // Go / JSON-style escaping
	add(strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)) // machine-readable newlines
	add(strings.ReplaceAll(strings.ReplaceAll(s, "\n", `\n`), ",", "%!(PACKER_COMMA)"))
	add(strings.ReplaceAll(s, "'", `'"'"'`)) // shell single-quoted
	add(url.QueryEscape(s))
	add(url.PathEscape(s))
	add(jsonEscape(s, true))
	add(jsonEscape(s, false))
	add(hex.EncodeToString([]byte(s)))
	add(strings.ToUpper(hex.EncodeToString([]byte(s))))
	add(reverse(s))
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for shift := 0; shift < 3; shift++ {
			add(base64Core(enc, s, shift))
		}
	}
	for _, line := range strings.Split(s, "\n") { // a multi-line secret printed line by line
		if len(line) >= MinLen && line != s {
			out = append(out, line)
		}
	}
	return out
}

// base64Core is the part of the base64 encoding of s that depends on s
// alone when s starts shift bytes into the encoded data: whatever bytes
// surround it, an encoding of them holds this substring.
func base64Core(enc *base64.Encoding, s string, shift int) string {
	e := enc.EncodeToString(append(make([]byte, shift), s...))
	first := (8*shift + 5) / 6         // first character made of s's bits only
	last := (8 * (shift + len(s))) / 6 // characters before this one end within s
	if last-first < MinLen {
		return ""
	}
	return e[first:last]
}

func jsonEscape(s string, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	_ = enc.Encode(s)
	q := strings.TrimSpace(b.String())
	return q[1 : len(q)-1]
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// withURLParts adds, for each secret that is a URL with a password (a
// database URL), the password raw and unescaped: it is printed on its own
// (a connection error) more often than the whole URL.
func withURLParts(secrets []string) []string {
	out := append([]string(nil), secrets...)
	for _, s := range secrets {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.User == nil {
			continue
		}
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p, u.User.String())
		}
	}
	return out
}

// Bytes masks every secret in b.
func (r *Redactor) Bytes(b []byte) []byte {
	if r.Empty() {
		return b
	}
	return []byte(r.String(string(b)))
}

// Contains reports whether s holds a secret in any of its masked forms.
func (r *Redactor) Contains(s string) bool { return r.String(s) != s }

// Empty reports whether there is nothing to mask.
func (r *Redactor) Empty() bool { return r == nil || len(r.long)+len(r.short) == 0 }

// String masks every secret in s.
func (r *Redactor) String(s string) string {
	if r.Empty() {
		return s
	}
	for _, f := range r.long {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, Mask)
		}
	}
	for _, w := range r.short {
		s = maskWord(s, w)
	}
	return s
}

func maskWord(s, w string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, w)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(w)
		if boundary(s, i-1) && boundary(s, end) {
			b.WriteString(s[:i])
			b.WriteString(Mask)
		} else {
			b.WriteString(s[:end])
		}
		s = s[end:]
	}
}

func boundary(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return true
	}
	c := rune(s[i])
	return !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '-')
}

// Writer masks what passes through it, line by line, so a secret split
// across two writes is still found. Close (or Flush) writes a last partial line.
type Writer struct {
	mu  sync.Mutex
	r   *Redactor
	w   io.Writer
	buf []byte
}

// NewWriter returns a Writer that masks r's secrets before writing to w.
func NewWriter(w io.Writer, r *Redactor) *Writer { return &Writer{r: r, w: w} }

// Write buffers p and writes every complete line, masked.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	i := bytes.LastIndexByte(w.buf, '\n')
	if i < 0 {
		if len(w.buf) > 1<<20 { // a runaway line: mask and pass what we have
			return len(p), w.flush()
		}
		return len(p), nil
	}
	out := w.r.String(string(w.buf[:i+1]))
	w.buf = append(w.buf[:0], w.buf[i+1:]...)
	if _, err := io.WriteString(w.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a pending partial line.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flush()
}

func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	out := w.r.String(string(w.buf))
	w.buf = w.buf[:0]
	_, err := io.WriteString(w.w, out)
	return err
}

// Close flushes; it does not close the underlying writer.
func (w *Writer) Close() error { return w.Flush() }
