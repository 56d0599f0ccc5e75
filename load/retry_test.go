package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestIsTransient(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&clickhouse.Exception{Code: 252, Message: "too many parts"}, true},
		{fmt.Errorf("clickhouse insert runs: %w", &clickhouse.Exception{Code: 210}), true},
		{&clickhouse.Exception{Code: 62, Message: "syntax error"}, false},
		{&clickhouse.Exception{Code: 516, Message: "authentication failed"}, false},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{io.ErrUnexpectedEOF, true},
		{context.Canceled, false},
		{errors.New("something else"), false},
	}
	for _, c := range cases {
		if got := IsTransient(c.err); got != c.want {
			t.Errorf("IsTransient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestRetryStopsOnPermanentErrorsAndCancellation(t *testing.T) {
	s := &Sink{Retry: RetryPolicy{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Millisecond}}
	calls := 0
	err := s.retry(context.Background(), func() error { calls++; return syscall.ECONNRESET })
	if calls != 4 || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("transient: %d calls, %v; want 4 calls", calls, err)
	}
	calls = 0
	err = s.retry(context.Background(), func() error {
		calls++
		if calls < 3 {
			return syscall.ECONNREFUSED
		}
		return nil
	})
	if calls != 3 || err != nil {
		t.Fatalf("recovering: %d calls, %v", calls, err)
	}
	calls = 0
	_ = s.retry(context.Background(), func() error { calls++; return &clickhouse.Exception{Code: 60} })
	if calls != 1 {
		t.Fatalf("permanent error retried: %d calls", calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.Retry = RetryPolicy{Attempts: 100, Base: time.Hour, Max: time.Hour}
	calls = 0
	done := make(chan error)
	go func() { done <- s.retry(ctx, func() error { calls++; return syscall.ECONNRESET }) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("retry did not stop on cancellation")
	}
	if calls != 1 {
		t.Fatalf("calls after cancellation: %d", calls)
	}
}
