package demodata_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scriptstats/scriptstats/deploy/demodata"
	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// Every check below recomputes from the tables with SQL of its own, never
// through the generator's code.

func open(t *testing.T) (context.Context, *pgxpool.Pool) {
	t.Helper()
	dsn := teststack.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return ctx, pool
}

func scalar[T any](t *testing.T, ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := pool.QueryRow(ctx, sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func smallOptions() demodata.Options {
	o := demodata.DefaultOptions(time.Date(2026, 3, 31, 6, 0, 0, 0, time.UTC))
	o.Scripts, o.Days, o.Runs, o.Seed = 20, 10, 5000, 42
	o.StepsShare = 0.6
	o.Odd, o.OddRate, o.HugeErrorBytes = true, 0.05, 1<<20
	return o
}

// stepRate returns attempts and failures of one step of a script from the
// steps arrays of counted runs, before (after=false) or from (after=true) t.
func stepRate(t *testing.T, ctx context.Context, pool *pgxpool.Pool, scriptID int64, index int, from time.Time, after bool) (attempts, failures int64) {
	t.Helper()
	err := pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE e->>'status' IN ('success', 'failed')),
		       count(*) FILTER (WHERE e->>'status' = 'failed')
		FROM task_log r, jsonb_array_elements(r.steps) e
		WHERE r.script_id = $1 AND jsonb_typeof(r.steps) = 'array'
		  AND r.status IN ('success', 'failed', 'timeout', 'cancelled')
		  AND jsonb_typeof(e) = 'object' AND e->'index' = to_jsonb($2::int)
		  AND (coalesce(r.started_at, r.created_at) >= $3) = $4`, scriptID, index, from, after).Scan(&attempts, &failures)
	if err != nil {
		t.Fatal(err)
	}
	return attempts, failures
}

// tolerance is 3.5 standard deviations of a failure rate p over n attempts.
func tolerance(p float64, n int64) float64 { return 3.5 * math.Sqrt(p*(1-p)/float64(n)) }

func TestGenerate(t *testing.T) {
	ctx, pool := open(t)
	opt := smallOptions()
	sum, err := demodata.Generate(ctx, pool, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := func(sql string, args ...any) int64 { t.Helper(); return scalar[int64](t, ctx, pool, sql, args...) }

	// Row counts and ids.
	if n := q("SELECT count(*) FROM task_log"); n != int64(opt.Runs) || sum.Runs != n {
		t.Errorf("task_log: %d rows, summary %d, want %d", n, sum.Runs, opt.Runs)
	}
	if n := q("SELECT count(*) FROM scripts"); n != int64(opt.Scripts) {
		t.Errorf("scripts: %d rows, want %d", n, opt.Scripts)
	}
	if lo, hi := q("SELECT min(id) FROM task_log"), q("SELECT max(id) FROM task_log"); lo != 1 || hi != int64(opt.Runs) {
		t.Errorf("ids %d..%d, want 1..%d", lo, hi, opt.Runs)
	}
	if n := q("SELECT count(*) FROM task_log WHERE steps IS NOT NULL"); n != sum.WithSteps {
		t.Errorf("with steps: %d, summary %d", n, sum.WithSteps)
	}
	rows, _ := pool.Query(ctx, "SELECT status, count(*) FROM task_log GROUP BY 1")
	byStatus := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		byStatus[s] = n
	}
	if len(byStatus) != len(sum.ByStatus) {
		t.Errorf("statuses: %v, summary %v", byStatus, sum.ByStatus)
	}
	for s, n := range sum.ByStatus {
		if byStatus[s] != n {
			t.Errorf("status %q: %d rows, summary %d", s, byStatus[s], n)
		}
	}
	success := float64(byStatus["success"]) / float64(opt.Runs)
	if success < 0.8 || success > 0.97 {
		t.Errorf("success share %.3f, want a realistic 0.8..0.97", success)
	}
	for _, s := range []string{"failed", "timeout", "cancelled", "running", "queued", "pending"} {
		if byStatus[s] == 0 {
			t.Errorf("no %s runs", s)
		}
	}
	if n := q("SELECT count(*) FROM task_log WHERE started_at IS NULL AND status = 'cancelled'"); n == 0 {
		t.Error("no run cancelled before it started")
	}
	if n := q("SELECT count(*) FROM task_log WHERE duration IS NULL AND finished_at IS NOT NULL AND status = 'success'"); n == 0 {
		t.Error("no finished run without a duration")
	}
	if n := q("SELECT count(*) FROM task_log WHERE steps IS NULL AND status = 'failed' AND failed_step_index IS NOT NULL AND failed_step_name IS NOT NULL"); n == 0 {
		t.Error("no failed run with only failed_step_index/name")
	}
	if n := q(`SELECT count(*) FROM task_log WHERE status = 'failed' AND jsonb_typeof(steps) = 'array' AND
		steps @> '[{"status": "failed"}]' AND steps @> '[{"status": "skipped"}]'`); n == 0 {
		t.Error("no failed run with a failed step followed by skipped ones")
	}
	if n := q("SELECT count(*) FROM task_log WHERE error_message LIKE 'TimeoutError: waiting for selector %'"); n == 0 {
		t.Error("no Playwright-style timeout error")
	}

	// Timestamps.
	if n := q("SELECT count(*) FROM task_log WHERE updated_at < created_at"); n != 0 {
		t.Errorf("%d rows with updated_at < created_at", n)
	}
	if n := q("SELECT count(*) FROM task_log WHERE updated_at > $1 OR created_at < $2", sum.End, sum.Start); n != 0 {
		t.Errorf("%d rows outside the window", n)
	}
	// Finished runs were last updated when they finished (late updates aside).
	if n := q(`SELECT count(*) FROM task_log WHERE status IN ('success', 'failed', 'timeout')
		AND finished_at > started_at AND finished_at < '2100-01-01'
		AND updated_at - finished_at BETWEEN interval '0' AND interval '1 second'`); n < int64(opt.Runs)*8/10 {
		t.Errorf("only %d finished runs updated when they finished", n)
	}
	// The daily pattern: the busiest hour has several times the runs of the quietest.
	hourly := scalar[float64](t, ctx, pool, `SELECT max(n)::float8 / min(n) FROM
		(SELECT count(*) n FROM task_log GROUP BY extract(hour FROM created_at AT TIME ZONE 'UTC')) h`)
	if hourly < 3 {
		t.Errorf("busiest/quietest hour %.1f, want a daily pattern", hourly)
	}

	st := sum.Stories
	if st.Regression == nil || st.Flaky == nil || st.Breaking == nil || st.Renamed == nil || st.Running == nil || st.Late == nil {
		t.Fatalf("stories missing: %+v", st)
	}

	// (1) Regression: median duration of successful runs after/before the day.
	r := st.Regression
	ratio := scalar[float64](t, ctx, pool, `
		WITH d AS (SELECT coalesce(started_at, created_at) >= $2 AS after, coalesce(duration, extract(epoch FROM finished_at - started_at)) AS d
		           FROM task_log WHERE script_id = $1 AND status = 'success')
		SELECT (percentile_cont(0.5) WITHIN GROUP (ORDER BY d) FILTER (WHERE after))
		     / (percentile_cont(0.5) WITHIN GROUP (ORDER BY d) FILTER (WHERE NOT after))
		FROM d WHERE d >= 0 AND d < 'Infinity'`, r.ScriptID, r.From)
	if math.Abs(ratio-r.Ratio) > 0.15 {
		t.Errorf("regression of %s from %s: median ratio %.2f, want about %.1f", r.ScriptName, r.Day, ratio, r.Ratio)
	}
	if name := scalar[string](t, ctx, pool, "SELECT name FROM scripts WHERE id = $1", r.ScriptID); name != r.ScriptName {
		t.Errorf("regression script name %q, summary %q", name, r.ScriptName)
	}

	// (2) Flaky step: fails at about 15% over the whole window.
	f := st.Flaky
	a1, f1 := stepRate(t, ctx, pool, f.ScriptID, f.StepIndex, time.Time{}, true)
	if a1 < 80 || math.Abs(float64(f1)/float64(a1)-f.Rate) > tolerance(f.Rate, a1) {
		t.Errorf("flaky step %s/%d: %d of %d attempts failed, want about %.0f%%", f.ScriptName, f.StepIndex, f1, a1, 100*f.Rate)
	}

	// (3) A step that starts failing from a day on.
	b := st.Breaking
	ab, fb := stepRate(t, ctx, pool, b.ScriptID, b.StepIndex, b.From, false)
	aa, fa := stepRate(t, ctx, pool, b.ScriptID, b.StepIndex, b.From, true)
	if ab < 30 || fb != 0 {
		t.Errorf("breaking step before %s: %d of %d failed, want none", b.Day, fb, ab)
	}
	if aa < 50 || math.Abs(float64(fa)/float64(aa)-b.Rate) > tolerance(b.Rate, aa) {
		t.Errorf("breaking step from %s: %d of %d failed, want about %.0f%%", b.Day, fa, aa, 100*b.Rate)
	}

	// (4) Renamed step: one name before the day, another from it.
	rn := st.Renamed
	names := func(after bool) []string {
		rows, err := pool.Query(ctx, `SELECT DISTINCT e->>'name' FROM task_log r, jsonb_array_elements(r.steps) e
			WHERE r.script_id = $1 AND jsonb_typeof(r.steps) = 'array' AND e->'index' = to_jsonb($2::int)
			  AND (coalesce(r.started_at, r.created_at) >= $3) = $4 ORDER BY 1`, rn.ScriptID, rn.StepIndex, rn.From, after)
		if err != nil {
			t.Fatal(err)
		}
		ns, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return ns
	}
	if got := names(false); !slices.Equal(got, []string{rn.OldName}) {
		t.Errorf("renamed step before %s: names %q, want [%q]", rn.Day, got, rn.OldName)
	}
	if got := names(true); !slices.Equal(got, []string{rn.NewName}) {
		t.Errorf("renamed step from %s: names %q, want [%q]", rn.Day, got, rn.NewName)
	}

	// (5) Runs still running at the end.
	ru := st.Running
	if n := q("SELECT count(*) FROM task_log WHERE status = 'running' AND created_at >= $1", ru.Since); n != ru.Running || n == 0 {
		t.Errorf("running in the last hour: %d, summary %d", n, ru.Running)
	}
	if n := q("SELECT count(*) FROM task_log WHERE status = 'running' AND (finished_at IS NOT NULL OR started_at IS NULL)"); n != 0 {
		t.Errorf("%d running runs finished or never started", n)
	}

	// (6) Late updates: updated more than a day after creation.
	l := st.Late
	if n := q("SELECT count(*) FROM task_log WHERE updated_at > created_at + interval '1 day'"); n != l.Count || n == 0 {
		t.Errorf("late updates: %d rows, summary %d", n, l.Count)
	}
	if n := q("SELECT count(*) FROM task_log WHERE id = ANY($1) AND updated_at - created_at >= $2", l.IDs, l.MinDelay); n != int64(len(l.IDs)) {
		t.Errorf("late update ids: %d of %d updated at least %v later", n, len(l.IDs), l.MinDelay)
	}

	// Odd values, counted independently.
	o := sum.Odd
	oddChecks := map[string]string{
		"duration_nan":      "duration = 'NaN'",
		"duration_pos_inf":  "duration = 'Infinity'",
		"duration_neg_inf":  "duration = '-Infinity'",
		"duration_1e300":    "duration = 1e300",
		"steps_object":      "jsonb_typeof(steps) = 'object'",
		"steps_string":      "jsonb_typeof(steps) = 'string'",
		"steps_number":      "jsonb_typeof(steps) = 'number'",
		"steps_json_null":   "jsonb_typeof(steps) = 'null'",
		"steps_empty_array": "steps = '[]'",
		"status_empty":      "status = ''",
		"status_1kb":        "octet_length(status) = 1024",
		"missing_script":    "NOT EXISTS (SELECT 1 FROM scripts s WHERE s.id = task_log.script_id)",
	}
	for kind, cond := range oddChecks {
		if n := q("SELECT count(*) FROM task_log WHERE " + cond); n != o.Counts[kind] || n == 0 {
			t.Errorf("odd %s: %d rows, summary %d", kind, n, o.Counts[kind])
		}
	}
	if n := q(`SELECT count(*) FROM task_log WHERE jsonb_typeof(steps) = 'array' AND EXISTS
		(SELECT 1 FROM jsonb_array_elements(steps) e WHERE jsonb_typeof(e) <> 'object' OR NOT e ? 'index'
		 OR jsonb_typeof(e->'index') <> 'number' OR (e->>'index')::numeric <> trunc((e->>'index')::numeric))`); n == 0 {
		t.Error("no steps array with a bad element")
	}
	if n := q("SELECT count(*) FROM task_log WHERE finished_at < started_at"); n == 0 {
		t.Error("no run finished before it started")
	}
	if n := q("SELECT count(*) FROM task_log WHERE NOT isfinite(started_at)"); n == 0 {
		t.Error("no infinite started_at")
	}
	if n := q("SELECT count(*) FROM task_log WHERE octet_length(error_message) > 2048 AND id <> $1", sum.HugeError); n == 0 {
		t.Error("no long error message")
	}
	if n := q("SELECT octet_length(error_message) FROM task_log WHERE id = $1", sum.HugeError); n != int64(opt.HugeErrorBytes) {
		t.Errorf("huge error: %d bytes, want %d", n, opt.HugeErrorBytes)
	}
	// Runs at local midnight ±1 s in the odd zones.
	for _, zone := range []string{"America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu"} {
		n := q(`SELECT count(*) FROM task_log WHERE
			(coalesce(started_at, created_at) AT TIME ZONE $1)::time <= '00:00:01'
			OR (coalesce(started_at, created_at) AT TIME ZONE $1)::time >= '23:59:59'`, zone)
		if n == 0 {
			t.Errorf("no run within a second of midnight in %s", zone)
		}
	}
	// The window holds Europe/Berlin's spring change (2026-03-29 01:00 UTC).
	if len(o.DSTChanges) == 0 || o.DSTChanges[0].Zone != "Europe/Berlin" || o.DSTChanges[0].LocalDay != "2026-03-29" {
		t.Fatalf("DST changes: %+v", o.DSTChanges)
	}
	if n := q("SELECT count(*) FROM task_log WHERE coalesce(started_at, created_at) BETWEEN $1::timestamptz - interval '1 microsecond' AND $1::timestamptz + interval '1 microsecond'",
		o.DSTChanges[0].At); n < 2 {
		t.Errorf("%d runs within 1 µs of the DST change, want 3", n)
	}

	// Generate refuses a non-empty database; after Reset the same seed gives
	// the same rows, however many COPY streams load them.
	if _, err := demodata.Generate(ctx, pool, opt, nil); err == nil {
		t.Error("Generate into a filled task_log: no error")
	}
	digest := func() string {
		return scalar[string](t, ctx, pool, "SELECT md5(string_agg(t::text, E'\\n' ORDER BY id)) FROM task_log t")
	}
	before := digest()
	if err := demodata.Reset(ctx, pool); err != nil {
		t.Fatal(err)
	}
	opt.Parallel = 3
	if _, err := demodata.Generate(ctx, pool, opt, nil); err != nil {
		t.Fatal(err)
	}
	if after := digest(); after != before {
		t.Error("same seed, different rows")
	}
	if n := q("SELECT count(*) FROM pg_indexes WHERE tablename = 'task_log'"); n != 4 {
		t.Errorf("task_log has %d indexes after the load, want 4", n)
	}
	if n := q("SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'task_log' AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)"); n != 1 {
		t.Error("task_log not analyzed")
	}
}

func TestMutate(t *testing.T) {
	ctx, pool := open(t)
	opt := smallOptions()
	gs, err := demodata.Generate(ctx, pool, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := func(sql string, args ...any) int64 { t.Helper(); return scalar[int64](t, ctx, pool, sql, args...) }
	runsBefore := q("SELECT count(*) FROM task_log")
	maxUpdatedBefore := scalar[time.Time](t, ctx, pool, "SELECT max(updated_at) FROM task_log")

	mopt := demodata.MutateOptions{Gen: opt, Seed: 7, Finish: 5, LateUpdates: 10, RerunDays: 1, Moved: 5,
		StepRenames: 1, ScriptRenames: 1, Deletes: 10, NewRuns: 300}
	mopt.Gen.Scripts = 0 // read from the scripts table
	ms, err := demodata.Mutate(ctx, pool, mopt)
	if err != nil {
		t.Fatal(err)
	}
	// The history ended in March 2026, before the database clock: the
	// trigger and the column default stamp the changes with now().
	if ms.StampForced {
		t.Error("stamp forced for a history in the past")
	}
	if !ms.Stamp.After(maxUpdatedBefore) {
		t.Errorf("stamp %v not after the last updated_at %v", ms.Stamp, maxUpdatedBefore)
	}
	stamped := func(ids []int64) int64 {
		return q("SELECT count(*) FROM task_log WHERE id = ANY($1) AND updated_at = $2", ids, ms.Stamp)
	}

	if len(ms.Finished) == 0 {
		t.Error("nothing finished")
	}
	for _, c := range ms.Finished {
		var status string
		var fin *time.Time
		if err := pool.QueryRow(ctx, "SELECT status, finished_at FROM task_log WHERE id = $1", c.ID).Scan(&status, &fin); err != nil {
			t.Fatal(err)
		}
		if status != c.To || fin == nil || !slices.Contains([]string{"pending", "queued", "running"}, c.From) {
			t.Errorf("finished run %d: %s -> %s, now %s (finished_at %v)", c.ID, c.From, c.To, status, fin)
		}
	}
	if len(ms.LateUpdated) != mopt.LateUpdates {
		t.Errorf("late updates: %d, want %d", len(ms.LateUpdated), mopt.LateUpdates)
	}
	var ids []int64
	for _, c := range append(ms.Finished, ms.LateUpdated...) {
		ids = append(ids, c.ID)
		if s := scalar[string](t, ctx, pool, "SELECT status FROM task_log WHERE id = $1", c.ID); s != c.To || c.From == c.To {
			t.Errorf("run %d: %s -> %s, now %s", c.ID, c.From, c.To, s)
		}
	}
	if n := q("SELECT count(*) FROM task_log WHERE id = ANY($1) AND created_at < $2", idsOf(ms.LateUpdated), ms.PassTime.Add(-48*time.Hour)); n != int64(len(ms.LateUpdated)) {
		t.Errorf("late updates: %d of %d runs are old", n, len(ms.LateUpdated))
	}
	if len(ms.Reruns) != 1 || len(ms.Reruns[0].IDs) == 0 {
		t.Fatalf("reruns: %+v", ms.Reruns)
	}
	rr := ms.Reruns[0]
	ids = append(ids, rr.IDs...)
	if n := q(`SELECT count(*) FROM task_log WHERE id = ANY($1) AND script_id = $2
		AND to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') = $3`, rr.IDs, rr.ScriptID, rr.Day); n != int64(len(rr.IDs)) {
		t.Errorf("re-run of script %d on %s: %d of %d runs on that day", rr.ScriptID, rr.Day, n, len(rr.IDs))
	}
	if len(ms.Moved) != mopt.Moved {
		t.Errorf("moved: %d, want %d", len(ms.Moved), mopt.Moved)
	}
	for _, m := range ms.Moved {
		ids = append(ids, m.ID)
		if got := scalar[time.Time](t, ctx, pool, "SELECT started_at FROM task_log WHERE id = $1", m.ID); !got.Equal(m.To) || m.To.Sub(m.From) != 24*time.Hour {
			t.Errorf("moved run %d: started_at %v, summary %v -> %v", m.ID, got, m.From, m.To)
		}
	}
	if n := stamped(ids); n != int64(len(ids)) {
		t.Errorf("%d of %d changed runs have updated_at = the pass's now()", n, len(ids))
	}
	if len(ms.StepRenames) != 1 {
		t.Fatalf("step renames: %+v", ms.StepRenames)
	}
	sr := ms.StepRenames[0]
	if n := q(`SELECT count(*) FROM task_log r WHERE script_id = $1 AND updated_at = $4 AND jsonb_typeof(steps) = 'array'
		AND steps @> jsonb_build_array(jsonb_build_object('index', $2::int, 'name', $3::text))`, sr.ScriptID, sr.StepIndex, sr.NewName, ms.Stamp); n == 0 {
		t.Errorf("renamed step %q: no run carries it", sr.NewName)
	}
	if n := q(`SELECT count(*) FROM task_log r WHERE script_id = $1 AND created_at >= $4 AND id <= $5 AND jsonb_typeof(steps) = 'array'
		AND steps @> jsonb_build_array(jsonb_build_object('index', $2::int, 'name', $3::text))`, sr.ScriptID, sr.StepIndex, sr.OldName, sr.Since, int64(opt.Runs)); n != 0 {
		t.Errorf("renamed step: %d recent runs still call it %q", n, sr.OldName)
	}
	if len(ms.ScriptRenames) != 1 {
		t.Fatalf("script renames: %+v", ms.ScriptRenames)
	}
	if name := scalar[string](t, ctx, pool, "SELECT name FROM scripts WHERE id = $1", ms.ScriptRenames[0].ScriptID); name != ms.ScriptRenames[0].NewName || name == ms.ScriptRenames[0].OldName {
		t.Errorf("script rename: name %q, summary %+v", name, ms.ScriptRenames[0])
	}
	if len(ms.Deleted) != mopt.Deletes {
		t.Errorf("deleted %d, want %d", len(ms.Deleted), mopt.Deletes)
	}
	if n := q("SELECT count(*) FROM task_log WHERE id = ANY($1)", ms.Deleted); n != 0 {
		t.Errorf("%d deleted runs still there", n)
	}
	if ms.NewRuns != int64(mopt.NewRuns) || ms.NewFirstID != int64(opt.Runs)+1 || ms.NewLastID != int64(opt.Runs+mopt.NewRuns) {
		t.Errorf("new runs: %d, ids %d..%d", ms.NewRuns, ms.NewFirstID, ms.NewLastID)
	}
	if n := q("SELECT count(*) FROM task_log WHERE id BETWEEN $1 AND $2 AND updated_at = $3 AND created_at > $4 AND created_at <= $5",
		ms.NewFirstID, ms.NewLastID, ms.Stamp, ms.PassTime.Add(-time.Hour), ms.PassTime); n != ms.NewRuns {
		t.Errorf("new runs: %d of %d stamped and created in the last hour", n, ms.NewRuns)
	}
	if n := q("SELECT count(*) FROM task_log"); n != runsBefore-int64(len(ms.Deleted))+ms.NewRuns {
		t.Errorf("runs after the pass: %d, want %d", n, runsBefore-int64(len(ms.Deleted))+ms.NewRuns)
	}
	if n := q("SELECT count(*) FROM task_log WHERE updated_at < created_at"); n != 0 {
		t.Errorf("%d rows with updated_at < created_at", n)
	}
	// Nothing else changed.
	renamedToo := q(`SELECT count(*) FROM task_log WHERE id = ANY($1) AND script_id = $2 AND created_at >= $3
		AND (steps @> jsonb_build_array(jsonb_build_object('index', $4::int, 'name', $5::text))
		     OR (failed_step_index = $4 AND failed_step_name = $5))`, ids, sr.ScriptID, sr.Since, sr.StepIndex, sr.NewName)
	if n, want := q("SELECT count(*) FROM task_log WHERE updated_at = $1", ms.Stamp), int64(len(ids))+ms.NewRuns+sr.Runs-renamedToo; n != want {
		t.Errorf("%d rows stamped, want %d", n, want)
	}
	// Story scripts keep their history: only their unfinished runs change.
	stories := []int64{gs.Stories.Regression.ScriptID, gs.Stories.Flaky.ScriptID, gs.Stories.Breaking.ScriptID, gs.Stories.Renamed.ScriptID}
	if n := q("SELECT count(*) FROM task_log WHERE script_id = ANY($1) AND updated_at = $2 AND id <= $3 AND id <> ALL($4)",
		stories, ms.Stamp, int64(opt.Runs), idsOf(ms.Finished)); n != 0 {
		t.Errorf("%d runs of story scripts changed", n)
	}
}

