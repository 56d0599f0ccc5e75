package extract

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// TestLockHeldCheck: the check that the session holding the lock runs the
// next statement finds the lock for keys of every sign and size (the
// classid/objid split of a bigint key), and a lock that the session no
// longer holds — what a pooler in transaction mode produces — is reported
// as such on release, naming the pooler.
func TestLockHeldCheck(t *testing.T) {
	ctx := context.Background()
	src, err := Open(ctx, teststack.Postgres(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, key := range []int64{0, 1, -1, 1<<32 + 7, math.MaxInt64, math.MinInt64, LockKey("scriptstats")} {
		l, err := src.TryLock(ctx, key)
		if err != nil {
			t.Fatalf("key %d: %v", key, err)
		}
		if err := l.Release(ctx); err != nil {
			t.Fatalf("key %d: release: %v", key, err)
		}
	}
	l, err := src.TryLock(ctx, 42)
	if err != nil {
		t.Fatal(err)
	}
	// As if the statement had reached another server session.
	if _, err := l.conn.Exec(ctx, "SELECT pg_advisory_unlock(42)"); err != nil {
		t.Fatal(err)
	}
	err = l.Release(ctx)
	if !errors.Is(err, ErrSessionPooling) || !strings.Contains(err.Error(), "pool_mode=transaction") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("release of a lock the session does not hold: %v", err)
	}
}

// TestCheckServerVersion: PostgreSQL 13 and later are read; older ones are
// refused with one line naming the version.
func TestCheckServerVersion(t *testing.T) {
	for _, c := range []struct {
		num int
		ver string
		ok  bool
	}{
		{90624, "9.6.24", false}, {120017, "12.17", false}, {129999, "12.99", false},
		{130000, "13.0", true}, {130014, "13.14", true}, {170002, "17.2 (Debian 17.2-1)", true},
	} {
		err := CheckServerVersion(c.num, c.ver)
		if (err == nil) != c.ok {
			t.Errorf("%d (%s): %v, want ok=%v", c.num, c.ver, err, c.ok)
		}
		if err != nil && (!errors.Is(err, ErrServerVersion) || !strings.Contains(err.Error(), "PostgreSQL "+c.ver+"; scriptstats needs PostgreSQL 13 or later")) {
			t.Errorf("%d: message %q", c.num, err)
		}
	}
}
