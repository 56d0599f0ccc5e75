package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/teststack"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// TestDSTGapDay: in America/Santiago the clocks jump from 2024-09-08 00:00
// (-04) to 01:00 (-03): that day's midnight does not exist and it begins at
// 2024-09-08 04:00 UTC. Runs of 23:30 the day before and 01:10 on the day
// must go to their own days in a pass, a backfill of either day alone, and
// verify of either day alone must report nothing. (A day start taken from
// time.Date was 23:00 of the day before: verify reported false
// differences, a backfill of 09-07 missed its runs of 23:00–24:00.)
func TestDSTGapDay(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.tz = "America/Santiago"
	e.exec(sqlfiles.PostgresReferenceSchema)
	// UTC instants written by hand: -04 before the jump, -03 after.
	e.exec(`INSERT INTO scripts (id, name) VALUES (1, 'dst gap');
INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, created_at) VALUES
  (1, 1, 'success', '2024-09-07 16:00Z', '2024-09-07 16:00:05Z', 5, '2024-09-07 16:00Z'), -- 12:00 -04, 09-07
  (2, 1, 'failed',  '2024-09-08 03:30Z', '2024-09-08 03:30:07Z', 7, '2024-09-08 03:30Z'), -- 23:30 -04, 09-07
  (3, 1, 'success', '2024-09-08 04:10Z', '2024-09-08 04:10:03Z', 3, '2024-09-08 04:10Z'), -- 01:10 -03, 09-08
  (4, 1, 'success', '2024-09-09 03:30Z', '2024-09-09 03:30:02Z', 2, '2024-09-09 03:30Z')  -- 00:30 -03, 09-09
`)
	e.migrate()
	e.must("run")
	want := map[int64]string{1: "2024-09-07", 2: "2024-09-07", 3: "2024-09-08", 4: "2024-09-09"}
	e.assertRunDays("after the first pass", want)
	for _, d := range []string{"2024-09-07", "2024-09-08", "2024-09-09"} {
		e.verifyDays("after the first pass", d, d)
	}

	// Runs that only a backfill brings in (no incremental pass between):
	// 23:45 -04 of 09-07 and 01:20 -03 of 09-08; run 2 is deleted.
	e.exec(`INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, created_at) VALUES
  (5, 1, 'success', '2024-09-08 03:45Z', '2024-09-08 03:45:04Z', 4, '2024-09-08 03:45Z'),
  (6, 1, 'timeout', '2024-09-08 04:20Z', '2024-09-08 04:20:09Z', 9, '2024-09-08 04:20Z');
DELETE FROM task_log WHERE id = 2`)
	e.must("backfill", "--from", "2024-09-07", "--to", "2024-09-07")
	want = map[int64]string{1: "2024-09-07", 3: "2024-09-08", 4: "2024-09-09", 5: "2024-09-07"}
	e.assertRunDays("after a backfill of 2024-09-07", want)
	e.must("backfill", "--from", "2024-09-08", "--to", "2024-09-08")
	want[6] = "2024-09-08"
	e.assertRunDays("after a backfill of 2024-09-08", want)
	for _, d := range []string{"2024-09-07", "2024-09-08", "2024-09-09"} {
		e.verifyDays("after the backfills", d, d)
	}
	e.checkAll("after the backfills")

	// The daily totals, by hand.
	got := map[string]uint64{}
	rows, err := e.ch.Query(context.Background(), "SELECT toString(day), total FROM script_daily WHERE script_id = 1")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d string
		var n uint64
		if err := rows.Scan(&d, &n); err != nil {
			t.Fatal(err)
		}
		got[d] = n
	}
	if fmt.Sprint(got) != fmt.Sprint(map[string]uint64{"2024-09-07": 2, "2024-09-08": 2, "2024-09-09": 1}) {
		t.Fatalf("script_daily totals %v, want 09-07: 2, 09-08: 2, 09-09: 1", got)
	}
}

// verifyDays runs verify over [from, to] and wants no difference.
func (e *jobEnv) verifyDays(stage, from, to string) {
	e.t.Helper()
	r := e.cli(nil, "verify", "--from", from, "--to", to)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "" {
		e.t.Fatalf("%s: verify %s..%s found differences: %s", stage, from, to, r)
	}
}

// assertRunDays wants exactly the runs of want in the runs view, each on
// its day.
func (e *jobEnv) assertRunDays(stage string, want map[int64]string) {
	e.t.Helper()
	rows, err := e.ch.Query(context.Background(), "SELECT run_id, toString(day) FROM runs")
	if err != nil {
		e.t.Fatal(err)
	}
	got := map[int64]string{}
	for rows.Next() {
		var id int64
		var d string
		if err := rows.Scan(&id, &d); err != nil {
			e.t.Fatal(err)
		}
		got[id] = d
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		e.t.Fatalf("%s: runs on days %v, want %v", stage, got, want)
	}
}