func idsOf(cs []demodata.StatusChange) []int64 {
	var ids []int64
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

// TestMutateAheadOfClock: a history that ends after the database's now()
// gets its changes stamped after every existing updated_at.
func TestMutateAheadOfClock(t *testing.T) {
	ctx, pool := open(t)
	opt := demodata.DefaultOptions(time.Now().Add(72 * time.Hour))
	opt.Scripts, opt.Days, opt.Runs = 8, 5, 1000
	if _, err := demodata.Generate(ctx, pool, opt, nil); err != nil {
		t.Fatal(err)
	}
	maxUpdated := scalar[time.Time](t, ctx, pool, "SELECT max(updated_at) FROM task_log")
	ms, err := demodata.Mutate(ctx, pool, demodata.MutateOptions{Gen: opt, Seed: 1, Finish: 3, Moved: 2, NewRuns: 20})
	if err != nil {
		t.Fatal(err)
	}
	if !ms.StampForced || !ms.Stamp.After(maxUpdated) {
		t.Fatalf("stamp %v (forced %v), last updated_at %v", ms.Stamp, ms.StampForced, maxUpdated)
	}
	want := int64(len(ms.Finished) + len(ms.Moved) + int(ms.NewRuns))
	if n := scalar[int64](t, ctx, pool, "SELECT count(*) FROM task_log WHERE updated_at = $1", ms.Stamp); n != want {
		t.Errorf("%d rows stamped, want %d", n, want)
	}
	if n := scalar[int64](t, ctx, pool, "SELECT count(*) FROM task_log WHERE updated_at < created_at"); n != 0 {
		t.Errorf("%d rows with updated_at < created_at", n)
	}
}

// TestDSTDays puts a small history over 2026's DST changes of New York and
// Berlin and checks runs sit on the changes and on the local midnights.
func TestDSTDays(t *testing.T) {
	ctx, pool := open(t)
	opt := demodata.DefaultOptions(time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC))
	opt.Scripts, opt.Days, opt.Runs, opt.Odd = 5, 300, 3000, true
	sum, err := demodata.Generate(ctx, pool, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"America/New_York 2026-03-08": true, "America/New_York 2026-11-01": true,
		"Europe/Berlin 2026-03-29": true, "Europe/Berlin 2026-10-25": true,
	}
	for _, c := range sum.Odd.DSTChanges {
		delete(want, c.Zone+" "+c.LocalDay)
		n := scalar[int64](t, ctx, pool, `SELECT count(*) FROM task_log WHERE coalesce(started_at, created_at)
			IN ($1::timestamptz - interval '1 microsecond', $1::timestamptz, $1::timestamptz + interval '1 microsecond')`, c.At)
		if n < 3 {
			t.Errorf("%s %s (%v): %d runs at the change ±1 µs, want at least 3", c.Zone, c.LocalDay, c.At, n)
		}
		// The local day of the change has runs near its local midnight.
		n = scalar[int64](t, ctx, pool, `SELECT count(*) FROM task_log WHERE
			(coalesce(started_at, created_at) AT TIME ZONE $1)::date = $2::date
			AND (coalesce(started_at, created_at) AT TIME ZONE $1)::time <= '00:00:01'`, c.Zone, c.LocalDay)
		if n == 0 && (c.Zone == "America/New_York" || c.Zone == "Europe/Berlin") {
			t.Errorf("%s %s: no run at local midnight", c.Zone, c.LocalDay)
		}
	}
	if len(want) > 0 {
		t.Errorf("DST changes missing: %v (got %+v)", want, sum.Odd.DSTChanges)
	}
}
