package main

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/deploy/demodata"
	"github.com/scriptstats/scriptstats/transform"
)

// detectionHistory has a few scripts with long series (a thousand runs
// each) and the demo stories: a step that slows the whole run by 40 % from
// a known day, a step breaking, a flaky step.
func detectionHistory(seed int64) demodata.Options {
	return demodata.Options{Scripts: 8, Days: 30, Runs: 8000, Seed: seed, StepsShare: 0.8,
		MinSteps: 3, MaxSteps: 6, Stories: true}
}

// TestDetectionMatchesSourceAcrossPasses: after a first load, incremental
// passes with late updates, moves and new runs, deletes and a backfill, and
// passes killed at a failpoint followed by more source changes,
// duration_changes and step_health equal the definitions applied to the
// series read from the source by independent SQL. Twice: with the default
// change-point method, and with the reference scan alone — a method of
// bounded dependency radius, so that the passes recompute only the part
// of each series they can have changed (schedules/detect_changes.go). The
// pass of new runs only must take some scripts' values from their change
// tails.
func TestDetectionMatchesSourceAcrossPasses(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		detectionAcrossPasses(t, nil, transform.DefaultChangeOptions())
	})
	t.Run("bounded scan", func(t *testing.T) {
		t.Parallel()
		opt := transform.DefaultChangeOptions()
		opt.ConfirmWindow = 0
		if _, local := opt.Radius(); !local {
			t.Fatal("the scan alone is not local")
		}
		detectionAcrossPasses(t, []string{"SCRIPTSTATS_CHANGE_CONFIRM_WINDOW=0"}, opt)
	})
}

func detectionAcrossPasses(t *testing.T, env []string, opt transform.ChangeOptions) {
	e := newPrivateCHEnv(t)
	e.env = env
	e.generate(detectionHistory(7))
	e.migrate()
	e.must("run")
	check := func(stage string) {
		t.Helper()
		if n, _ := assertDetectionMatchesSource(t, stage, e.pool, e.ch, e.tz, opt); n == 0 {
			t.Fatalf("%s: no change point at all; the regression story must show", stage)
		}
	}
	check("initial load")
	e.mutate(3, 0)
	e.mustPass("run")
	check("incremental pass after late updates, moves and new runs")
	e.mutate(2, 10)
	from, to := e.dayRange()
	e.mustPass("backfill", "--from", from, "--to", to)
	check("backfill after deletes")
	for _, fp := range []string{"mid_detect", "before_state", "after_extract", "after_journal"} {
		e.mutate(2, 0)
		r := e.cli([]string{"SCRIPTSTATS_FAILPOINTS=" + fp + "=kill"}, "run")
		if !r.killed {
			t.Fatalf("killed at %s: the failpoint was not reached: %s", fp, r)
		}
		e.settleCH()
		e.mutate(1, 0)
		e.mustPass("run")
		check("pass after one killed at " + fp + " and more source changes")
	}
	// New runs alone: with the scan alone (radius 24) most series end
	// quiet, and the pass proves them unchanged by their quiet marks.
	e.mutSeq++
	if _, err := demodata.Mutate(context.Background(), e.pool, demodata.MutateOptions{
		Gen: e.gen, Seed: e.gen.Seed*1000 + e.mutSeq, NewRuns: 60}); err != nil {
		t.Fatal(err)
	}
	r := e.mustPass("run")
	check("pass with new runs only")
	m := regexp.MustCompile(`"quiet_series":(\d+)`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no quiet_series in the pass log: %s", r.stderr)
	}
	if opt.ConfirmWindow == 0 && m[1] == "0" {
		t.Fatalf("no series kept by its quiet mark in a pass of new runs only: %s", r.stderr)
	}
	// The scripts with new runs take their values before the changed days
	// from their change tails (schedules/changetail.go), and the views
	// still equal the oracle (check above).
	tails := regexp.MustCompile(`"tails":(\d+)`).FindStringSubmatch(r.stderr)
	if tails == nil || tails[1] == "0" {
		t.Fatalf("no script served by its change tail in a pass of new runs only: %s", r.stderr)
	}
	t.Logf("pass of new runs only: %s series kept by their quiet marks, %s scripts served by their change tails", m[1], tails[1])
}

