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
		{"runs: run doubled on the next day", "runs_state", runWhere,
			"day + 1 AS day", []string{"day + 1 AS day, 1 AS _is_deleted"}, []string{"runs", "run_steps", "run_vs_previous"}},
		{"runs: a run the source does not have", "runs_state", runWhere,
			"run_id + 1000000000000 AS run_id", []string{"run_id + 1000000000000 AS run_id, 1 AS _is_deleted"},
			[]string{"runs", "run_steps", "run_vs_previous"}},
		{"run_steps: first step 0.5 s longer", "runs_state", runWhere,
			firstOnly("step_duration", "x + 0.5"), nil, []string{"run_steps"}},
		{"run_vs_previous: run ordered first of its script", "runs_state", runWhere,
			"0 AS ordered_at_us", nil, []string{"run_vs_previous"}},
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
		assertViewsMatchOracle(t, "after undoing "+c.name, pool, ch, tz)
	}
	exec("DROP TABLE IF EXISTS oracle_saved")
}

// TestOracleFunctions checks the oracle's own building blocks against
// values worked out by hand: the text cut of docs/design.md and the Wilson
// interval of contract section 2b.
func TestOracleFunctions(t *testing.T) {
	ctx := context.Background()
	_, _, pool := freshDatabases(t, sqlfiles.Postgres("reference_schema"))
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
