package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/deploy/demodata"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// TestOracleCatchesCorruption shows that the oracle can fail: after a clean
// load it changes one value (or adds, doubles or deletes one row) in a
// private ClickHouse table by writing a newer version of a row, and wants
// the comparison of each view built from it to report the change; then it
// writes the original row back and wants every view equal again.
func TestOracleCatchesCorruption(t *testing.T) {
	pgDSN, chDSN, pool := freshDatabases(t)
	ctx := context.Background()
	const tz = "America/New_York"
	_, err := demodata.Generate(ctx, pool, demodata.Options{
		Scripts: 6, Days: 6, Runs: 1500, End: time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC), Seed: 11,
		StepsShare: 0.7, MinSteps: 3, MaxSteps: 8, Stories: true, Odd: true, OddRate: 0.05,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := openClickHouse(t, chDSN)
	mustCLI(t, "migrate", "--clickhouse-dsn", chDSN)
	mustCLI(t, "run", "--pg-dsn", pgDSN, "--clickhouse-dsn", chDSN, "--timezone", tz, "--log-format", "json")
	assertViewsMatchOracle(t, "clean load", pool, ch, tz)

	pickInt := func(q string) int64 {
		t.Helper()
		var id int64
		if err := ch.QueryRow(ctx, q).Scan(&id); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return id
	}
	pickGroup := func(cond string) string {
		t.Helper()
		var id int64
		var day string
		q := "SELECT script_id, toString(day) FROM groups_state FINAL WHERE _is_deleted = 0 AND total > 0 AND " +
			cond + " ORDER BY script_id, day LIMIT 1"
		if err := ch.QueryRow(ctx, q).Scan(&id, &day); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return fmt.Sprintf("script_id = %d AND day = '%s'", id, day)
	}
	// A run that has steps, a finish time and a previous run.
	run := pickInt(`SELECT v.run_id FROM run_vs_previous AS v
		WHERE v.previous_run_id IS NOT NULL AND v.run_id IN (
			SELECT run_id FROM runs_state FINAL WHERE _is_deleted = 0 AND finished_at IS NOT NULL
			AND length(step_duration) > 0 AND step_duration[1] IS NOT NULL)
		ORDER BY v.run_id LIMIT 1`)
	runWhere := fmt.Sprintf("run_id = %d", run)
	script := pickInt(fmt.Sprintf("SELECT script_id FROM runs WHERE run_id = %d", run))
	firstOnly := func(col, f string) string {
		return fmt.Sprintf("arrayMap((x, i) -> if(i = 1, %s, x), %s, arrayEnumerate(%s)) AS %s", f, col, col, col)
	}

	cases := []struct {
		name    string
		table   string
		where   string
		corrupt string   // the REPLACE list of the corrupting row
		restore []string // REPLACE lists of the rows that undo it
		catch   []string // the views that must report it
	}{
		{"script_daily: duration_p50 one millionth larger", "groups_state", pickGroup("duration_p50 > 0"),
			"duration_p50 * 1.000001 AS duration_p50", nil, []string{"script_daily"}},
		{"script_daily: one success more", "groups_state", pickGroup("success > 0"),
			"success + 1 AS success", nil, []string{"script_daily"}},
		{"step_daily: one attempt more in one step row", "groups_state", pickGroup("length(step_attempts) > 0"),
			firstOnly("step_attempts", "x + 1"), nil, []string{"step_daily"}},
		{"step_daily: another last_error", "groups_state", pickGroup("arrayExists(e -> e IS NOT NULL, step_last_error)"),
			"arrayMap(e -> if(e IS NULL, e, concat(e, '!')), step_last_error) AS step_last_error", nil, []string{"step_daily"}},
		{"runs: finished_at one microsecond later", "runs_state", runWhere,
			"addMicroseconds(finished_at, 1) AS finished_at", nil, []string{"runs"}},
		{"runs: run deleted", "runs_state", runWhere,
			"1 AS _is_deleted", nil, []string{"runs", "run_steps", "run_vs_previous"}},
		// run_vs_previous reads run_links, which the pass writes (a run
		// that leaves a place in runs_state leaves it there too; a run added
		// to runs_state by hand gets no link): corrupted there below.
		{"runs: run doubled on the next day", "runs_state", runWhere,
			"day + 1 AS day", []string{"day + 1 AS day, 1 AS _is_deleted"}, []string{"runs", "run_steps"}},
		{"runs: a run the source does not have", "runs_state", runWhere,
			"run_id + 1000000000000 AS run_id", []string{"run_id + 1000000000000 AS run_id, 1 AS _is_deleted"},
			[]string{"runs", "run_steps"}},
		{"run_steps: first step 0.5 s longer", "runs_state", runWhere,
			firstOnly("step_duration", "x + 0.5"), nil, []string{"run_steps"}},
		{"run_vs_previous: another previous run", "run_links", runWhere,
			"coalesce(previous_run_id, 0) + 1 AS previous_run_id", nil, []string{"run_vs_previous"}},
		{"run_vs_previous: another first divergent step", "run_links", runWhere,
			"coalesce(first_divergent_step, 0) + 1 AS first_divergent_step", nil, []string{"run_vs_previous"}},
		{"script renamed", "scripts_state", fmt.Sprintf("script_id = %d", script),
			"'corrupted name' AS name", nil, []string{"script_daily", "step_daily", "runs"}},
	}
	exec := func(q string) {
		t.Helper()
		if err := ch.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, c := range cases {
		exec("DROP TABLE IF EXISTS oracle_saved")
		exec(fmt.Sprintf("CREATE TABLE oracle_saved ENGINE = Memory AS SELECT * FROM %s FINAL WHERE _is_deleted = 0 AND %s",
			c.table, c.where))
		if n := pickInt("SELECT toInt64(count()) FROM oracle_saved"); n != 1 {
			t.Fatalf("%s: %d rows saved, want 1", c.name, n)
		}
		// A run deleted in runs_state is deleted in run_links too (the
		// materialized view of tombstones): its link is restored with it.
		exec("DROP TABLE IF EXISTS oracle_saved_links")
		exec("CREATE TABLE oracle_saved_links ENGINE = Memory AS SELECT * FROM run_links FINAL WHERE _is_deleted = 0 AND " + c.where)
		exec(fmt.Sprintf("INSERT INTO %s SELECT * REPLACE (%s, _version + 1 AS _version) FROM oracle_saved", c.table, c.corrupt))

		caught := map[string]string{}
		var names []string
		for _, d := range oracleDiffs(t, pool, ch, tz) {
			if d.problems > 0 {
				caught[d.view] = d.lines[0]
				names = append(names, d.view)
			}
		}
		for _, v := range c.catch {
			if caught[v] == "" {
				t.Errorf("%s: the %s comparison did not notice", c.name, v)
			}
		}
		t.Logf("%s: caught by %s; e.g. %.200s", c.name, strings.Join(names, ", "), caught[c.catch[0]])

		for _, r := range append([]string{"_is_deleted AS _is_deleted"}, c.restore...) {
			exec(fmt.Sprintf("INSERT INTO %s SELECT * REPLACE (%s, _version + 2 AS _version) FROM oracle_saved", c.table, r))
		}
		if c.table == "runs_state" { // with the version of the restored run
			exec("INSERT INTO run_links SELECT * REPLACE ((SELECT any(_version) + 2 FROM oracle_saved) AS _version) FROM oracle_saved_links")
		}
		assertViewsMatchOracle(t, "after undoing "+c.name, pool, ch, tz)
	}
	exec("DROP TABLE IF EXISTS oracle_saved")
	exec("DROP TABLE IF EXISTS oracle_saved_links")
}

// TestOracleFunctions checks the oracle's own building blocks against
// values worked out by hand: the text cut of docs/design.md and the Wilson
// interval of contract section 2b.
func TestOracleFunctions(t *testing.T) {
	ctx := context.Background()
	_, _, pool := freshDatabases(t, sqlfiles.PostgresReferenceSchema)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT set_config('scriptstats.tz', 'UTC', true),
		set_config('scriptstats.error_bytes', '4096', true), set_config('scriptstats.name_bytes', '512', true)`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, oracleSetupSQL); err != nil {
		t.Fatal(err)
	}
	x100 := strings.Repeat("x", 100)
	e50 := strings.Repeat("é", 50) // 100 bytes
	for _, c := range []struct {
		s    string
		lim  int
		want string
	}{
		{"short", 40, "short"},
		{x100, 100, x100},
		{x100, 0, x100},
		// "…[cut, 100 bytes in all]" is 26 bytes: 14 bytes of text remain.
		{x100, 40, strings.Repeat("x", 14) + "…[cut, 100 bytes in all]"},
		// 15 bytes remain: 7 é, never half of the 8th.
		{e50, 41, strings.Repeat("é", 7) + "…[cut, 100 bytes in all]"},
		{e50, 42, strings.Repeat("é", 8) + "…[cut, 100 bytes in all]"},
		// No room for the marker: "…" alone (3 bytes), then nothing.
		{"abcdef", 5, "ab…"},
		{"ééé", 4, "…"},
		{"abcdef", 2, "ab"},
	} {
		var got string
		if err := tx.QueryRow(ctx, "SELECT pg_temp.ref_cut($1, $2)", c.s, c.lim).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("ref_cut(%.20q…, %d) = %q, want %q", c.s, c.lim, got, c.want)
		}
	}
	// Wilson 95 % intervals: 8 of 10 is 0.4902..0.9433 (p = 0.8,
	// centre 0.99208/1.38416, half-width 1.96·sqrt(0.016 + 0.009604)/1.38416);
	// 0 of 5 and 5 of 5 clamp at 0 and 1.
	for _, c := range []struct {
		k, n      int64
		low, high float64
	}{{8, 10, 0.49015684672072, 0.94331905201931}, {0, 5, 0, 0.43449149475208}, {5, 5, 0.56550850524792, 1}} {
		var low, high float64
		if err := tx.QueryRow(ctx, "SELECT pg_temp.ref_wilson($1, $2, false), pg_temp.ref_wilson($1, $2, true)", c.k, c.n).Scan(&low, &high); err != nil {
			t.Fatal(err)
		}
		if math.Abs(low-c.low) > 1e-12 || math.Abs(high-c.high) > 1e-12 {
			t.Errorf("wilson(%d, %d) = %v..%v, want %v..%v", c.k, c.n, low, high, c.low, c.high)
		}
	}
}

// oracleEdgeSQL: source rows at the edges of the contract's rules and of
// the choices of docs/design.md, on the day 2026-11-10 (UTC), for the
// oracle to judge. Scripts 1 and 2; script 3 has no scripts row.
const oracleEdgeSQL = `
INSERT INTO scripts VALUES (1, 'edges'), (2, repeat('ü', 300));
INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration,
                      failed_step_index, failed_step_name, error_message, steps, created_at) VALUES
    -- integer indexes written as 2.0 and 20e-1 are 2; out of int32 range and
    -- fractional ones are invalid; a repeated key keeps its last value.
    (1, 1, 'failed', '2026-11-10 10:00Z', '2026-11-10 10:01Z', NULL, NULL, NULL, 'run error 1',
     '[{"index": 2.0, "name": "two", "status": "success", "duration": -0},
       {"index": 20e-1, "name": "two again", "status": "failed", "duration": 1e400},
       {"index": 3000000000, "name": "huge", "status": "success"},
       {"index": -1, "name": "minus one", "status": "failed", "error": {"code": 7, "text": "object error"}},
       {"index": 4, "index": 5, "name": 42, "status": "failed", "status": "success", "duration": "1.5"},
       {"index": 6, "name": "tiny", "status": "failed", "error": 17, "duration": 1e-400}]', '2026-11-10 09:00Z'),
    -- the same start as run 1: ties go by run id; steps diverge at index 2.
    (2, 1, 'success', '2026-11-10 10:00Z', NULL, -0.0, NULL, NULL, NULL,
     '[{"index": 2, "name": "two", "status": "success"}, {"index": 5, "name": "five", "status": "success"}]', '2026-11-10 09:00Z'),
    -- no start: ordered by created_at, between runs 1-2 and 4.
    (3, 1, 'failed', NULL, '2026-11-10 10:30Z', NULL, 0, 'only step', repeat('é', 2100), NULL, '2026-11-10 10:10Z'),
    -- a finish ClickHouse cannot store: NULL, last_failure_at falls back to the start.
    (4, 1, 'failed', '2026-11-10 11:00Z', '2400-01-01Z', NULL, 1, 'far', 'far error', '[]', '2026-11-10 09:00Z'),
    -- error texts at the limit, one byte over, split inside a character.
    (5, 1, 'failed', '2026-11-10 12:00Z', '2026-11-10 12:00:01.000001Z', NULL, NULL, NULL, repeat('a', 4096), NULL, '2026-11-10 09:00Z'),
    (6, 1, 'failed', '2026-11-10 12:01Z', '2026-11-10 12:01:01Z', NULL, NULL, NULL, repeat('a', 4097), NULL, '2026-11-10 09:00Z'),
    (7, 1, 'failed', '2026-11-10 12:02Z', '2026-11-10 12:02:01Z', NULL, 3, repeat('名', 200), 'x' || repeat('€', 2000), NULL, '2026-11-10 09:00Z'),
    -- unfinished: in runs and run_steps, not counted.
    (8, 1, 'running', '2026-11-10 13:00Z', NULL, NULL, NULL, NULL, NULL,
     '[{"index": 0, "name": "open", "status": "failed"}]', '2026-11-10 09:00Z'),
    -- a non-empty array with no valid element: no steps, no fallback.
    (9, 1, 'failed', '2026-11-10 14:00Z', '2026-11-10 14:00:03Z', NULL, 4, 'unused', 'e9', '[1, {"index": 1}]', '2026-11-10 09:00Z'),
    -- no steps beside a run with steps: it diverges at the other's smallest index.
    (10, 1, 'success', '2026-11-10 15:00Z', '2026-11-10 15:00:03Z', NULL, NULL, NULL, NULL, NULL, '2026-11-10 09:00Z'),
    -- a long script name; a script with no row.
    (11, 2, 'success', '2026-11-10 10:00Z', '2026-11-10 10:00:03Z', NULL, NULL, NULL, NULL, NULL, '2026-11-10 09:00Z'),
    (12, 3, 'timeout', '2026-11-10 10:00Z', '2026-11-10 10:00:03Z', NULL, NULL, NULL, NULL, NULL, '2026-11-10 09:00Z'),
    -- a day just inside the range, and one just outside (rejected).
    (13, 1, 'success', '1900-01-01 00:00:00Z', '1900-01-01 00:00:01Z', NULL, NULL, NULL, NULL, NULL, '2026-11-10 09:00Z'),
    (14, 1, 'success', '1899-12-31 23:59:59Z', '1900-01-01 00:00:01Z', NULL, NULL, NULL, NULL, NULL, '2026-11-10 09:00Z');
`

// TestOracleEdgeRules runs the job on rows at the edges of the rules and
// asks the oracle, then changes them and asks again.
func TestOracleEdgeRules(t *testing.T) {
	pgDSN, chDSN, pool := freshDatabases(t, sqlfiles.PostgresReferenceSchema, oracleEdgeSQL)
	ctx := context.Background()
	ch := openClickHouse(t, chDSN)
	common := []string{"--pg-dsn", pgDSN, "--clickhouse-dsn", chDSN, "--log-format", "json"}
	mustCLI(t, "migrate", "--clickhouse-dsn", chDSN)
	mustCLI(t, append([]string{"run"}, common...)...)
	assertViewsMatchOracle(t, "edge rows", pool, ch, "UTC")
	// A few of the same values worked out by hand, so that the oracle is
	// not only agreeing with the job.
	for _, c := range []struct{ q, want string }{
		// run 1's first steps: 2 success, -1 failed, 5 success, 6 failed;
		// run 2's: 2 and 5 success. -1 is only in run 1.
		{"SELECT toString(previous_run_id) || ' ' || toString(first_divergent_step) FROM run_vs_previous WHERE run_id = 2", "1 -1"},
		{"SELECT toString(previous_run_id) FROM run_vs_previous WHERE run_id = 3", "2"},
		{"SELECT error_message = repeat('a', 4069) || '…[cut, 4097 bytes in all]' FROM runs WHERE run_id = 6", "true"},
		{"SELECT error_message = 'x' || repeat('€', 1356) || '…[cut, 6001 bytes in all]' FROM runs WHERE run_id = 7", "true"},
		{"SELECT toString(finished_at) FROM runs WHERE run_id = 4", "NULL"},
		// Run 4 failed step 1 and finished at +infinity: the latest failure,
		// a time DateTime64 cannot hold (CONTRACT 2, design.md).
		{"SELECT toString(last_failure_at) FROM step_daily WHERE script_id = 1 AND step_index = 1", "NULL"},
		{"SELECT toString(duration) FROM run_steps WHERE run_id = 1 AND step_index = 2 AND step_name = 'two again'", "inf"},
		{"SELECT error FROM run_steps WHERE run_id = 1 AND step_index = -1", `{"code": 7, "text": "object error"}`},
	} {
		var got string
		if err := ch.QueryRow(ctx, "SELECT ifNull(toString(("+c.q+")), 'NULL')").Scan(&got); err != nil {
			t.Fatalf("%s: %v", c.q, err)
		}
		if got != c.want && !(c.want == "true" && got == "1") {
			t.Errorf("%s: %q, want %q", c.q, got, c.want)
		}
	}

	for _, q := range []string{
		`UPDATE task_log SET status = 'success' WHERE id = 8`,
		`UPDATE task_log SET started_at = NULL, created_at = '2026-11-10 10:00Z' WHERE id = 10`,
		`UPDATE task_log SET steps = NULL WHERE id = 1`,
		`UPDATE task_log SET script_id = 2 WHERE id = 3`,
		`UPDATE scripts SET name = 'edges renamed' WHERE id = 1`,
		`INSERT INTO scripts VALUES (3, 'now known')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustCLI(t, append([]string{"run"}, common...)...)
	assertViewsMatchOracle(t, "edge rows changed", pool, ch, "UTC")
}
