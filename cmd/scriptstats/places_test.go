package main

// Runs that move between groups while passes die (issue #8, item 1): a run
// must be in `runs` exactly once, at its day and script, and counted in its
// group only, whatever the source did between the killed pass and the one
// that recovers it.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// moveFailpoints are the failpoints a pass that moves runs can die at, in
// order (schedules/failpoint.go): after_places_add is the window between
// adding a run's new place and writing the run, mid_runs_insert the one
// between writing it and removing its old place.
var moveFailpoints = []string{"after_journal", "after_places_add", "mid_runs_insert", "after_batch", "after_extract", "mid_recompute", "mid_relink", "before_state"}

// sourceChanges are what the source does to the moved runs between the
// killed pass and the next one.
var sourceChanges = []string{"move back", "move to a third day", "move to another script", "delete", "rename the script"}

// TestCrashWhileMovingThenSourceChanges moves runs to the next day, kills
// the pass that carries the move at each failpoint, changes the source
// (moves the runs back, further, to another script, deletes them, renames
// their script), then runs again (and, for deletes, backfills: only a
// backfill finds them). Each time `runs` holds every source run exactly
// once at its day and script, and script_daily/step_daily equal the
// PostgreSQL recomputation; verify agrees.
func TestCrashWhileMovingThenSourceChanges(t *testing.T) {
	t.Parallel()
	rng, _ := relRand(t)
	e := newPrivateCHEnv(t)
	// One batch per pass: the batch the failpoint kills holds the moved runs.
	e.batch = 1_000_000
	opt := smallHistory(41, crashHistory())
	opt.Days = 40
	e.generate(opt)
	e.migrate()
	e.must("run")
	e.checkAll("initial load")
	e.assertRunsPlaced("initial load")
	kills := 0
	for _, fp := range moveFailpoints {
		for _, change := range sourceChanges {
			stage := fmt.Sprintf("moved, killed at %s, then %s", fp, change)
			ids := e.pickRuns(8+rng.IntN(8), rng.Int64())
			e.shiftRuns(ids, "1 day")
			if fp == "mid_recompute" {
				e.touch(1) // mid_recompute fires after 2000 groups
			}
			r := e.cli([]string{"SCRIPTSTATS_FAILPOINTS=" + fp + "=kill"}, "run")
			if !r.killed {
				t.Fatalf("%s: the failpoint was not reached (the pass must die there): %s", stage, r)
			}
			kills++
			e.settleCH()
			switch change {
			case "move back":
				e.shiftRuns(ids, "-1 day")
			case "move to a third day":
				e.shiftRuns(ids, "1 day")
			case "move to another script":
				e.exec(`UPDATE task_log SET script_id = script_id % 120 + 1, updated_at = clock_timestamp() WHERE id = ANY($1)`, ids)
			case "delete":
				e.exec(`DELETE FROM task_log WHERE id = ANY($1)`, ids)
			case "rename the script":
				e.exec(`UPDATE scripts SET name = name || ' (renamed)' WHERE id IN (SELECT script_id FROM task_log WHERE id = ANY($1))`, ids)
			}
			e.mustPass("run")
			if change == "delete" {
				from, to := e.dayRange()
				e.mustPass("backfill", "--from", from, "--to", to)
			}
			e.checkAll(stage)
			e.assertRunsPlaced(stage)
		}
	}
	t.Logf("%d passes killed while moving runs, the source changed each time: every run once, at its place", kills)
}

