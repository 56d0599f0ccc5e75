package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/demodata"
	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// negativeStepsSQL gives the first two scripts steps of negative index:
// the elements of index 0, 1 and 2 of every run not yet rewritten become
// steps −1, −3 and −2147483648 (the least int32, the job's key of the run
// series). From the middle of each script's history on, its runs are 1.5×
// slower, step −1 2.5× and step −2147483648 4×; from three quarters on,
// step −3 1.8×. So the run series and steps −1 and −3 each have a change
// point of their own. $1: stamp the rows now (a writer's update), else
// keep their stamps (as if generated so).
const negativeStepsSQL = `
WITH mid AS (
    SELECT script_id,
           percentile_disc(0.5) WITHIN GROUP (ORDER BY coalesce(started_at, created_at)) AS half,
           percentile_disc(0.75) WITHIN GROUP (ORDER BY coalesce(started_at, created_at)) AS late
    FROM task_log
    WHERE script_id IN (SELECT DISTINCT script_id FROM task_log ORDER BY script_id LIMIT 2)
    GROUP BY script_id
)
UPDATE task_log AS t SET
    steps = (SELECT jsonb_agg(CASE
                 WHEN jsonb_typeof(x.e) <> 'object' OR (x.e ->> 'index') NOT IN ('0', '1', '2') THEN x.e
                 ELSE jsonb_set(
                     CASE WHEN jsonb_typeof(x.e -> 'duration') = 'number' AND (
                               ((x.e ->> 'index') IN ('0', '2') AND coalesce(t.started_at, t.created_at) >= m.half)
                            OR ((x.e ->> 'index') = '1' AND coalesce(t.started_at, t.created_at) >= m.late))
                          THEN jsonb_set(x.e, '{duration}', to_jsonb((x.e ->> 'duration')::float8 *
                               CASE x.e ->> 'index' WHEN '0' THEN 2.5::float8 WHEN '1' THEN 1.8::float8 ELSE 4::float8 END))
                          ELSE x.e END,
                     '{index}', CASE x.e ->> 'index' WHEN '0' THEN '-1'::jsonb WHEN '1' THEN '-3'::jsonb ELSE '-2147483648'::jsonb END)
                 END ORDER BY x.o)
             FROM jsonb_array_elements(t.steps) WITH ORDINALITY AS x(e, o)),
    duration = CASE WHEN coalesce(t.started_at, t.created_at) >= m.half THEN t.duration * 1.5 ELSE t.duration END,
    finished_at = CASE WHEN coalesce(t.started_at, t.created_at) >= m.half
                       THEN t.started_at + (t.finished_at - t.started_at) * 1.5 ELSE t.finished_at END,
    updated_at = CASE WHEN $1 THEN clock_timestamp() ELSE t.updated_at - interval '1 microsecond' END
FROM mid AS m
WHERE t.script_id = m.script_id AND jsonb_typeof(t.steps) = 'array' AND t.steps @> '[{"index": 0}]'`

// TestDetectionNegativeStepIndexes: any integer is a step index (contract
// section 2), −1 included, which older versions used as the key of the
// whole-run series. With steps −1, −3 and −2147483648 that shift (see
// negativeStepsSQL), duration_changes equals the oracle after a first
// load: the whole run and steps −1 and −3 have change points of their own,
// the run-level one names step −1 as what changed, and step −2147483648
// has none (docs/detection.md, "Step indexes"). Then the database is made
// what an older version left — the run series' rows at step −1, the old
// change method in the state — migration 0013 applied to it, and the next
// pass makes it exact again; then an incremental pass with new runs. Twice: the default method, and
// the scan alone (a local method: the bounded recompute plans its reads
// from the counts, which hold step −2147483648 too).
func TestDetectionNegativeStepIndexes(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		negativeStepIndexes(t, nil, transform.DefaultChangeOptions())
	})
	t.Run("bounded scan", func(t *testing.T) {
		t.Parallel()
		opt := transform.DefaultChangeOptions()
		opt.ConfirmWindow = 0
		negativeStepIndexes(t, []string{"SCRIPTSTATS_CHANGE_CONFIRM_WINDOW=0"}, opt)
	})
}