// TestDetectionChangeWindowFlag: --change-window sets w of the scan.
func TestDetectionChangeWindowFlag(t *testing.T) {
	t.Parallel()
	pgDSN, chDSN, _ := freshDatabases(t)
	e := newJobEnv(t, pgDSN, chDSN)
	e.generate(detectionHistory(11))
	e.extra = []string{"--change-window", "20"}
	e.migrate()
	e.must("run")
	opt := transform.DefaultChangeOptions()
	opt.Window = 20
	assertDetectionMatchesSource(t, "first load with --change-window 20", e.pool, e.ch, e.tz, opt)
	r := e.cli(nil, "run", "--change-window", "1")
	if r.code == 0 {
		t.Fatalf("--change-window 1 accepted: %s", r)
	}
}

// TestDetectionFindsPlantedStories: the views name the planted stories —
// a +50 % shift of a whole script on a known day (a slower run-level
// change point there), a step that makes its script 1.4× slower (a change
// point whose "what changed" is that step), a step broken from a known
// instant (broken, since its first attempt from then), a step failing
// 15 % of the time (flaky).
func TestDetectionFindsPlantedStories(t *testing.T) {
	t.Parallel()
	pgDSN, chDSN, _ := freshDatabases(t)
	e := newJobEnv(t, pgDSN, chDSN)
	opt := detectionHistory(5)
	opt.Runs, opt.Days, opt.DetectionStories = 12000, 30, true
	opt.End = time.Now().UTC().Truncate(time.Hour)
	sum := e.generate(opt)
	st := sum.Stories
	if st.Shift == nil || st.Broken == nil || st.Regression == nil || st.Flaky == nil {
		t.Fatalf("stories missing: %+v", st)
	}
	e.migrate()
	e.must("run")
	assertDetectionMatchesSource(t, "planted stories", e.pool, e.ch, e.tz, transform.DefaultChangeOptions())
	ctx := context.Background()

	runLevel := func(script int64, day string) (ratio float64, dir string, top *int32, found bool) {
		t.Helper()
		rows, err := e.ch.Query(ctx, `SELECT ratio, direction, top_step_index, dateDiff('day', toDate(?), day) AS off
			FROM duration_changes WHERE script_id = ? AND step_index IS NULL ORDER BY abs(off) LIMIT 1`, day, script)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var off int64
			if err := rows.Scan(&ratio, &dir, &top, &off); err != nil {
				t.Fatal(err)
			}
			found = off >= -1 && off <= 1
		}
		return ratio, dir, top, found
	}
	if ratio, dir, _, ok := runLevel(st.Shift.ScriptID, st.Shift.Day); !ok || dir != "slower" || ratio < 1.35 || ratio > 1.65 {
		t.Errorf("the +50 %% shift of script %d on %s: change point found %v, %s ×%.3f", st.Shift.ScriptID, st.Shift.Day, ok, dir, ratio)
	}
	if ratio, dir, top, ok := runLevel(st.Regression.ScriptID, st.Regression.Day); !ok || dir != "slower" || ratio < 1.25 ||
		top == nil || int(*top) != st.Regression.StepIndex {
		t.Errorf("the regression of script %d step %d on %s: change point found %v, %s ×%.3f, top step %v",
			st.Regression.ScriptID, st.Regression.StepIndex, st.Regression.Day, ok, dir, ratio, top)
	}

	var wantSince time.Time
	// The step's first attempt from then: in the steps array, or the failed
	// step of a run without one (contract section 2).
	if err := e.pool.QueryRow(ctx, `SELECT min(coalesce(t.started_at, t.created_at)) FROM task_log AS t
		WHERE t.script_id = $1 AND coalesce(t.started_at, t.created_at) >= $2
		  AND t.status NOT IN ('pending', 'queued', 'running')
		  AND (EXISTS (SELECT FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t.steps) = 'array' THEN t.steps ELSE '[]' END) AS s
		               WHERE (s ->> 'index')::int = $3 AND s ->> 'status' IN ('success', 'failed'))
		       OR (coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(t.steps) = 'array' THEN t.steps END), 0) = 0
		           AND t.failed_step_index = $3))`,
		st.Broken.ScriptID, st.Broken.From, st.Broken.StepIndex).Scan(&wantSince); err != nil {
		t.Fatal(err)
	}
	health := func(script int64, step int) (state string, since *time.Time) {
		t.Helper()
		if err := e.ch.QueryRow(ctx, `SELECT state, since FROM step_health WHERE script_id = ? AND step_index = ?`,
			script, step).Scan(&state, &since); err != nil {
			t.Fatalf("step_health of script %d step %d: %v", script, step, err)
		}
		return state, since
	}
	if state, since := health(st.Broken.ScriptID, st.Broken.StepIndex); state != "broken" || since == nil || !since.Equal(wantSince) {
		t.Errorf("the step broken from %v: %s since %v, want broken since %v", st.Broken.From, state, since, wantSince)
	}
	// The flaky step's runs are drawn at random, and the draws depend on
	// the hour the history ends (opt.End): now and then its last three
	// executions all fail, and then the contract's first rule says broken.
	// The source decides which (the last three executions, ordered as the
	// contract orders them); either way the state must be that one.
	wantFlaky := "flaky"
	var lastFailed int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'failed') FROM (
		SELECT coalesce(e.st, 'failed') AS status
		FROM task_log AS t
		LEFT JOIN LATERAL (SELECT s ->> 'status' AS st
			FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t.steps) = 'array' THEN t.steps ELSE '[]' END) AS s
			WHERE (s ->> 'index')::int = $2 AND s ->> 'status' IN ('success', 'failed') LIMIT 1) AS e ON true
		WHERE t.script_id = $1 AND t.status NOT IN ('pending', 'queued', 'running')
		  AND (e.st IS NOT NULL
		       OR (coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(t.steps) = 'array' THEN t.steps END), 0) = 0
		           AND t.failed_step_index = $2))
		ORDER BY coalesce(t.started_at, t.created_at) DESC, t.id DESC LIMIT 3) AS last3`,
		st.Flaky.ScriptID, st.Flaky.StepIndex).Scan(&lastFailed); err != nil {
		t.Fatal(err)
	}
	if lastFailed == 3 {
		wantFlaky = "broken"
		t.Logf("the flaky step's last three executions failed by chance (history ending %v): broken comes first", opt.End)
	}
	if state, _ := health(st.Flaky.ScriptID, st.Flaky.StepIndex); state != wantFlaky {
		t.Errorf("the step failing 15 %% of the time: %s, want %s", state, wantFlaky)
	}
}

// TestDetectionOddValuesInZone: odd values (NaN, infinite and negative
// durations, steps that are no array, duplicate indexes, far and infinite
// times, missing scripts…) and a zone with DST changes: both views still
// equal the definitions, after a first load and an incremental pass.
func TestDetectionOddValuesInZone(t *testing.T) {
	t.Parallel()
	pgDSN, chDSN, _ := freshDatabases(t)
	e := newJobEnv(t, pgDSN, chDSN)
	e.tz = "Europe/Berlin"
	opt := smallHistory(23, 6000)
	opt.Scripts, opt.Days = 10, 40
	opt.End = time.Now().UTC().Truncate(time.Hour)
	e.generate(opt)
	e.migrate()
	e.must("run")
	copt := transform.DefaultChangeOptions()
	assertDetectionMatchesSource(t, "odd values, Europe/Berlin, first load", e.pool, e.ch, e.tz, copt)
	e.mutate(2, 0)
	e.must("run")
	assertDetectionMatchesSource(t, "odd values, Europe/Berlin, incremental", e.pool, e.ch, e.tz, copt)
}