// TestRunLiveInTwoGroupsRepaired plants runs live in two groups — what
// the old single-location design left after a kill — and shows verify
// reports each, and that each is repaired: by an incremental pass that
// reads the run, by a backfill of the wrong day (even when run_places does
// not list the wrong place), and by a backfill of the right day alone (the
// wrong day's group, outside the range, is recomputed too).
func TestRunLiveInTwoGroupsRepaired(t *testing.T) {
	t.Parallel()
	e := newPrivateCHEnv(t)
	opt := smallHistory(43, 2000)
	opt.Days = 40
	e.generate(opt)
	e.migrate()
	e.must("run")
	ctx := context.Background()
	end := e.gen.End
	type planted struct {
		id         int64
		right      time.Time
		wrong      time.Time
		withPlaces bool
	}
	var runs []planted
	for i, ago := range []int{35, 25, 15} {
		day := end.AddDate(0, 0, -ago)
		var id int64
		err := e.pool.QueryRow(ctx, `SELECT id FROM task_log
			WHERE (coalesce(started_at, created_at) AT TIME ZONE 'UTC')::date = $1::date
			  AND status IN ('success', 'failed') AND updated_at < now() - interval '15 minutes'
			ORDER BY id LIMIT 1`, day.Format(time.DateOnly)).Scan(&id)
		if err != nil {
			t.Fatalf("no old counted run on %s: %v", day.Format(time.DateOnly), err)
		}
		runs = append(runs, planted{id: id, right: day, wrong: day.AddDate(0, 0, 2), withPlaces: i > 0})
	}
	// The copy at the wrong day has a newer version than the right one (as
	// the killed pass wrote it), and its group is journaled so that the next
	// pass counts it there, as the old bug did.
	for _, p := range runs {
		e.chExec(`INSERT INTO runs_state SELECT * REPLACE (toDate32(?) AS day, _version + 1 AS _version)
			FROM runs_state FINAL WHERE run_id = ? AND _is_deleted = 0`, p.wrong.Format(time.DateOnly), p.id)
		if p.withPlaces {
			e.chExec(`INSERT INTO run_places SELECT run_id, script_id, day, _version, 0
				FROM runs_state FINAL WHERE run_id = ? AND _is_deleted = 0`, p.id)
		}
		e.chExec(`INSERT INTO pending_groups (pass_version, script_id, day)
			SELECT (SELECT max(_version) FROM runs_state) + 1, script_id, day
			FROM runs_state FINAL WHERE run_id = ? AND _is_deleted = 0`, p.id)
	}
	e.must("run")
	from, to := e.dayRange()
	r := e.cli(nil, "verify", "--from", from, "--to", to)
	for _, p := range runs {
		if n := e.chCount(`SELECT count() FROM runs WHERE run_id = ?`, p.id); n != 2 {
			t.Fatalf("run %d planted in two groups: %d rows in runs, want 2", p.id, n)
		}
		if !strings.Contains(r.stdout, fmt.Sprintf("run_id=%d", p.id)) {
			t.Fatalf("verify does not report run %d live in two groups: %s", p.id, r)
		}
		// The wrong group counts it too.
		var script int64
		if err := e.pool.QueryRow(ctx, `SELECT script_id FROM task_log WHERE id = $1`, p.id).Scan(&script); err != nil {
			t.Fatal(err)
		}
		if g := fmt.Sprintf("script_daily script_id=%d day=%s", script, p.wrong.Format(time.DateOnly)); !strings.Contains(r.stdout, g) {
			t.Fatalf("verify does not report %s, which counts run %d twice: %s", g, p.id, r)
		}
	}
	if r.code != 1 {
		t.Fatalf("verify with differences: want exit 1: %s", r)
	}
	t.Logf("verify reports the runs live in two groups: %d lines", strings.Count(r.stdout, "\n"))

	// An incremental pass that reads the run removes the extra copy.
	e.exec(`UPDATE task_log SET updated_at = clock_timestamp() WHERE id = $1`, runs[2].id)
	e.must("run")
	e.assertRunOnce(runs[2].id, "incremental pass reading the run")
	// A backfill of the wrong day, run_places not listing it.
	wrong := runs[0].wrong.Format(time.DateOnly)
	e.must("backfill", "--from", wrong, "--to", wrong)
	e.assertRunOnce(runs[0].id, "backfill of the wrong day")
	// A backfill of the right day: the wrong day is outside the range.
	right := runs[1].right.Format(time.DateOnly)
	e.must("backfill", "--from", right, "--to", right)
	e.assertRunOnce(runs[1].id, "backfill of the right day")
	e.checkAll("after the repairs")
	e.assertRunsPlaced("after the repairs")
}

