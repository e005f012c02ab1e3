// Package redact masks secret values (sensitive template variables, configured
// and environment secrets) in text before it reaches a log, an event or a
// terminal: in their raw form and in the forms Packer prints them
// (machine-readable %!(PACKER_COMMA) escaping, quoted and escaped strings).
package redact

import (
	"bytes"
	"io"
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
	for _, s := range secrets {
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
	add(strings.ReplaceAll(s, "'", `'"'"'`))      // shell single-quoted
	for _, line := range strings.Split(s, "\n") { // a multi-line secret printed line by line
		if len(line) >= MinLen && line != s {
			out = append(out, line)
		}
	}
	return out
}

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
