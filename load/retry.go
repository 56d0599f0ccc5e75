package load

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
)

// RetryPolicy bounds how a transient ClickHouse error is retried. Every
// write of the job is an idempotent upsert, so repeating one is safe.
type RetryPolicy struct {
	Attempts int           // tries in all (1: no retry)
	Base     time.Duration // first wait; doubles each time
	Max      time.Duration // longest wait
}

// DefaultRetry tries 6 times over about 15 seconds.
var DefaultRetry = RetryPolicy{Attempts: 6, Base: 250 * time.Millisecond, Max: 5 * time.Second}

// transientCodes are ClickHouse error codes worth another try: overload,
// timeouts, network trouble, replicas or Keeper away.
var transientCodes = map[proto.Error]bool{
	proto.ErrUnexpectedEndOfFile:        true,
	proto.ErrTimeoutExceeded:            true,
	proto.ErrTooManySimultaneousQueries: true,
	proto.ErrNoFreeConnection:           true,
	proto.ErrSocketTimeout:              true,
	proto.ErrNetworkError:               true,
	proto.ErrMemoryLimitExceeded:        true,
	proto.ErrTableIsReadOnly:            true,
	proto.ErrTooManyParts:               true,
	proto.ErrTooFewLiveReplicas:         true,
	proto.ErrUnknownStatusOfInsert:      true,
	proto.ErrSystemError:                true,
	proto.ErrKeeperException:            true,
}

// IsTransient reports whether err may go away on its own: a network error
// or one of the ClickHouse codes above. Context cancellation and every other
// server error (syntax, unknown table, access denied, …) are permanent.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return transientCodes[proto.Error(ex.Code)]
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	return false
}

// retry runs op until it succeeds, fails permanently, runs out of attempts
// or ctx ends; the wait between tries doubles up to the policy's maximum.
func (s *Sink) retry(ctx context.Context, op func() error) error {
	p := s.Retry
	if p.Attempts < 1 {
		p.Attempts = 1
	}
	wait := p.Base
	var err error
	for attempt := 1; ; attempt++ {
		err = op()
		if err == nil || attempt >= p.Attempts || !IsTransient(err) {
			return err
		}
		if s.OnRetry != nil {
			s.OnRetry(attempt, err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(wait*2, p.Max)
	}
}

// retryValue is retry for an operation that returns a value.
func retryValue[T any](ctx context.Context, s *Sink, op func() (T, error)) (T, error) {
	var v T
	err := s.retry(ctx, func() (err error) {
		v, err = op()
		return err
	})
	return v, err
}
