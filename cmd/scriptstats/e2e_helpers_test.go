package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

var (
	//go:embed testdata/reference_runs.sql
	referenceRunsSQL string
	//go:embed testdata/reference_script_daily.sql
	referenceScriptDailySQL string
	//go:embed testdata/reference_step_daily.sql
	referenceStepDailySQL string
)

// cli runs the scriptstats command in-process and returns its exit status
// and output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := cli(t, args...)
	if code != 0 {
		t.Fatalf("scriptstats %s: exit %d\nstdout: %s\nstderr: %s", args[0], code, out, errs)
	}
	return out
}

// refScriptDay and refStepDay are rows of the reference recomputation and of
// the views, in comparable form (floats as pointers, NULL as nil).
type refScriptDay struct {
	ScriptID int64
	Day      string
	Ints     [9]int64 // total, success, failed, timeout, cancelled, other, duration_count, invalid_duration (and unused)
	Rate     float64
	Floats   [10]*float64 // avg, min, max, p50, p90, p95, p99, s_avg, s_p50, s_p95
}

type refStepDay struct {
	ScriptID      int64
	StepIndex     int32
	Day           string
	StepName      *string
	Attempts      int64
	Failures      int64
	FailureRate   float64
	LastFailureAt *time.Time
	LastError     *string
}

