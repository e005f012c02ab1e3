package retry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// script answers each request with the next scripted reply and records the
// bodies it received.
type script struct {
	mu      sync.Mutex
	replies []func(w http.ResponseWriter)
	bodies  []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bodies = append(s.bodies, string(b))
	if len(s.replies) == 0 {
		http.Error(w, "script ran out", http.StatusTeapot)
		return
	}
	reply := s.replies[0]
	s.replies = s.replies[1:]
	reply(w)
}

func status(code int, headers ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, `{"message":"`+http.StatusText(code)+`"}`)
	}
}

func newTransport(waits *[]time.Duration) *Transport {
	return &Transport{
		MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second,
		Sleep: func(ctx context.Context, d time.Duration) error {
			*waits = append(*waits, d)
			return ctx.Err()
		},
		Now: func() time.Time { return time.Unix(1_700_000_000, 0) },
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		replies   []func(http.ResponseWriter)
		maxWait   time.Duration
		wantCode  int
		wantTries int
		wantWaits []time.Duration // exact; nil with checkBackoff for jittered ones
		jittered  int
	}{
		{"500 then success", []func(http.ResponseWriter){status(500), status(201)}, 0, 201, 2, nil, 1},
		{"502 503 504 then success", []func(http.ResponseWriter){status(502), status(503), status(504), status(200)}, 0, 200, 4, nil, 3},
		{"429 honours Retry-After seconds", []func(http.ResponseWriter){status(429, "Retry-After", "3"), status(200)}, 0, 200, 2, []time.Duration{3 * time.Second}, 0},
		{"429 honours Retry-After date", []func(http.ResponseWriter){status(429, "Retry-After", time.Unix(1_700_000_007, 0).UTC().Format(http.TimeFormat)), status(200)}, 0, 200, 2, []time.Duration{7 * time.Second}, 0},
		{"GitHub secondary limit 403 with Retry-After", []func(http.ResponseWriter){status(403, "Retry-After", "60"), status(200)}, 0, 200, 2, []time.Duration{time.Minute}, 0},
		{"GitHub primary limit 403 waits for reset", []func(http.ResponseWriter){status(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.Itoa(1_700_000_010)), status(200)}, 0, 200, 2, []time.Duration{11 * time.Second}, 0},
		{"plain 403 is an answer", []func(http.ResponseWriter){status(403)}, 0, 403, 1, nil, 0},
		{"404 is an answer", []func(http.ResponseWriter){status(404)}, 0, 404, 1, nil, 0},
		{"501 is an answer", []func(http.ResponseWriter){status(501)}, 0, 501, 1, nil, 0},
		{"wait longer than MaxWait returns the 429", []func(http.ResponseWriter){status(429, "Retry-After", "3600")}, time.Minute, 429, 1, nil, 0},
		{"bounded: gives up after 5 tries with the last answer", []func(http.ResponseWriter){status(500), status(500), status(500), status(500), status(503)}, 0, 503, 5, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{replies: tt.replies}
			srv := httptest.NewServer(s)
			defer srv.Close()
			var waits []time.Duration
			tr := newTransport(&waits)
			tr.MaxWait = tt.maxWait
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v4/x", strings.NewReader(`{"body":"hello"}`))
			resp, err := tr.Client(0).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if len(s.bodies) != tt.wantTries {
				t.Errorf("%d tries, want %d", len(s.bodies), tt.wantTries)
			}
			for _, b := range s.bodies {
				if b != `{"body":"hello"}` {
					t.Errorf("a retry sent body %q", b)
				}
			}
			if tt.wantWaits != nil && !equal(waits, tt.wantWaits) {
				t.Errorf("waits %v, want %v", waits, tt.wantWaits)
			}
			if tt.jittered > 0 {
				if len(waits) != tt.jittered {
					t.Fatalf("waits %v, want %d of them", waits, tt.jittered)
				}
				for i, w := range waits {
					step := min(100*time.Millisecond<<i, time.Second)
					if w < step/2 || w > step {
						t.Errorf("wait %d = %v, want within [%v, %v]", i, w, step/2, step)
					}
				}
			}
		})
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	s := &script{replies: []func(http.ResponseWriter){status(503), status(200)}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	tr := &Transport{MinBackoff: time.Hour, MaxBackoff: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	start := time.Now()
	_, err := tr.Client(0).Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("waited %v after the context ended", time.Since(start))
	}
	if len(s.bodies) != 1 {
		t.Errorf("%d tries, want 1", len(s.bodies))
	}
}

func TestNetworkErrorRetriesOnlyIdempotentMethods(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused from now on
	for method, wantWaits := range map[string]int{http.MethodGet: 2, http.MethodPut: 2, http.MethodPost: 0} {
		var waits []time.Duration
		tr := newTransport(&waits)
		tr.MaxAttempts = 3
		req, _ := http.NewRequest(method, url, strings.NewReader("x"))
		if _, err := tr.Client(0).Do(req); err == nil {
			t.Errorf("%s: no error from a closed server", method)
		}
		if len(waits) != wantWaits {
			t.Errorf("%s: %d retries, want %d", method, len(waits), wantWaits)
		}
	}
}

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
