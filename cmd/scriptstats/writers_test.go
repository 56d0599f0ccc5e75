package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// Writer schedules: transactions that stamp updated_at long before they
// commit, in every way PostgreSQL allows, with a lookback far smaller than
// their age. Every committed change must reach ClickHouse at the first
// pass after its commit (CONTRACT.md section 1).

const writerLookback = "1s"

// pastLookback sleeps long enough that a stamp taken before it is older
// than writerLookback at the next pass.
func pastLookback() { time.Sleep(1500 * time.Millisecond) }

// writerConn is a single source connection driven statement by statement.
func writerConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func (e *jobEnv) sqlOn(conn *pgx.Conn, sql string, args ...any) {
	e.t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// successRuns returns n finished, successful runs of the source.
func (e *jobEnv) successRuns(n int) []int64 {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(),
		`SELECT id FROM task_log WHERE status = 'success' AND started_at IS NOT NULL ORDER BY id LIMIT $1`, n)
	if err != nil {
		e.t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) != n {
		e.t.Fatalf("want %d successful runs, got %v (%v)", n, ids, err)
	}
	return ids
}

// wantStatus checks the status ClickHouse holds for each run.
func (e *jobEnv) wantStatus(stage string, want map[int64]string) {
	e.t.Helper()
	for id, status := range want {
		var got string
		if err := e.ch.QueryRow(context.Background(), "SELECT status FROM runs WHERE run_id = ?", id).Scan(&got); err != nil {
			e.t.Fatalf("%s: run %d: %v", stage, id, err)
		}
		if got != status {
			e.t.Errorf("%s: run %d is %q in ClickHouse, the source committed %q", stage, id, got, status)
		}
	}
}

// guaranteeOf is what the pass's summary says of the incremental guarantee.
func guaranteeOf(t *testing.T, r binResult) (holds bool, issue string) {
	t.Helper()
	sum := passSummary(t, r)
	holds, _ = sum["incremental_guarantee"].(bool)
	issue, _ = sum["guarantee_issue"].(string)
	return holds, issue
}

// TestLongTransactionsAreNeverMissed: transactions stamp with now() (their
// start) and write their first row — hence get their transaction id — only
// after later passes; one writes inside savepoints (subtransaction ids).
func TestLongTransactionsAreNeverMissed(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.generate(smallHistory(31, 1500))
	e.migrate()
	ids := e.successRuns(4)
	pass := func() binResult { return e.mustPass("run", "--lookback", writerLookback) }

	// A began before the first (full) pass and writes after the second.
	a := writerConn(t, e.pgDSN)
	e.sqlOn(a, "BEGIN")
	e.sqlOn(a, "SELECT 1")
	r := pass()
	if holds, issue := guaranteeOf(t, r); !holds {
		t.Fatalf("superuser on a primary: guarantee does not hold (%s)", issue)
	}
	// B began between passes and writes in savepoints, one released, one
	// rolled back to and written again.
	b := writerConn(t, e.pgDSN)
	e.sqlOn(b, "BEGIN")
	e.sqlOn(b, "SELECT 1")
	pastLookback()
	pass()
	pastLookback()
	e.sqlOn(a, `UPDATE task_log SET status = 'failed', error_message = 'stamped at BEGIN', updated_at = now() WHERE id = $1`, ids[0])
	pass() // A has not committed
	e.sqlOn(b, "SAVEPOINT s1")
	e.sqlOn(b, `UPDATE task_log SET status = 'timeout', updated_at = now() WHERE id = $1`, ids[1])
	e.sqlOn(b, "RELEASE SAVEPOINT s1")
	e.sqlOn(b, "SAVEPOINT s2")
	e.sqlOn(b, `UPDATE task_log SET status = 'failed', updated_at = now() WHERE id = $1`, ids[2])
	e.sqlOn(b, "ROLLBACK TO SAVEPOINT s2")
	e.sqlOn(b, `UPDATE task_log SET status = 'cancelled', updated_at = statement_timestamp() WHERE id = $1`, ids[2])
	pass()
	pastLookback()
	e.sqlOn(a, "COMMIT")
	e.sqlOn(b, "COMMIT")
	// C stamps with clock_timestamp() and commits before the next pass.
	c := writerConn(t, e.pgDSN)
	e.sqlOn(c, "BEGIN")
	e.sqlOn(c, `UPDATE task_log SET status = 'other-status', updated_at = clock_timestamp() WHERE id = $1`, ids[3])
	e.sqlOn(c, "COMMIT")
	pass()
	e.wantStatus("after long transactions", map[int64]string{ids[0]: "failed", ids[1]: "timeout", ids[2]: "cancelled", ids[3]: "other-status"})
	e.checkAll("after long transactions")

	// doctor on a primary, as a superuser, with the reference schema's
	// trigger: every guarantee holds.
	r = e.cli(nil, "doctor")
	if r.code != 0 {
		t.Fatalf("doctor on a primary: %s", r)
	}
	for _, want := range []string{"ok    incremental guarantee", "stamped by trigger task_log_touch_updated_at (UPDATE): database clock", "ok    time zone data", "ok    sink schema"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor on a primary does not say %q:\n%s", want, r.stdout)
		}
	}
}

