package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/deploy/demodata"
)

// TestEndToEndMatchesRecomputation loads generated data with odd values
// through the real commands, then changes the source the ways production
// does, and after every pass compares every row and column of every public
// view with the oracle, an independent recomputation in PostgreSQL SQL
// (testdata/oracle_*.sql).
func TestEndToEndMatchesRecomputation(t *testing.T) {
	pgDSN, chDSN, pool := freshDatabases(t)
	ctx := context.Background()
	const tz = "America/New_York"
	// The window spans the 25-hour day of 2026-11-01 in New York.
	end := time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)
	_, err := demodata.Generate(ctx, pool, demodata.Options{
		Scripts: 12, Days: 12, Runs: 6000, End: end, Seed: 7,
		StepsShare: 0.7, MinSteps: 3, MaxSteps: 8, Stories: true, Odd: true, OddRate: 0.05,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := openClickHouse(t, chDSN)
	common := []string{"--pg-dsn", pgDSN, "--clickhouse-dsn", chDSN, "--timezone", tz, "--log-format", "json", "--batch-size", "700"}
	runPass := func(extra ...string) { mustCLI(t, append(append([]string{"run"}, common...), extra...)...) }
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	mustCLI(t, "migrate", "--clickhouse-dsn", chDSN)
	mustCLI(t, "migrate", "--clickhouse-dsn", chDSN) // again: idempotent
	runPass()
	assertViewsMatchOracle(t, "initial load", pool, ch, tz)

	// Late updates of old runs, a re-run of an old day, running runs that
	// finish, a moved run, renamed script and step, new runs.
	exec(`UPDATE task_log SET status = 'failed', error_message = 'fixed later: flaky'
	      WHERE id IN (SELECT id FROM task_log WHERE status = 'success' ORDER BY id LIMIT 25)`)
	exec(`UPDATE task_log SET status = 'success', duration = coalesce(duration, 10) * 1.5, steps = NULL, failed_step_index = NULL
	      WHERE started_at >= '2026-10-28 00:00-04' AND started_at < '2026-10-29 00:00-04'`)
	exec(`UPDATE task_log SET status = 'success', finished_at = started_at + interval '42 seconds', duration = NULL
	      WHERE status = 'running'`)
	exec(`UPDATE task_log SET started_at = started_at + interval '1 day', finished_at = finished_at + interval '1 day'
	      WHERE id IN (SELECT id FROM task_log WHERE started_at IS NOT NULL AND status <> 'running' ORDER BY id DESC LIMIT 7 OFFSET 400)`)
	exec(`UPDATE scripts SET name = name || ' (renamed)' WHERE id = 1`)
	exec(`UPDATE task_log SET steps = jsonb_set(steps, '{0,name}', '"renamed first step"')
	      WHERE id IN (SELECT id FROM task_log WHERE jsonb_typeof(steps) = 'array' AND jsonb_typeof(steps -> 0) = 'object'
	                   ORDER BY id DESC LIMIT 30)`)
	exec(`INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, steps)
	      SELECT 900000 + g, 1 + g % 5, 'success', '2026-11-03 10:00Z'::timestamptz + g * interval '1 minute',
	             '2026-11-03 10:00:30Z'::timestamptz + g * interval '1 minute', NULL,
	             '[{"index":0,"name":"open","status":"success","duration":1}]'
	      FROM generate_series(1, 40) g`)
	runPass()
	assertViewsMatchOracle(t, "after late updates, re-run day, moves, renames", pool, ch, tz)
	var name string
	if err := ch.QueryRow(ctx, "SELECT any(script_name) FROM script_daily WHERE script_id = 1").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(name, " (renamed)") {
		t.Fatalf("script rename did not reach the views: %q", name)
	}

	// Runs moved to another script (both scripts' run_vs_previous chains
	// change), a deleted script row (its runs count under the placeholder),
	// steps emptied down to the failed step with a long multibyte error,
	// start-time ties broken by run id, finished runs running again, a
	// failed step with no error of its own.
	exec(`UPDATE task_log SET script_id = 3
	      WHERE id IN (SELECT id FROM task_log WHERE script_id = 2 ORDER BY id LIMIT 20 OFFSET 50)`)
	exec(`DELETE FROM scripts WHERE id = 4`)
	exec(`UPDATE task_log SET steps = '[]', failed_step_index = 1, failed_step_name = 'fallback step', status = 'failed',
	             error_message = repeat('é', 3000)
	      WHERE id IN (SELECT id FROM task_log WHERE jsonb_typeof(steps) = 'array' ORDER BY id LIMIT 10 OFFSET 200)`)
	exec(`UPDATE task_log SET started_at = t.first, finished_at = t.first + interval '5 seconds', duration = NULL
	      FROM (SELECT script_id, min(started_at) AS first FROM task_log WHERE started_at > '2026-10-30Z' GROUP BY script_id) t
	      WHERE task_log.script_id = t.script_id
	        AND task_log.id IN (SELECT id FROM task_log WHERE started_at > '2026-10-30Z' ORDER BY id DESC LIMIT 30)`)
	exec(`UPDATE task_log SET status = 'running', finished_at = NULL
	      WHERE id IN (SELECT id FROM task_log WHERE status = 'success' ORDER BY id DESC LIMIT 5 OFFSET 100)`)
	exec(`UPDATE task_log SET steps = '[{"index":0,"name":"a","status":"success"},{"index":1,"name":"b","status":"failed"},{"index":1,"name":"c","status":"success"},{"index":2,"status":"skipped"}]',
	             status = 'failed', error_message = 'run-level error'
	      WHERE id IN (SELECT id FROM task_log WHERE script_id = 5 ORDER BY id DESC LIMIT 6)`)
	runPass()
	assertViewsMatchOracle(t, "after moves between scripts, a deleted script, fallback steps, ties", pool, ch, tz)

	// An out-of-order commit: a transaction writes (stamped before the next
	// pass) but commits only after it. With no lookback margin at all, only
	// the snapshot bookkeeping can catch it.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lateID int64
	if err := tx.QueryRow(ctx, `UPDATE task_log SET status = 'cancelled', updated_at = clock_timestamp()
	      WHERE id = (SELECT min(id) FROM task_log WHERE status = 'success') RETURNING id`).Scan(&lateID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	runPass("--lookback", "0s")
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	runPass("--lookback", "0s")
	var status string
	if err := ch.QueryRow(ctx, "SELECT status FROM runs WHERE run_id = ?", lateID).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "cancelled" {
		t.Fatalf("out-of-order commit lost: run %d is %q in ClickHouse", lateID, status)
	}
	assertViewsMatchOracle(t, "after an out-of-order commit", pool, ch, tz)

	// Deletions are found by backfill (and by verify before it).
	exec(`DELETE FROM task_log WHERE id IN (SELECT id FROM task_log ORDER BY id LIMIT 30 OFFSET 1000)`)
	runPass()
	code, out, _ := cli(t, append([]string{"verify", "--from", "2026-10-20", "--to", "2026-11-04"}, common...)...)
	if code != 1 || !strings.Contains(out, "not in the source") {
		t.Fatalf("verify after deletions: exit %d, want 1 with the deleted runs listed; output:\n%.2000s", code, out)
	}
	mustCLI(t, append([]string{"backfill", "--from", "2026-10-20", "--to", "2026-11-04"}, common...)...)
	assertViewsMatchOracle(t, "after deletions and backfill", pool, ch, tz)
	out = mustCLI(t, append([]string{"verify", "--from", "2026-10-20", "--to", "2026-11-04"}, common...)...)
	if out != "" {
		t.Fatalf("verify after backfill printed differences:\n%.2000s", out)
	}
}
