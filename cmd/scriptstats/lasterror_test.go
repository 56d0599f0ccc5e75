package main

import (
	"context"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/deploy/teststack"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// TestLastErrorAtInfinity: a failed run that finished at +infinity is the
// latest failure of its step (CONTRACT.md section 2: greatest
// coalesce(finished_at, started_at, created_at)), though a later failure
// has a finite finish: step_daily.last_error is its error, after a pass and
// after the group is recomputed from what ClickHouse stores.
func TestLastErrorAtInfinity(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.exec(sqlfiles.PostgresReferenceSchema)
	e.exec(`INSERT INTO scripts (id, name) VALUES (1, 'infinite');
INSERT INTO task_log (id, script_id, status, started_at, finished_at, failed_step_index, error_message, created_at) VALUES
  (1, 1, 'failed', '2026-11-10 10:00Z', 'infinity',          0, 'boom at infinity', '2026-11-10 10:00Z'),
  (2, 1, 'failed', '2026-11-10 11:00Z', '2026-11-10 12:00Z', 0, 'later finite',     '2026-11-10 11:00Z')`)
	e.migrate()
	e.must("run")
	check := func(stage string, wantFailures uint64) {
		t.Helper()
		var failures uint64
		var lastErr *string
		var lastAt *time.Time
		err := e.ch.QueryRow(context.Background(), `SELECT failures, last_error, last_failure_at FROM step_daily
			WHERE script_id = 1 AND day = '2026-11-10' AND step_index = 0`).Scan(&failures, &lastErr, &lastAt)
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if failures != wantFailures || lastErr == nil || *lastErr != "boom at infinity" || lastAt != nil {
			t.Fatalf("%s: failures %d, last_error %s, last_failure_at %v; want %d, \"boom at infinity\", NULL",
				stage, failures, sp(lastErr), lastAt, wantFailures)
		}
		e.verifyDays(stage, "2026-11-10", "2026-11-10")
	}
	check("after the first pass", 2)
	// A third failure, finite and latest of the finite ones: the group is
	// recomputed from runs_state.
	e.exec(`INSERT INTO task_log (id, script_id, status, started_at, finished_at, failed_step_index, error_message, created_at)
		VALUES (3, 1, 'failed', '2026-11-10 13:00Z', '2026-11-10 14:00Z', 0, 'latest finite', '2026-11-10 13:00Z')`)
	e.must("run", "--lookback", "1h")
	check("after a pass recomputing the group from ClickHouse", 3)
}
