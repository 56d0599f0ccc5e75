package load_test

import (
	"context"
	"testing"
)

// TestFailureAtOfOlderRows: rows written before migration 0005 (without
// failure_at_us) read it as coalesce(finished_at, started_at, created_at)
// of their stored times, in microseconds; values written by hand.
func TestFailureAtOfOlderRows(t *testing.T) {
	dsn, _ := migrated(t)
	conn := openConn(t, dsn)
	// The column list of the insert before 0005. created_at_us is
	// 2026-11-10 10:00 UTC; expected values computed with Python datetime.
	err := conn.Exec(context.Background(), `INSERT INTO runs_state (script_id, day, run_id, status, status_class,
		ordered_at_us, created_at_us, updated_at_us, started_at, finished_at, agg_steps, _version, _is_deleted) VALUES
		(1, '2026-11-10', 1, 'failed', 'failed', 0, 1794304800000000, 0, '2026-11-10 10:00:00', '2026-11-10 12:00:00.5', '', 1, 0),
		(1, '2026-11-10', 2, 'failed', 'failed', 0, 1794304800000000, 0, '2026-11-10 11:00:00', NULL, '', 1, 0),
		(1, '2026-11-10', 3, 'failed', 'failed', 0, 1794304800000000, 0, NULL, NULL, '', 1, 0)`)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]int64{
		1: 1794312000500000, // 2026-11-10 12:00:00.5 UTC
		2: 1794308400000000, // 2026-11-10 11:00:00 UTC
		3: 1794304800000000, // created_at_us
	} {
		if n := count(t, dsn, "SELECT count() FROM runs_state WHERE run_id = ? AND failure_at_us = ?", id, want); n != 1 {
			t.Errorf("run %d: failure_at_us is not %d", id, want)
		}
	}
}