// TestPreparedTransactionsAreNeverMissed: two-phase commit, prepared
// before the first pass and between passes, committed passes later.
func TestPreparedTransactionsAreNeverMissed(t *testing.T) {
	t.Parallel()
	srv := teststack.PrivatePostgres(t, teststack.PostgresOptions{Settings: []string{"max_prepared_transactions = 5"}})
	e := newJobEnv(t, srv.CreateDatabase(t, "source", ""), teststack.ClickHouse(t))
	e.generate(smallHistory(32, 1200))
	e.migrate()
	ids := e.successRuns(2)
	pass := func() binResult { return e.mustPass("run", "--lookback", writerLookback) }
	admin := writerConn(t, e.pgDSN)

	// P0 is prepared before the first pass: its start cannot be known, so
	// the pass after it commits reads everything once.
	p0 := writerConn(t, e.pgDSN)
	e.sqlOn(p0, "BEGIN")
	e.sqlOn(p0, `UPDATE task_log SET status = 'failed', updated_at = now() WHERE id = $1`, ids[0])
	e.sqlOn(p0, "PREPARE TRANSACTION 'scriptstats-p0'")
	pass()
	// P1 begins after it, stamps, and is prepared between passes.
	p1 := writerConn(t, e.pgDSN)
	e.sqlOn(p1, "BEGIN")
	e.sqlOn(p1, "SELECT 1")
	pass()
	pastLookback()
	e.sqlOn(p1, "SAVEPOINT s")
	e.sqlOn(p1, `UPDATE task_log SET status = 'timeout', updated_at = now() WHERE id = $1`, ids[1])
	e.sqlOn(p1, "RELEASE SAVEPOINT s")
	e.sqlOn(p1, "PREPARE TRANSACTION 'scriptstats-p1'")
	pass()
	pastLookback()
	pass()
	e.sqlOn(admin, "COMMIT PREPARED 'scriptstats-p1'")
	pass()
	e.wantStatus("after the second prepared transaction committed", map[int64]string{ids[1]: "timeout"})
	e.sqlOn(admin, "COMMIT PREPARED 'scriptstats-p0'")
	r := pass()
	var all int64
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM task_log").Scan(&all); err != nil {
		t.Fatal(err)
	}
	if got := int64(passSummary(t, r)["rows_extracted"].(float64)); got != all {
		t.Errorf("after a transaction prepared before the first pass committed: the pass read %d rows, want all %d", got, all)
	}
	e.wantStatus("after the first prepared transaction committed", map[int64]string{ids[0]: "failed", ids[1]: "timeout"})
	e.checkAll("after prepared transactions")
}