// pickRuns returns n random runs of the history's days (finite times, so
// that they can be moved by a day or two and stay in range).
func (e *jobEnv) pickRuns(n int, seed int64) []int64 {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT id FROM task_log
		WHERE isfinite(coalesce(started_at, created_at)) AND isfinite(created_at)
		  AND (started_at IS NULL OR isfinite(started_at)) AND (finished_at IS NULL OR isfinite(finished_at))
		  AND coalesce(started_at, created_at) BETWEEN $1 AND $2
		ORDER BY md5(id::text || $3::text) LIMIT $4`,
		e.gen.End.AddDate(0, 0, -e.gen.Days), e.gen.End.AddDate(0, 0, -3), fmt.Sprint(seed), n)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	if len(ids) != n {
		e.t.Fatalf("picked %d runs, want %d", len(ids), n)
	}
	return ids
}

// shiftRuns moves runs in time by a PostgreSQL interval: to another day.
func (e *jobEnv) shiftRuns(ids []int64, by string) {
	e.t.Helper()
	e.exec(`UPDATE task_log SET started_at = started_at + $2::interval, finished_at = finished_at + $2::interval,
		created_at = created_at + $2::interval, updated_at = clock_timestamp() WHERE id = ANY($1)`, ids, by)
}

func (e *jobEnv) chExec(q string, args ...any) {
	e.t.Helper()
	if err := e.ch.Exec(context.Background(), q, args...); err != nil {
		e.t.Fatalf("%s: %v", relClip(q, 200), err)
	}
}

func (e *jobEnv) chCount(q string, args ...any) uint64 {
	e.t.Helper()
	var n uint64
	if err := e.ch.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", relClip(q, 200), err)
	}
	return n
}

// assertRunOnce wants the run in `runs` exactly once, at the day and script
// the source gives it.
func (e *jobEnv) assertRunOnce(id int64, stage string) {
	e.t.Helper()
	var script int64
	var day string
	err := e.pool.QueryRow(context.Background(), `SELECT script_id, ((coalesce(started_at, created_at) AT TIME ZONE $2)::date)::text
		FROM task_log WHERE id = $1`, id, e.tz).Scan(&script, &day)
	if err != nil {
		e.t.Fatal(err)
	}
	rows, err := e.ch.Query(context.Background(), `SELECT script_id, toString(day) FROM runs WHERE run_id = ?`, id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s int64
		var d string
		if err := rows.Scan(&s, &d); err != nil {
			e.t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("script %d day %s", s, d))
	}
	if want := fmt.Sprintf("script %d day %s", script, day); len(got) != 1 || got[0] != want {
		e.t.Fatalf("%s: run %d in runs at %v, want once at %s", stage, id, got, want)
	}
}

// assertRunsPlaced wants `runs` to hold every source run whose day is in
// the job's range exactly once, at its script and day, and nothing else:
// by SQL on both sides.
func (e *jobEnv) assertRunsPlaced(stage string) {
	e.t.Helper()
	ctx := context.Background()
	want := map[string]int{}
	rows, err := e.pool.Query(ctx, `SELECT id || ' ' || script_id || ' ' || d::text FROM (
		SELECT id, script_id, (coalesce(started_at, created_at) AT TIME ZONE $1)::date AS d FROM task_log) x
		WHERE d BETWEEN '1900-01-01' AND '2299-12-31'`, e.tz)
	if err != nil {
		e.t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			e.t.Fatal(err)
		}
		want[k]++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	chRows, err := e.ch.Query(ctx, `SELECT concat(toString(run_id), ' ', toString(script_id), ' ', toString(day)) FROM runs`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer chRows.Close()
	got := map[string]int{}
	n := 0
	for chRows.Next() {
		var k string
		if err := chRows.Scan(&k); err != nil {
			e.t.Fatal(err)
		}
		got[k]++
		n++
	}
	if err := chRows.Err(); err != nil {
		e.t.Fatal(err)
	}
	var problems []string
	for k, c := range got {
		if want[k] != c {
			problems = append(problems, fmt.Sprintf("run %s: %d rows in runs, %d in the source", k, c, want[k]))
		}
	}
	for k := range want {
		if got[k] == 0 {
			problems = append(problems, fmt.Sprintf("run %s: missing in runs", k))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		e.t.Fatalf("%s: runs differs from the source (%d problems):\n%s", stage, len(problems), strings.Join(problems[:min(30, len(problems))], "\n"))
	}
	e.t.Logf("%s: runs holds each of the %d source runs once, at its place", stage, n)
}
