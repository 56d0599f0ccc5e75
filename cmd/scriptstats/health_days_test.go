package main

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

// TestStepHealthDaySummariesGoStale: step health is composed from per-day
// summaries (schedules/detect_health.go); a change to a run in an old day
// of the window — a late update of its steps, a run moved into another old
// day, a delete found by a backfill — makes that day's summary stale (its
// group is rewritten with the pass's version, and the summary with it),
// and after the pass step_health still equals the definition applied to
// the series read from the source by independent PostgreSQL SQL. Each pass
// takes most days from their summaries and reads only a few run by run
// (the window's first, partial day).
func TestStepHealthDaySummariesGoStale(t *testing.T) {
	t.Parallel()
	pgDSN, chDSN, _ := freshDatabases(t)
	e := newJobEnv(t, pgDSN, chDSN)
	// A history ending today, so that its last days are the window's.
	opt := detectionHistory(11)
	opt.End = time.Now().UTC().Truncate(24 * time.Hour)
	e.generate(opt)
	e.migrate()
	e.mustPass("run")
	check := func(stage string) {
		t.Helper()
		assertDetectionMatchesSource(t, stage, e.pool, e.ch, e.tz, transform.DefaultChangeOptions())
	}
	check("initial load")
	detectCount := func(r binResult, field string) int {
		t.Helper()
		m := regexp.MustCompile(`"` + field + `":(\d+)`).FindStringSubmatch(r.stderr)
		if m == nil {
			t.Fatalf("no %s in the pass log: %s", field, r.stderr)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	ctx := context.Background()
	oldDay := func(daysAgo int) (from, to time.Time) {
		from = opt.End.Add(-time.Duration(daysAgo) * 24 * time.Hour)
		return from, from.Add(24 * time.Hour)
	}
	pass := func(stage string, args ...string) {
		t.Helper()
		if len(args) == 0 {
			args = []string{"run"}
		}
		r := e.mustPass(args[0], args[1:]...)
		check(stage)
		summarized, read := detectCount(r, "health_days_summarized"), detectCount(r, "health_days_read")
		t.Logf("%s: days taken from summaries %d, read run by run %d", stage, summarized, read)
		if summarized == 0 || read >= summarized {
			t.Fatalf("%s: %d days taken from summaries, %d read run by run: the summaries were not used", stage, summarized, read)
		}
	}
	// New runs today: their scripts are recomputed from the stored
	// summaries of the old days, today's runs and the window's first,
	// partial day.
	if tag, err := e.pool.Exec(ctx, `WITH latest AS (SELECT DISTINCT ON (script_id) * FROM task_log
			WHERE jsonb_typeof(steps) = 'array' AND jsonb_array_length(steps) > 0 ORDER BY script_id, id DESC)
		INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, steps, created_at, updated_at)
		SELECT (SELECT max(id) FROM task_log) + row_number() OVER (ORDER BY script_id), script_id, status,
			clock_timestamp() - interval '1 minute', clock_timestamp(), duration, steps, clock_timestamp() - interval '1 minute', clock_timestamp()
		FROM latest`); err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("new runs: %v", err)
	}
	pass("new runs today")

	// Late update: every step of a successful run 5 days ago fails.
	from, to := oldDay(5)
	var id int64
	if err := e.pool.QueryRow(ctx, `UPDATE task_log SET status = 'failed',
		steps = (SELECT jsonb_agg(CASE WHEN s->>'status' = 'success' THEN jsonb_set(s, '{status}', '"failed"') ELSE s END ORDER BY o)
			FROM jsonb_array_elements(steps) WITH ORDINALITY AS a(s, o)),
		updated_at = clock_timestamp()
		WHERE id = (SELECT id FROM task_log WHERE status = 'success' AND jsonb_typeof(steps) = 'array'
			AND jsonb_array_length(steps) > 0 AND started_at >= $1 AND started_at < $2 ORDER BY id LIMIT 1)
		RETURNING id`, from, to).Scan(&id); err != nil {
		t.Fatal(err)
	}
	pass("late update of run " + strconv.FormatInt(id, 10) + " five days ago")

	// A run of 3 days ago moved into 6 days ago.
	from, to = oldDay(3)
	if err := e.pool.QueryRow(ctx, `UPDATE task_log SET started_at = started_at - interval '3 days',
		finished_at = finished_at - interval '3 days', created_at = created_at - interval '3 days', updated_at = clock_timestamp()
		WHERE id = (SELECT id FROM task_log WHERE jsonb_typeof(steps) = 'array' AND jsonb_array_length(steps) > 0
			AND started_at >= $1 AND started_at < $2 ORDER BY id DESC LIMIT 1)
		RETURNING id`, from, to).Scan(&id); err != nil {
		t.Fatal(err)
	}
	pass("run " + strconv.FormatInt(id, 10) + " moved from 3 to 6 days ago")

	// Runs of 4 days ago deleted, found by a backfill of those days.
	from, to = oldDay(4)
	tag, err := e.pool.Exec(ctx, `DELETE FROM task_log WHERE id IN (SELECT id FROM task_log
		WHERE jsonb_typeof(steps) = 'array' AND jsonb_array_length(steps) > 0 AND started_at >= $1 AND started_at < $2
		ORDER BY id LIMIT 5)`, from, to)
	if err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("delete: %v (%d rows)", err, tag.RowsAffected())
	}
	day := from.Format(time.DateOnly)
	pass("5 runs of 4 days ago deleted, backfill of that day", "backfill", "--from", day, "--to", day)
}
