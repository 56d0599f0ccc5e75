package main

import (
	"context"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/teststack"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// TestBackfillTrailingDays: `backfill --trailing-days 7`, what the nightly
// CronJob runs, covers today and the 7 days before in the job's zone (as
// PostgreSQL computes them) and applies the deletes of those days only.
func TestBackfillTrailingDays(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.tz = "Pacific/Kiritimati" // +14: its today is often not UTC's
	e.exec(sqlfiles.PostgresReferenceSchema)
	// Runs at noon local today, 7 days ago (covered) and 8 days ago (not).
	e.exec(`INSERT INTO scripts (id, name) VALUES (1, 'nightly');
INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, created_at)
SELECT g, 1, 'success', t, t + interval '1 second', 1, t
FROM (SELECT g, ((now() AT TIME ZONE 'Pacific/Kiritimati')::date - (g - 1) + time '12:00') AT TIME ZONE 'Pacific/Kiritimati' AS t
      FROM (VALUES (1), (8), (9)) v(g)) x`)
	e.migrate()
	e.must("run")
	e.exec(`DELETE FROM task_log`)
	r := e.must("backfill", "--trailing-days", "7")

	var wantFrom, wantTo string
	if err := e.pool.QueryRow(context.Background(), `SELECT ((now() AT TIME ZONE 'Pacific/Kiritimati')::date - 7)::text,
		(now() AT TIME ZONE 'Pacific/Kiritimati')::date::text`).Scan(&wantFrom, &wantTo); err != nil {
		t.Fatal(err)
	}
	lines := logLines(r.stderr, "backfill of days")
	if len(lines) != 1 || lines[0]["from"] != wantFrom || lines[0]["to"] != wantTo {
		t.Fatalf("backfill --trailing-days 7 covered %v, want %s..%s (today in %s by PostgreSQL)", lines, wantFrom, wantTo, e.tz)
	}
	var left []int64
	rows, err := e.ch.Query(context.Background(), "SELECT run_id FROM runs ORDER BY run_id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		left = append(left, id)
	}
	if len(left) != 1 || left[0] != 9 {
		t.Fatalf("after the deletes and backfill --trailing-days 7: runs %v, want [9] (8 days ago, outside the range)", left)
	}
}