func negativeStepIndexes(t *testing.T, env []string, opt transform.ChangeOptions) {
	ctx := context.Background()
	pgDSN, chDSN, _ := freshDatabases(t)
	e := newJobEnv(t, pgDSN, chDSN)
	e.env = env
	e.generate(demodata.Options{Scripts: 4, Days: 30, Runs: 4000, Seed: 31, StepsShare: 1, MinSteps: 3, MaxSteps: 4})
	e.exec(negativeStepsSQL, false)
	e.migrate()
	e.must("run")
	assertDetectionMatchesSource(t, "first load", e.pool, e.ch, e.tz, opt)

	var scripts []int64
	rows, err := e.pool.Query(ctx, `SELECT DISTINCT script_id FROM task_log ORDER BY script_id LIMIT 2`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		scripts = append(scripts, id)
	}
	rows.Close()
	for _, id := range scripts {
		for _, step := range []string{"step_index IS NULL", "step_index = -1", "step_index = -3"} {
			if n := e.chCount(`SELECT count() FROM duration_changes WHERE script_id = ? AND `+step, id); n == 0 {
				t.Errorf("script %d: no change point where %s", id, step)
			}
		}
		// The run-level change point of the shift names step −1 (2.5×),
		// not step −2147483648 (4×: it has no series).
		if n := e.chCount(`SELECT count() FROM duration_changes WHERE script_id = ? AND step_index IS NULL
			AND direction = 'slower' AND top_step_index = -1`, id); n == 0 {
			t.Errorf("script %d: no slower whole-run change point whose top step is -1", id)
		}
	}
	if n := e.chCount(`SELECT count() FROM duration_changes WHERE step_index = -2147483648 OR top_step_index = -2147483648`); n != 0 {
		t.Errorf("%d change points of step -2147483648", n)
	}

	// What an older version left: the run series at step −1 (moved with
	// the versions they had; nothing at −2147483648), and its change
	// method.
	before := e.chCount(`SELECT count() FROM duration_changes WHERE step_index IS NULL`)
	// (The subqueries: an alias of REPLACE would be what WHERE filters.)
	runSeries := `(SELECT * FROM duration_changes_state FINAL WHERE _is_deleted = 0 AND step_index = -2147483648)`
	e.chExec(`INSERT INTO duration_changes_state SELECT * REPLACE (toInt32(-1) AS step_index) FROM ` + runSeries)
	e.chExec(`DELETE FROM duration_changes_state WHERE step_index = -2147483648`)
	sink, err := load.Open(ctx, e.chDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	st, ok, err := sink.ReadState(ctx)
	if err != nil || !ok {
		t.Fatalf("state: %v, %v", ok, err)
	}
	st.ChangeMethod = fmt.Sprintf("%+v", opt) // what older versions stored
	if err := sink.WriteState(ctx, st, st.CompletedVersion+1); err != nil {
		t.Fatal(err)
	}
	if n := e.chCount(`SELECT count() FROM duration_changes WHERE step_index IS NULL`); before == 0 || n != 0 {
		t.Fatalf("the older database: %d whole-run change points, then %d; want some, then none", before, n)
	}
	// Migration 0013 on it (as if not yet applied): every live row at −1
	// goes to the run series' key — the view shows the whole-run rows
	// again, and step −1's among them, as older versions did.
	oldStep := e.chCount(`SELECT count() FROM duration_changes_state FINAL WHERE _is_deleted = 0 AND step_index = -1
		AND ordered_at_us < 9223372036854775807`)
	e.chExec(`DELETE FROM schema_migrations WHERE version = 13`)
	e.migrate()
	e.migrate() // once only: the guard
	if n := e.chCount(`SELECT count() FROM duration_changes WHERE step_index = -1`); n != 0 {
		t.Errorf("after migration 0013: %d rows of step -1, want none", n)
	}
	if n := e.chCount(`SELECT count() FROM duration_changes WHERE step_index IS NULL`); n != oldStep || n < before {
		t.Errorf("after migration 0013: %d whole-run rows, want the %d stored at -1 (at least the %d whole-run ones)", n, oldStep, before)
	}
	// No source change since the first load: the pass recomputes by the
	// change method alone.
	e.must("run")
	assertDetectionMatchesSource(t, "first pass over an older version's database", e.pool, e.ch, e.tz, opt)

	e.mutate(1, 0)
	e.exec(negativeStepsSQL, true)
	e.must("run")
	assertDetectionMatchesSource(t, "incremental pass with new runs", e.pool, e.ch, e.tz, opt)
}
