// Package fakeapi holds what the forge test servers (gitlabtest,
// githubtest) share: fault injection, strict JSON bodies, JSON answers.
package fakeapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Fault makes matching requests fail. Empty Method or PathContains match all.
type Fault struct {
	Method       string
	PathContains string
	Code         int    // e.g. 500, 429
	RetryAfter   string // Retry-After header value, "" for none
	Header       map[string]string
	Times        int // how many requests fail; 0 means 1
}

// Faults is a queue of injected faults and a log of calls.
type Faults struct {
	mu     sync.Mutex
	faults []Fault
	calls  []string
}

// Inject adds a fault.
func (f *Faults) Inject(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault.Times <= 0 {
		fault.Times = 1
	}
	f.faults = append(f.faults, fault)
}

// Calls lists "METHOD /path" of every request seen.
func (f *Faults) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Serve logs the call and, when a fault matches, answers it and returns true.
func (f *Faults) Serve(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.EscapedPath()
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+path)
	var hit *Fault
	for i := range f.faults {
		c := &f.faults[i]
		if (c.Method == "" || c.Method == r.Method) && strings.Contains(path, c.PathContains) {
			out := *c
			hit = &out
			if c.Times--; c.Times == 0 {
				f.faults = append(f.faults[:i], f.faults[i+1:]...)
			}
			break
		}
	}
	f.mu.Unlock()
	if hit == nil {
		return false
	}
	if hit.RetryAfter != "" {
		w.Header().Set("Retry-After", hit.RetryAfter)
	}
	for k, v := range hit.Header {
		w.Header().Set(k, v)
	}
	WriteJSON(w, hit.Code, map[string]string{"message": http.StatusText(hit.Code)})
	return true
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Decode reads a JSON body into v, failing t on a wrong content type, bad
// JSON or a field v does not have; it answers 400 itself when it fails.
func Decode(t testing.TB, who string, w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: %s %s with Content-Type %q, want application/json", who, r.Method, r.URL.Path, ct)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r.Body)
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("%s: %s %s: body %s: %v", who, r.Method, r.URL.Path, buf.String(), err)
		WriteJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return false
	}
	return true
}

// Match fills m with re's submatches of path.
func Match(re *regexp.Regexp, path string, m *[]string) bool {
	*m = re.FindStringSubmatch(path)
	return *m != nil
}

// Redact shows a token's shape, never its value.
func Redact(tok string) string {
	if tok == "" {
		return "(none)"
	}
	return "<" + strconv.Itoa(len(tok)) + " chars>"
}

// Deref is *p, or "" for a field the request left out.
func Deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Nullable is s, or JSON null when s is empty.
func Nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
