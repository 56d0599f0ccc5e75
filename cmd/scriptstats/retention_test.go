package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// TestKeepRunsDays: --keep-runs-days drops the per-run rows of whole months
// older than N days while every daily aggregate stays equal to the
// PostgreSQL oracle; a change at the source to a run of a dropped month
// leaves the frozen aggregates as they were until a backfill of those days
// recomputes them exactly (and the months are dropped again).
func TestKeepRunsDays(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	now := time.Now().UTC()
	opt := smallHistory(71, 3000)
	opt.Days, opt.Odd, opt.End = 100, false, now
	e.generate(opt)
	e.migrate()
	const keep = 40
	e.extra = append(e.extra, "--keep-runs-days", strconv.Itoa(keep))
	edge := now.AddDate(0, 0, -keep)
	keptFrom := time.Date(edge.Year(), edge.Month(), 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()

	// checkRuns: the per-run views hold exactly the source's runs of the
	// kept months (counted in PostgreSQL), the aggregate views every day.
	checkRuns := func(stage string) {
		t.Helper()
		var want int64
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM task_log
			WHERE (coalesce(started_at, created_at) AT TIME ZONE 'UTC')::date >= $1`, keptFrom).Scan(&want); err != nil {
			t.Fatal(err)
		}
		var got, old, steps, links, counted uint64
		if err := e.ch.QueryRow(ctx, `SELECT count(), countIf(day < ?), countIf(status_class != 'unfinished') FROM runs`, keptFrom).
			Scan(&got, &old, &counted); err != nil {
			t.Fatal(err)
		}
		if err := e.ch.QueryRow(ctx, `SELECT count() FROM run_steps WHERE run_id NOT IN (SELECT run_id FROM runs)`).Scan(&steps); err != nil {
			t.Fatal(err)
		}
		if err := e.ch.QueryRow(ctx, `SELECT count() FROM run_vs_previous WHERE run_id IN (SELECT run_id FROM runs)`).Scan(&links); err != nil {
			t.Fatal(err)
		}
		var allLinks uint64
		if err := e.ch.QueryRow(ctx, `SELECT count() FROM run_vs_previous`).Scan(&allLinks); err != nil {
			t.Fatal(err)
		}
		if int64(got) != want || old != 0 || steps != 0 || links != counted || allLinks != counted {
			t.Fatalf("%s: runs view %d (want %d, the source's runs since %s), %d older; %d steps of dropped runs; run_vs_previous %d of %d rows for %d counted runs",
				stage, got, want, keptFrom.Format(time.DateOnly), old, steps, links, allLinks, counted)
		}
	}
	checkAggregates := func(stage string) {
		t.Helper()
		for _, d := range oracleDiffs(t, e.pool, e.ch, e.tz) {
			switch d.view {
			case "runs", "run_steps", "run_vs_previous":
				continue // per-run: checked by checkRuns
			}
			if d.problems > 0 {
				t.Fatalf("%s: %s differs from the oracle (%d problems): %v", stage, d.view, d.problems, d.lines)
			}
		}
	}
	frozenDaily := func() string {
		t.Helper()
		var s string
		if err := e.ch.QueryRow(ctx, `SELECT toString(groupArray(tuple(script_id, day, total, success, failed, duration_p50)))
			FROM (SELECT * FROM script_daily WHERE day < ? ORDER BY script_id, day)`, keptFrom).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	e.must("run")
	checkRuns("full load")
	checkAggregates("full load")
	if frozenDaily() == "[]" {
		t.Fatal("no day before the kept months: the test history is too short")
	}

	// Changes to runs of the kept months only: late failures, moves to
	// another day, a deletion (found by the backfill below).
	kept := `(coalesce(started_at, created_at) AT TIME ZONE 'UTC')::date >= $1::date + 2`
	e.exec(`UPDATE task_log SET status = 'failed', updated_at = clock_timestamp()
		WHERE id IN (SELECT id FROM task_log WHERE status = 'success' AND `+kept+` ORDER BY id LIMIT 20)`, keptFrom)
	e.exec(`UPDATE task_log SET started_at = started_at - interval '1 day', updated_at = clock_timestamp()
		WHERE id IN (SELECT id FROM task_log WHERE started_at IS NOT NULL AND `+kept+` ORDER BY id DESC LIMIT 20)`, keptFrom)
	e.must("run")
	checkRuns("incremental pass")
	checkAggregates("incremental pass")

	// A run of a dropped month fails late: its day is frozen.
	before := frozenDaily()
	e.exec(`UPDATE task_log SET status = 'failed', updated_at = clock_timestamp()
		WHERE id = (SELECT min(id) FROM task_log WHERE status = 'success'
		  AND (coalesce(started_at, created_at) AT TIME ZONE 'UTC')::date < $1::date - 3)`, keptFrom)
	r := e.must("run")
	if n := passSummary(t, r)["skipped_frozen_days"]; n != float64(1) {
		t.Errorf("skipped_frozen_days = %v, want 1", n)
	}
	if after := frozenDaily(); after != before {
		t.Fatalf("a pass changed the aggregates of frozen days")
	}
	checkRuns("pass with a change in a frozen day")

	from, to := e.dayRange()
	e.must("backfill", "--from", from, "--to", to)
	checkRuns("backfill of every day")
	checkAggregates("backfill of every day")
	if frozenDaily() == before {
		t.Fatalf("the backfill did not recompute the frozen day with the changed run")
	}
}