// TestStandbyWithPausedReplay: the job reads a streaming hot standby whose
// replay is paused while the primary commits; it says on every pass that
// the guarantee rests on the lookback, and misses nothing once replay
// resumes.
func TestStandbyWithPausedReplay(t *testing.T) {
	t.Parallel()
	primary := teststack.PrivatePostgres(t)
	primaryDSN := primary.CreateDatabase(t, "source", "")
	e := newJobEnv(t, primaryDSN, teststack.ClickHouse(t))
	e.generate(smallHistory(33, 1200))
	standby := primary.Standby(t)
	e.pgDSN = standby.DSN("source")
	waitReplayed(t, e, standby)
	e.migrate()
	ids := e.successRuns(2)
	pass := func() binResult { return e.mustPass("run", "--lookback", writerLookback) }

	r := pass()
	if holds, issue := guaranteeOf(t, r); holds || issue != "standby" {
		t.Fatalf("pass on a standby: guarantee holds=%v issue=%q, want false, standby", holds, issue)
	}
	if !strings.Contains(r.stderr, "hot standby") {
		t.Fatalf("pass on a standby did not warn: %s", r)
	}
	if d := e.cli(nil, "doctor"); d.code != 1 || !strings.Contains(d.stdout, "FAIL  incremental guarantee  the source is a hot standby") {
		t.Fatalf("doctor on a standby: want exit 1 and the guarantee failed: %s", d)
	}
	sb := writerConn(t, standby.DSN("source"))
	e.sqlOn(sb, "SELECT pg_wal_replay_pause()")
	e.exec(`UPDATE task_log SET status = 'failed', updated_at = now() WHERE id = $1`, ids[0])
	pastLookback()
	pass() // the standby does not have it yet
	e.exec(`UPDATE task_log SET status = 'timeout', updated_at = now() WHERE id = $1`, ids[1])
	pastLookback()
	pass()
	e.sqlOn(sb, "SELECT pg_wal_replay_resume()")
	waitReplayed(t, e, standby)
	pass()
	e.wantStatus("after replay resumed", map[int64]string{ids[0]: "failed", ids[1]: "timeout"})
	e.checkAll("after replay resumed")
}

// waitReplayed waits until the standby has replayed everything the primary
// (e.pool) has written.
func waitReplayed(t *testing.T, e *jobEnv, standby *teststack.PostgresServer) {
	t.Helper()
	ctx := context.Background()
	var target string
	if err := e.pool.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&target); err != nil {
		t.Fatal(err)
	}
	conn := writerConn(t, standby.DSN("source"))
	deadline := time.Now().Add(30 * time.Second)
	for {
		var done bool
		err := conn.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target).Scan(&done)
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("standby did not replay up to %s in 30 s (%v)", target, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHiddenSessionsAreSaid: a SELECT-only role cannot see when other
// roles' transactions began; every pass says so (log and summary), and
// says nothing once the role has pg_read_all_stats.
func TestHiddenSessionsAreSaid(t *testing.T) {
	t.Parallel()
	admin := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	admin.generate(smallHistory(34, 600))
	readerDSN, role, _ := selectOnlyRole(t, admin)
	e := newJobEnv(t, readerDSN, admin.chDSN)
	e.gen = admin.gen
	e.migrate()
	// Another role's open transaction.
	other := writerConn(t, admin.pgDSN)
	admin.sqlOn(other, "BEGIN")
	admin.sqlOn(other, "SELECT 1")
	r := e.mustPass("run")
	if holds, issue := guaranteeOf(t, r); holds || issue != "hidden_sessions" {
		t.Fatalf("SELECT-only role: guarantee holds=%v issue=%q, want false, hidden_sessions", holds, issue)
	}
	if !strings.Contains(r.stderr, "pg_read_all_stats") {
		t.Fatalf("the warning does not name the missing privilege: %s", r)
	}
	if d := e.cli(nil, "doctor"); d.code != 1 || !strings.Contains(d.stdout, "GRANT pg_read_all_stats TO "+role) {
		t.Fatalf("doctor as a SELECT-only role: want exit 1 naming the grant: %s", d)
	}
	admin.exec("GRANT pg_read_all_stats TO " + pgx.Identifier{role}.Sanitize())
	if d := e.cli(nil, "doctor"); d.code != 0 {
		t.Fatalf("doctor as a SELECT-only role with pg_read_all_stats: %s", d)
	}
	r = e.mustPass("run")
	if holds, issue := guaranteeOf(t, r); !holds {
		t.Fatalf("with pg_read_all_stats: guarantee does not hold (%s): %s", issue, r)
	}
	admin.sqlOn(other, "COMMIT")
}
