package store

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"
)

type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// Transient marks err as worth retrying (a backend's 5xx, a timeout).
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying even when it wraps something
// that usually is, e.g. ErrCorrupt because the source itself does not hold
// the bytes expected: reading it again will not help.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsTransient reports whether retrying the operation may succeed: network
// failures, errors a backend marked Transient, and verification mismatches
// (the bytes may have been damaged on the way). Cancellation, ErrExists and
// ErrNotFound are final.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var pe permanentError
	if errors.As(err, &pe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound) {
		return false
	}
	var te transientError
	if errors.As(err, &te) || errors.Is(err, ErrCorrupt) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// Retry says how often and how patiently a transient failure is retried.
type Retry struct {
	Attempts int           // total tries, default 5
	Initial  time.Duration // first wait, default 500ms; doubles each time
	Max      time.Duration // longest wait, default 10s
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 5
	}
	if r.Initial <= 0 {
		r.Initial = 500 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 10 * time.Second
	}
	return r
}

// Do runs op until it succeeds, fails for good, the attempts run out or ctx
// ends. It returns op's last error.
func (r Retry) Do(ctx context.Context, op func(attempt int) error) error {
	r = r.withDefaults()
	wait := r.Initial
	var err error
	for attempt := 1; ; attempt++ {
		err = op(attempt)
		if err == nil || !IsTransient(err) || attempt >= r.Attempts {
			return err
		}
		// Full jitter between wait/2 and wait keeps retrying clients apart.
		d := wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, r.Max)
	}
}
