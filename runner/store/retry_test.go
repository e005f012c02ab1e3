package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestIsTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("bad request"), false},
		{fmt.Errorf("put: %w", ErrExists), false},
		{fmt.Errorf("get: %w", ErrNotFound), false},
		{fmt.Errorf("put: %w", context.Canceled), false},
		{fmt.Errorf("put: %w", ErrCorrupt), true},
		{Permanent(fmt.Errorf("source: %w", ErrCorrupt)), false},
		{Transient(errors.New("503 slow down")), true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("upload: %w", syscall.ECONNRESET), true},
	}
	for _, tc := range tests {
		if got := IsTransient(tc.err); got != tc.want {
			t.Errorf("IsTransient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestRetryStopsOnPermanentErrorsAndWhenContextEnds(t *testing.T) {
	r := Retry{Attempts: 5, Initial: time.Millisecond, Max: 2 * time.Millisecond}
	calls := 0
	err := r.Do(context.Background(), func(int) error { calls++; return ErrExists })
	if calls != 1 || !errors.Is(err, ErrExists) {
		t.Fatalf("permanent error: %d calls, %v", calls, err)
	}
	calls = 0
	err = r.Do(context.Background(), func(int) error { calls++; return Transient(errors.New("503")) })
	if calls != 5 || err == nil {
		t.Fatalf("transient error: %d calls, %v; want 5", calls, err)
	}
	calls = 0
	err = r.Do(context.Background(), func(a int) error {
		calls++
		if a < 3 {
			return Transient(errors.New("503"))
		}
		return nil
	})
	if calls != 3 || err != nil {
		t.Fatalf("recovering op: %d calls, %v", calls, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	slow := Retry{Attempts: 5, Initial: time.Hour}
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	err = slow.Do(ctx, func(int) error { return Transient(errors.New("503")) })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
}
