// Package retry owns how imagebot's forge API clients ride out a forge's bad
// moments: an http.RoundTripper that retries 5xx answers, 429s and GitHub's
// rate-limit 403s with bounded, jittered backoff, honouring Retry-After and
// X-RateLimit-Reset, and giving up as soon as the request's context ends.
package retry

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// Transport is an http.RoundTripper that retries. The zero value is usable.
type Transport struct {
	Base        http.RoundTripper // nil: http.DefaultTransport
	MaxAttempts int               // all tries, first included; 0: 5
	MinBackoff  time.Duration     // first backoff; 0: 250ms
	MaxBackoff  time.Duration     // backoff cap; 0: 10s
	// MaxWait caps a wait the forge asks for (Retry-After, rate-limit
	// reset). When the forge asks for longer, the answer is returned as it
	// is, so the caller can keep its work for later instead of blocking.
	// 0: 2 minutes.
	MaxWait time.Duration
	Log     zerolog.Logger
	// Sleep waits for d or until ctx ends; tests replace it. nil: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for X-RateLimit-Reset and HTTP-date Retry-After.
	Now func() time.Time
}

// Client returns an *http.Client using t, with timeout as its overall limit
// (0 for none).
func (t *Transport) Client(timeout time.Duration) *http.Client {
	return &http.Client{Transport: t, Timeout: timeout}
}

// RoundTrip sends req, retrying as the package doc says.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	attempts := t.MaxAttempts
	if attempts <= 0 {
		attempts = 5
	}
	rewindable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for try := 1; ; try++ {
		if try > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("retry %s %s: rewind body: %w", req.Method, req.URL.Path, err)
			}
			req = req.Clone(ctx)
			req.Body = body
		}
		resp, err := t.base().RoundTrip(req)
		wait, retry := t.decide(req, resp, err, try)
		if !retry || try >= attempts || !rewindable {
			return resp, err
		}
		if resp != nil {
			// Drain a little so the connection can be reused, then drop it.
			_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
			resp.Body.Close()
		}
		t.Log.Warn().Str("method", req.Method).Str("path", req.URL.Path).Int("try", try).
			Int("status", statusOf(resp)).AnErr("error", err).Dur("wait", wait).Msg("forge API call failed, retrying")
		if serr := t.sleep(ctx, wait); serr != nil {
			if err == nil {
				err = fmt.Errorf("%s %s: %d", req.Method, req.URL.Path, statusOf(resp))
			}
			return nil, fmt.Errorf("retry %s %s: %w (last: %v)", req.Method, req.URL.Path, serr, err)
		}
	}
}

// decide says whether to retry after this try, and how long to wait first.
func (t *Transport) decide(req *http.Request, resp *http.Response, err error, try int) (time.Duration, bool) {
	if err != nil {
		if req.Context().Err() != nil || !idempotent(req.Method) {
			return 0, false // a POST may have landed; don't post it twice
		}
		return t.backoff(try), true
	}
	code := resp.StatusCode
	if asked, ok := t.askedWait(resp); ok && (code == http.StatusTooManyRequests || code == http.StatusForbidden || code >= 500) {
		if asked > t.maxWait() {
			return 0, false
		}
		return asked, true
	}
	switch {
	case code == http.StatusTooManyRequests:
		return t.backoff(try), true
	case code >= 500 && code != http.StatusNotImplemented:
		return t.backoff(try), true
	}
	return 0, false
}

// askedWait reads how long the forge asked us to wait: Retry-After (seconds
// or HTTP date), or, with X-RateLimit-Remaining: 0, until X-RateLimit-Reset
// (Unix seconds; GitHub's primary and secondary limits).
func (t *Transport) askedWait(resp *http.Response) (time.Duration, bool) {
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if at, err := http.ParseTime(ra); err == nil {
			return max(at.Sub(t.now()), 0), true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Unix(reset, 0).Sub(t.now())+time.Second, 0), true
		}
	}
	return 0, false
}

// backoff is exponential with full jitter between half and all of the step.
func (t *Transport) backoff(try int) time.Duration {
	lo, hi := t.MinBackoff, t.MaxBackoff
	if lo <= 0 {
		lo = 250 * time.Millisecond
	}
	if hi <= 0 {
		hi = 10 * time.Second
	}
	step := lo << min(try-1, 20)
	if step > hi || step <= 0 {
		step = hi
	}
	return step/2 + rand.N(step/2+1)
}

func (t *Transport) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

func (t *Transport) maxWait() time.Duration {
	if t.MaxWait > 0 {
		return t.MaxWait
	}
	return 2 * time.Minute
}

func (t *Transport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return true
	}
	return false
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}
