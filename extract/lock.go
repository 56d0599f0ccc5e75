package extract

import (
	"context"
	"errors"
	"hash/fnv"

	"github.com/jackc/pgx/v5/pgxpool"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// Lock is a PostgreSQL session-level advisory lock held on a connection of
// its own. PostgreSQL frees it the moment that connection ends, so a holder
// killed with SIGKILL never leaves it behind. Taking it needs no privilege,
// so it works for a SELECT-only role.
type Lock struct {
	conn *pgxpool.Conn
	key  int64
}

// LockKey derives the advisory lock key from a name (the ClickHouse database
// the job loads): two jobs loading different databases do not exclude each
// other.
func LockKey(name string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("scriptstats:" + name))
	return int64(h.Sum64())
}

// TryLock takes the lock without waiting; ErrLocked when another session
// holds it.
func (s *Source) TryLock(ctx context.Context, key int64) (*Lock, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, sourceErrorf("postgres connect for lock: %w", err)
	}
	var got bool
	if err := conn.QueryRow(ctx, sqlfiles.PostgresLockTry, key).Scan(&got); err != nil {
		conn.Release()
		return nil, sourceErrorf("postgres advisory lock: %w", err)
	}
	if !got {
		conn.Release()
		return nil, ErrLocked
	}
	// The lock belongs to a server session. Behind a pooler in transaction
	// mode (PgBouncer pool_mode=transaction) the next statement may run in
	// another one, where the lock would be neither seen nor released.
	var held bool
	if err := conn.QueryRow(ctx, sqlfiles.PostgresLockHeld, key).Scan(&held); err != nil {
		_ = conn.Conn().Close(ctx)
		conn.Release()
		return nil, sourceErrorf("postgres advisory lock: %w", err)
	}
	if !held {
		_ = conn.Conn().Close(ctx)
		conn.Release()
		return nil, ErrSessionPooling
	}
	return &Lock{conn: conn, key: key}, nil
}

// ErrSessionPooling: the lock taken by one statement is not held by the
// session of the next, so statements do not share a server session.
var ErrSessionPooling = errors.New("postgres advisory lock: the session that took the lock is not the one running the next statement: is the source behind a connection pooler in transaction mode (PgBouncer pool_mode=transaction)? scriptstats needs a direct connection or session pooling")

// Release frees the lock. If the unlock fails the connection is closed,
// which frees the lock as well.
func (l *Lock) Release(ctx context.Context) error {
	var ok bool
	err := l.conn.QueryRow(ctx, sqlfiles.PostgresLockRelease, l.key).Scan(&ok)
	if err != nil || !ok {
		_ = l.conn.Conn().Close(ctx)
	}
	l.conn.Release()
	if err != nil {
		return sourceErrorf("postgres advisory unlock: %w", err)
	}
	if !ok {
		return sourceErrorf("postgres advisory unlock: this session did not hold the lock: %w", ErrSessionPooling)
	}
	return nil
}