// referenceAggregates recomputes script_daily and step_daily in PostgreSQL
// SQL from the source tables.
func referenceAggregates(t *testing.T, pool *pgxpool.Pool, tz string) ([]refScriptDay, []refStepDay) {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT set_config('scriptstats.tz', $1, false)", tz); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "DROP VIEW IF EXISTS pg_temp.ref_counted"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, referenceRunsSQL); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, referenceScriptDailySQL)
	if err != nil {
		t.Fatal(err)
	}
	var days []refScriptDay
	for rows.Next() {
		var r refScriptDay
		f := &r.Floats
		err := rows.Scan(&r.ScriptID, &r.Day, &r.Ints[0], &r.Ints[1], &r.Ints[2], &r.Ints[3], &r.Ints[4], &r.Ints[5],
			&r.Rate, &r.Ints[6], &r.Ints[7], &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9])
		if err != nil {
			t.Fatal(err)
		}
		days = append(days, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = conn.Query(ctx, referenceStepDailySQL)
	if err != nil {
		t.Fatal(err)
	}
	var steps []refStepDay
	for rows.Next() {
		var r refStepDay
		if err := rows.Scan(&r.ScriptID, &r.StepIndex, &r.Day, &r.StepName, &r.Attempts, &r.Failures, &r.FailureRate, &r.LastFailureAt, &r.LastError); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return days, steps
}

func openClickHouse(t *testing.T, dsn string) driver.Conn {
	t.Helper()
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// viewAggregates reads every row of script_daily and step_daily.
func viewAggregates(t *testing.T, ch driver.Conn) ([]refScriptDay, []refStepDay) {
	t.Helper()
	ctx := context.Background()
	rows, err := ch.Query(ctx, `SELECT script_id, toString(day), total, success, failed, timeout, cancelled, other,
		success_rate, duration_count, invalid_duration, duration_avg, duration_min, duration_max,
		duration_p50, duration_p90, duration_p95, duration_p99,
		success_duration_avg, success_duration_p50, success_duration_p95
		FROM script_daily ORDER BY script_id, day`)
	if err != nil {
		t.Fatal(err)
	}
	var days []refScriptDay
	for rows.Next() {
		var r refScriptDay
		var u [8]uint64
		f := &r.Floats
		err := rows.Scan(&r.ScriptID, &r.Day, &u[0], &u[1], &u[2], &u[3], &u[4], &u[5], &r.Rate, &u[6], &u[7],
			&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9])
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range u {
			r.Ints[i] = int64(v)
		}
		days = append(days, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = ch.Query(ctx, `SELECT script_id, step_index, toString(day), step_name, attempts, failures,
		failure_rate, last_failure_at, last_error FROM step_daily ORDER BY script_id, day, step_index`)
	if err != nil {
		t.Fatal(err)
	}
	var steps []refStepDay
	for rows.Next() {
		var r refStepDay
		var a, f uint64
		if err := rows.Scan(&r.ScriptID, &r.StepIndex, &r.Day, &r.StepName, &a, &f, &r.FailureRate, &r.LastFailureAt, &r.LastError); err != nil {
			t.Fatal(err)
		}
		r.Attempts, r.Failures = int64(a), int64(f)
		steps = append(steps, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return days, steps
}

var scriptDayFloatNames = [10]string{"duration_avg", "duration_min", "duration_max", "duration_p50", "duration_p90",
	"duration_p95", "duration_p99", "success_duration_avg", "success_duration_p50", "success_duration_p95"}

var scriptDayIntNames = [8]string{"total", "success", "failed", "timeout", "cancelled", "other", "duration_count", "invalid_duration"}

// assertMatchesReference compares every row and column of script_daily and
// step_daily with the PostgreSQL recomputation. Averages may differ in the
// last bits (summation order), every other number must be equal.
func assertMatchesReference(t *testing.T, stage string, pool *pgxpool.Pool, ch driver.Conn, tz string) {
	t.Helper()
	wantDays, wantSteps := referenceAggregates(t, pool, tz)
	gotDays, gotSteps := viewAggregates(t, ch)
	var problems []string
	report := func(format string, args ...any) {
		if len(problems) < 30 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	if len(wantDays) != len(gotDays) {
		report("script_daily: %d rows in ClickHouse, %d in the recomputation", len(gotDays), len(wantDays))
	}
	gotByKey := map[string]refScriptDay{}
	for _, g := range gotDays {
		gotByKey[fmt.Sprint(g.ScriptID, g.Day)] = g
	}
	for _, w := range wantDays {
		g, ok := gotByKey[fmt.Sprint(w.ScriptID, w.Day)]
		if !ok {
			report("script_daily %d %s: missing", w.ScriptID, w.Day)
			continue
		}
		for i, name := range scriptDayIntNames {
			if g.Ints[i] != w.Ints[i] {
				report("script_daily %d %s %s: got %d want %d", w.ScriptID, w.Day, name, g.Ints[i], w.Ints[i])
			}
		}
		if g.Rate != w.Rate {
			report("script_daily %d %s success_rate: got %v want %v", w.ScriptID, w.Day, g.Rate, w.Rate)
		}
		for i, name := range scriptDayFloatNames {
			tol := 0.0
			if strings.HasSuffix(name, "_avg") {
				tol = 1e-9
			}
			if !floatPtrEqual(g.Floats[i], w.Floats[i], tol) {
				report("script_daily %d %s %s: got %s want %s", w.ScriptID, w.Day, name, fp(g.Floats[i]), fp(w.Floats[i]))
			}
		}
	}
	if len(wantSteps) != len(gotSteps) {
		report("step_daily: %d rows in ClickHouse, %d in the recomputation", len(gotSteps), len(wantSteps))
	}
	stepByKey := map[string]refStepDay{}
	for _, g := range gotSteps {
		stepByKey[fmt.Sprint(g.ScriptID, g.Day, g.StepIndex)] = g
	}
	for _, w := range wantSteps {
		key := fmt.Sprintf("%d %s step %d", w.ScriptID, w.Day, w.StepIndex)
		g, ok := stepByKey[fmt.Sprint(w.ScriptID, w.Day, w.StepIndex)]
		if !ok {
			report("step_daily %s: missing", key)
			continue
		}
		if g.Attempts != w.Attempts || g.Failures != w.Failures || g.FailureRate != w.FailureRate {
			report("step_daily %s: got %d/%d (%v) want %d/%d (%v)", key, g.Failures, g.Attempts, g.FailureRate, w.Failures, w.Attempts, w.FailureRate)
		}
		if !textMatches(g.StepName, w.StepName) {
			report("step_daily %s step_name: got %s want %s", key, sp(g.StepName), sp(w.StepName))
		}
		if (g.LastFailureAt == nil) != (w.LastFailureAt == nil) || (g.LastFailureAt != nil && !g.LastFailureAt.Equal(*w.LastFailureAt)) {
			report("step_daily %s last_failure_at: got %v want %v", key, g.LastFailureAt, w.LastFailureAt)
		}
		if !textMatches(g.LastError, w.LastError) {
			report("step_daily %s last_error: got %s want %s", key, sp(g.LastError), sp(w.LastError))
		}
	}
	if len(problems) > 0 {
		t.Fatalf("%s: ClickHouse differs from the PostgreSQL recomputation:\n%s", stage, strings.Join(problems, "\n"))
	}
	t.Logf("%s: %d script_daily and %d step_daily rows equal the recomputation", stage, len(wantDays), len(wantSteps))
}

func floatPtrEqual(a, b *float64, relTol float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if *a == *b {
		return true
	}
	return relTol > 0 && math.Abs(*a-*b) <= relTol*math.Max(math.Abs(*a), math.Abs(*b))
}

// textMatches compares a view text with the source text: equal, or — for
// texts over the job's limits — the view holds a prefix of the source text
// followed by the cut marker.
func textMatches(got, want *string) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	if *got == *want {
		return true
	}
	if len(*want) <= 512 {
		return false
	}
	i := strings.LastIndex(*got, "…[cut")
	return i > 0 && strings.HasPrefix(*want, (*got)[:i])
}

func fp(p *float64) string {
	if p == nil {
		return "NULL"
	}
	return fmt.Sprint(*p)
}

func sp(p *string) string {
	if p == nil {
		return "NULL"
	}
	if len(*p) > 80 {
		return fmt.Sprintf("%q…(%d bytes)", (*p)[:80], len(*p))
	}
	return fmt.Sprintf("%q", *p)
}

// freshDatabases gives a new source database (with a pool on it, closed at
// the end of the test) after running the given statements in it, and the
// DSN of a new, not yet created, ClickHouse database.
func freshDatabases(t *testing.T, statements ...string) (pgDSN, chDSN string, pool *pgxpool.Pool) {
	t.Helper()
	pgDSN = teststack.Postgres(t)
	chDSN = teststack.ClickHouse(t)
	pool, err := pgxpool.New(context.Background(), pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	for _, q := range statements {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
	return pgDSN, chDSN, pool
}
