package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// selectOnlyRole creates a login role with SELECT on task_log and scripts
// and nothing else, and returns a DSN of the source database for it.
func selectOnlyRole(t *testing.T, e *jobEnv) (dsn, role, password string) {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	role = "scriptstats_reader_" + hex.EncodeToString(b[:])
	password = "Rd-" + hex.EncodeToString(b[:]) + "-p@ss/w%rd"
	ident := pgx.Identifier{role}.Sanitize()
	e.exec(fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, ident, password))
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = e.pool.Exec(ctx, "DROP OWNED BY "+ident)
		_, _ = e.pool.Exec(ctx, "DROP ROLE IF EXISTS "+ident)
	})
	e.exec(fmt.Sprintf(`REVOKE ALL ON SCHEMA public FROM %s`, ident))
	e.exec(fmt.Sprintf(`GRANT USAGE ON SCHEMA public TO %s`, ident))
	e.exec(fmt.Sprintf(`GRANT SELECT ON task_log, scripts TO %s`, ident))
	u, err := url.Parse(e.pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, password)
	dsn = u.String()
	// It really cannot write.
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{
		`UPDATE task_log SET status = status WHERE false`,
		`INSERT INTO scripts VALUES (-1, 'x')`,
		`CREATE TABLE scriptstats_probe (x int)`,
	} {
		if _, err := conn.Exec(context.Background(), q); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("role %s: %s: %v, want permission denied", role, q, err)
		}
	}
	return dsn, role, password
}

// TestOnePassAtATime: two passes started together — one works, the other
// exits 3 with one line; nothing is counted twice; a holder killed with
// SIGKILL frees the lock at once. The job runs as a SELECT-only role.
func TestOnePassAtATime(t *testing.T) {
	t.Parallel()
	admin := newPrivateCHEnv(t) // the test kills a pass: see newPrivateCHEnv
	admin.generate(smallHistory(11, 2000))
	readerDSN, _, _ := selectOnlyRole(t, admin)
	e := newJobEnv(t, readerDSN, admin.chDSN)
	e.gen, e.chs = admin.gen, admin.chs
	e.migrate()
	hold := []string{"SCRIPTSTATS_FAILPOINTS=after_lock=sleep:3s"}

	// Two incremental passes at once (the first, full load).
	a, b := e.start(hold, "run"), e.start(hold, "run")
	ra, rb := a.wait(), b.wait()
	if ra.code == 3 {
		ra, rb = rb, ra
	}
	if ra.code != 0 {
		t.Fatalf("the winner failed: %s", ra)
	}
	line := assertOneLineFailure(t, rb, 3, "another scriptstats pass is running")
	if rb.elapsed > 2500*time.Millisecond || ra.elapsed < 3*time.Second {
		t.Fatalf("the loser must give up at once (%s) while the winner holds the lock (%s)", rb.elapsed, ra.elapsed)
	}
	t.Logf("loser: %q after %s", line, rb.elapsed.Round(time.Millisecond))
	e.checkAll("after two concurrent first passes")

	// A backfill holds the lock: run and backfill are refused.
	admin.mutate(2, 0)
	from, to := e.dayRange()
	bf := e.start(hold, "backfill", "--from", from, "--to", to)
	relWaitFor(t, "the backfill to hold the lock", 10*time.Second, func() bool { return admin.lockHeld() || bf.exited() })
	assertOneLineFailure(t, e.cli(nil, "run"), 3, "another scriptstats pass is running")
	assertOneLineFailure(t, e.cli(nil, "backfill", "--from", from, "--to", to), 3, "another scriptstats pass is running")
	if r := bf.wait(); r.code != 0 {
		t.Fatalf("backfill: %s", r)
	}
	e.must("run")
	e.checkAll("after a backfill and refused passes")

	// Two incremental passes at once, with changes to load.
	admin.mutate(3, 0)
	a, b = e.start(hold, "run"), e.start(hold, "run")
	ra, rb = a.wait(), b.wait()
	if (ra.code != 0 || rb.code != 3) && (ra.code != 3 || rb.code != 0) {
		t.Fatalf("want one pass to work and one to exit 3:\n%s\n%s", ra, rb)
	}
	e.checkAll("after two concurrent incremental passes")

	// A holder killed with SIGKILL: its session ends with it, and with the
	// session the lock.
	admin.mutate(2, 0)
	holder := e.start([]string{"SCRIPTSTATS_FAILPOINTS=after_lock=hang"}, "run")
	relWaitFor(t, "the pass to hold the lock", 10*time.Second, func() bool { return admin.lockHeld() || holder.exited() })
	holder.signal(syscall.SIGKILL)
	if r := holder.wait(); !r.killed {
		t.Fatalf("holder not killed: %s", r)
	}
	killedAt := time.Now()
	relWaitFor(t, "the killed holder's lock to be freed", 2*time.Second, func() bool { return !admin.lockHeld() })
	freed := time.Since(killedAt)
	next := e.cli(nil, "run")
	if next.code != 0 {
		t.Fatalf("the pass after a killed holder: %s", next)
	}
	t.Logf("the lock was free %s after the holder was killed; the next pass finished %s after the kill",
		freed.Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond))
	e.checkAll("after a killed lock holder")
}
