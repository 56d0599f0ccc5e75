package main

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scriptstats/scriptstats/deploy/demodata"
	"github.com/scriptstats/scriptstats/deploy/teststack"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// badInputRows are source rows breaking every rule of the input, on
// scripts of their own (5001..5003; 5999 has no scripts row), ids 900001..,
// on the day
// 2026-11-10 (UTC). Columns: id, script_id, status, started_at,
// finished_at, duration, failed_step_index, failed_step_name,
// error_message, steps, created_at.
const badInputSQL = `
INSERT INTO scripts (id, name) VALUES
    (5001, 'bad input'), (5002, 'bad steps'), (5003, 'hundred thousand steps'),
    (9223372036854775806, 'max script'), (-9223372036854775808, 'min script');
WITH t AS (SELECT '2026-11-10 10:00:00+00'::timestamptz AS d)
INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration,
                      failed_step_index, failed_step_name, error_message, steps, created_at)
SELECT v.id, v.script_id, v.status,
       t.d + (v.id % 1000) * interval '1 minute',
       t.d + (v.id % 1000) * interval '1 minute' + v.fin * interval '1 second',
       v.duration, v.fidx, v.fname, v.err, v.steps::jsonb, t.d
FROM t, (VALUES
    -- statuses: unknown, empty, 1 KB
    (900001, 5001, 'mystery',          5.0,  5.0::float8, NULL::int, NULL, NULL, NULL),
    (900002, 5001, '',                 5.0,  5.0, NULL, NULL, NULL, NULL),
    (900003, 5001, repeat('x', 1024),  5.0,  5.0, NULL, NULL, NULL, NULL),
    -- durations: NaN, ±Infinity, negative, 1e300, finished before started
    (900005, 5001, 'success',          5.0,  'NaN', NULL, NULL, NULL, NULL),
    (900006, 5001, 'success',          5.0,  'Infinity', NULL, NULL, NULL, NULL),
    (900007, 5001, 'success',          5.0,  '-Infinity', NULL, NULL, NULL, NULL),
    (900008, 5001, 'success',          5.0,  -3, NULL, NULL, NULL, NULL),
    (900009, 5001, 'success',          5.0,  1e300, NULL, NULL, NULL, NULL),
    (900010, 5001, 'failed',           -3600, NULL, NULL, NULL, NULL, NULL),
    (900011, 5001, 'success',          2.0,  NULL, NULL, NULL, NULL, NULL)
) AS v(id, script_id, status, fin, duration, fidx, fname, err, steps);

-- NULL started_at and finished_at: the day is created_at's.
INSERT INTO task_log (id, script_id, status, created_at) VALUES (900004, 5001, 'success', '2026-11-10 12:00:00+00');

WITH t AS (SELECT '2026-11-10 10:00:00+00'::timestamptz AS d)
INSERT INTO task_log (id, script_id, status, started_at, finished_at,
                      failed_step_index, failed_step_name, error_message, steps, created_at)
SELECT v.id, v.script_id, v.status, t.d + (v.id % 1000) * interval '1 minute', t.d + (v.id % 1000) * interval '1 minute' + interval '3 seconds',
       v.fidx, v.fname, v.err, v.steps::jsonb, t.d
FROM t, (VALUES
    -- steps: an object, a string, a number, JSON null, [] (these fall back to failed_step_index)
    (900012, 5002, 'failed',  2, 'fallback step', 'run error', '{"index": 0, "name": "x", "status": "success"}'),
    (900013, 5002, 'success', NULL::int, NULL, NULL, '"open > fill > submit"'),
    (900014, 5002, 'success', NULL, NULL, NULL, '42'),
    (900020, 5002, 'success', NULL, NULL, NULL, 'null'),
    (900021, 5002, 'failed',  9, 'empty array fallback', 'run error 21', '[]'),
    -- an array of non-objects: no steps, and no fallback (it is a non-empty array)
    (900015, 5002, 'failed',  7, 'not used', NULL, '[1, "x", null, true, [2]]'),
    -- elements without index, with a string index, a fractional index; one valid
    (900016, 5002, 'success', NULL, NULL, NULL,
        '[{"name": "no index", "status": "success"}, {"index": "1", "name": "string index", "status": "success"},
          {"index": 1.5, "name": "fractional", "status": "success"}, {"index": 3, "name": "ok", "status": "success"}]'),
    -- a duplicate index: both elements count
    (900017, 5002, 'failed',  NULL, NULL, NULL,
        '[{"index": 0, "name": "dup a", "status": "success"}, {"index": 0, "name": "dup b", "status": "failed", "error": "boom"}]'),
    -- step names NULL, empty, 10 KB
    (900018, 5002, 'success', NULL, NULL, NULL,
        '[{"index": 4, "name": null, "status": "success"}, {"index": 5, "name": "", "status": "success"},
          {"index": 6, "name": "' || repeat('y', 10240) || '", "status": "success"}]'),
    -- a 10 MB error message
    (900019, 5002, 'failed',  8, 'big error', repeat('E', 10485760), NULL),
    -- 100k steps
    (900022, 5003, 'success', NULL, NULL, NULL,
        (SELECT jsonb_agg(jsonb_build_object('index', g, 'name', 's' || g, 'status', 'success', 'duration', 0.01))::text
         FROM generate_series(0, 99999) g)),
    -- a script with no scripts row
    (900023, 5999, 'success', NULL, NULL, NULL, NULL),
    -- ids at the int64 limits
    (9223372036854775807, 9223372036854775806, 'success', NULL, NULL, NULL, NULL),
    (-9223372036854775808, -9223372036854775808, 'failed', 0, 'edge', 'edge error', NULL),
    (9223372036854775806, 9223372036854775807, 'success', NULL, NULL, NULL, NULL)
) AS v(id, script_id, status, fidx, fname, err, steps);

-- A start at infinity: no day, rejected and counted.
INSERT INTO task_log (id, script_id, status, started_at, created_at) VALUES (900027, 5001, 'success', 'infinity', '2026-11-10 10:00:00+00');
`

// TestBadInput loads every kind of bad value, checks the contract's rule
// for each in the views, the counts in the pass summary, memory, and that
// the good runs beside them are all there.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.generate(demodata.Options{Scripts: 10, Days: 20, Runs: 1000, Seed: 101, StepsShare: 0.8, Stories: true})
	e.migrate()
	baseline := invalidCounts(t, passSummary(t, e.must("run")))
	e.exec(badInputSQL)

	// The bad rows arrive in an incremental pass. It reads them, and the
	// whole history again when a transaction of another session on the
	// shared cluster, running at the last snapshot, has completed since
	// (the watermark cannot date it: see schedules/watermark.go); its
	// summary then counts the history's issues again.
	r := e.must("run", "--lookback", "0s")
	sum := passSummary(t, r)
	want := map[string]int64{
		"rejected_day_out_of_range": 1, // started_at infinity
		"timestamp_out_of_range":    0,
		"invalid_duration":          6, // NULL, NaN, +Inf, -Inf, -3, finished before started
		"other_status":              3, // mystery, '', 1 KB
		"steps_not_array":           4, // object, string, number, null
		"steps_empty_array":         1,
		"invalid_step_elements":     8, // 5 non-objects + no index, string index, fractional index
		"duplicate_step_indexes":    1,
		"invalid_utf8":              0,
		"texts_cut":                 3, // 1 KB status, 10 KB step name, 10 MB error
	}
	const badRows = 27
	switch rows := int64(sum["rows_extracted"].(float64)); rows {
	case badRows:
	case badRows + 1000:
		for k, v := range baseline {
			want[k] += v
		}
	default:
		t.Fatalf("rows_extracted %d, want %d (the bad rows) or %d (and the history again)", rows, badRows, badRows+1000)
	}
	got := invalidCounts(t, sum)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("summary invalid.%s = %d, want %d", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("summary invalid has %v, want the kinds %v", got, want)
	}
	if loaded, extracted := sum["runs_loaded"].(float64), sum["rows_extracted"].(float64); loaded != extracted-1 {
		t.Errorf("runs_loaded %v of %v rows extracted, want all but the one rejected", loaded, extracted)
	}
	t.Logf("pass with a 10 MB error and 100k steps: max RSS %d MB, %s", r.maxRSS>>20, r.elapsed.Round(time.Millisecond))
	if !raceBinary() && r.maxRSS > 400<<20 {
		t.Errorf("max RSS %d MB, want < 400 MB", r.maxRSS>>20)
	}

	ctx := context.Background()
	q := func(dest []any, sql string, args ...any) {
		t.Helper()
		if err := e.ch.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	// script_daily of script 5001.
	var total, success, failed, other, dcount, dinvalid uint64
	var rate float64
	var dmin, dmax, p50, p90, p99, savg, sp50, sp95 *float64
	q([]any{&total, &success, &failed, &other, &rate, &dcount, &dinvalid, &dmin, &dmax, &p50, &p90, &p99, &savg, &sp50, &sp95},
		`SELECT total, success, failed, other, success_rate, duration_count, invalid_duration,
		        duration_min, duration_max, duration_p50, duration_p90, duration_p99,
		        success_duration_avg, success_duration_p50, success_duration_p95
		 FROM script_daily WHERE script_id = 5001 AND day = '2026-11-10'`)
	check := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("total", total, 11)
	check("success", success, 7)
	check("failed", failed, 1)
	check("other", other, 3)
	check("success_rate", rate, 7.0/11)
	check("duration_count", dcount, 5)
	check("invalid_duration", dinvalid, 6)
	check("duration_min", *dmin, 2)
	check("duration_max", *dmax, 1e300)
	check("duration_p50", *p50, 5)
	check("duration_p90", *p90, 1e300)
	check("duration_p99", *p99, 1e300)
	check("success_duration_avg", *savg, 5e299)
	check("success_duration_p50", *sp50, 2)
	check("success_duration_p95", *sp95, 1e300)

	// runs: statuses kept (cut), the day of a never-started run, durations.
	var status string
	q([]any{&status}, "SELECT status FROM runs WHERE run_id = 900003")
	if len(status) > 512 || !strings.HasPrefix(status, "xxxx") || !strings.HasSuffix(status, "…[cut, 1024 bytes in all]") {
		t.Errorf("1 KB status stored as %d bytes %q…", len(status), relClip(status, 40))
	}
	q([]any{&status}, "SELECT status FROM runs WHERE run_id = 900002")
	check("empty status", fmt.Sprintf("%q", status), `""`)
	var day time.Time
	var started *time.Time
	var dur, reported *float64
	q([]any{&day, &started, &dur}, "SELECT day, started_at, duration FROM runs WHERE run_id = 900004")
	check("never-started run: day", day.Format(time.DateOnly), "2026-11-10")
	check("never-started run: started_at", started == nil && dur == nil, true)
	for id, want := range map[int]float64{900005: math.NaN(), 900006: math.Inf(1), 900007: math.Inf(-1), 900008: -3} {
		q([]any{&dur, &reported}, "SELECT duration, reported_duration FROM runs WHERE run_id = ?", id)
		if dur != nil || reported == nil || fmt.Sprint(*reported) != fmt.Sprint(want) {
			t.Errorf("run %d: duration %v (want NULL), reported %v (want %v)", id, fp(dur), fp(reported), want)
		}
	}
	q([]any{&dur}, "SELECT duration FROM runs WHERE run_id = 900010")
	check("finished before started: duration", dur == nil, true)
	var n uint64
	q([]any{&n}, "SELECT count() FROM runs WHERE run_id = 900027")
	check("rejected run (start at infinity) in runs", n, 0)

	// step_daily of script 5002.
	type stepRow struct {
		name               *string
		attempts, failures uint64
		lastError          *string
	}
	steps := map[int32]stepRow{}
	rows, err := e.ch.Query(ctx, `SELECT step_index, step_name, attempts, failures, last_error
		FROM step_daily WHERE script_id = 5002 AND day = '2026-11-10'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var i int32
		var s stepRow
		if err := rows.Scan(&i, &s.name, &s.attempts, &s.failures, &s.lastError); err != nil {
			t.Fatal(err)
		}
		steps[i] = s
	}
	rows.Close()
	str := func(p *string) string {
		if p == nil {
			return "NULL"
		}
		return relClip(*p, 60)
	}
	if len(steps) != 8 {
		t.Errorf("script 5002 has steps %v, want 0, 2, 3, 4, 5, 6, 8, 9", steps)
	}
	for _, c := range []struct {
		index              int32
		name               string
		attempts, failures uint64
		lastError          string
	}{
		{2, "fallback step", 1, 1, "run error"},           // steps an object: failed_step_index
		{9, "empty array fallback", 1, 1, "run error 21"}, // steps []: failed_step_index
		{3, "ok", 1, 0, "NULL"},                           // the one valid element of run 16
		{0, "dup b", 2, 1, "boom"},                        // duplicate index: both count
		{4, "NULL", 1, 0, "NULL"},                         // name null
		{5, "", 1, 0, "NULL"},                             // name empty
	} {
		s, ok := steps[c.index]
		if !ok {
			t.Errorf("step %d missing", c.index)
			continue
		}
		if str(s.name) != c.name || s.attempts != c.attempts || s.failures != c.failures || str(s.lastError) != c.lastError {
			t.Errorf("step %d: name %s, %d/%d, last_error %s; want %s, %d/%d, %s", c.index,
				str(s.name), s.failures, s.attempts, str(s.lastError), c.name, c.failures, c.attempts, c.lastError)
		}
	}
	if _, ok := steps[7]; ok {
		t.Error("a non-empty array of non-objects fell back to failed_step_index")
	}
	if s := steps[6]; s.name == nil || len(*s.name) > 512 || !strings.HasSuffix(*s.name, "…[cut, 10240 bytes in all]") {
		t.Errorf("10 KB step name stored as %s", str(s.name))
	}
	const bigMarker = "…[cut, 10485760 bytes in all]"
	if s := steps[8]; s.lastError == nil || len(*s.lastError) > 4096 || !strings.HasPrefix(*s.lastError, "EEEE") || !strings.HasSuffix(*s.lastError, bigMarker) {
		t.Errorf("10 MB error as the step's last_error: %s", str(s.lastError))
	}
	var errMsg string
	q([]any{&errMsg}, "SELECT error_message FROM runs WHERE run_id = 900019")
	if len(errMsg) > 4096 || !strings.HasSuffix(errMsg, bigMarker) {
		t.Errorf("10 MB error_message stored as %d bytes ending %q", len(errMsg), errMsg[max(0, len(errMsg)-40):])
	}
	q([]any{&n}, "SELECT count() FROM run_steps WHERE run_id = 900015")
	check("steps of a run whose array holds no object", n, 0)
	q([]any{&n}, "SELECT count() FROM run_steps WHERE run_id = 900016")
	check("steps of run 16 (one valid element of four)", n, 1)

	// 100k steps.
	q([]any{&n}, "SELECT count() FROM run_steps WHERE run_id = 900022")
	check("run_steps of the 100k-step run", n, 100000)
	q([]any{&n}, "SELECT count() FROM step_daily WHERE script_id = 5003 AND attempts = 1 AND failures = 0")
	check("step_daily rows of the 100k-step run", n, 100000)

	// Scripts: missing, and ids at the limits.
	var name string
	q([]any{&name}, "SELECT script_name FROM script_daily WHERE script_id = 5999")
	check("script with no scripts row", name, "(unknown script 5999)")
	for id, want := range map[int64]string{math.MaxInt64: "max script", math.MinInt64: "min script", math.MaxInt64 - 1: "(unknown script 9223372036854775807)"} {
		q([]any{&name}, "SELECT script_name FROM runs WHERE run_id = ?", id)
		check(fmt.Sprintf("run %d: script_name", id), name, want)
	}
	var fidx *int32
	q([]any{&fidx}, "SELECT failed_step_index FROM runs WHERE run_id = ?", int64(math.MinInt64))
	check("run min int64: failed_step_index", fidx != nil && *fidx == 0, true)

	// Nothing else is lost: every view row equals the recomputation, and
	// verify over all days agrees.
	e.checkAll("bad input beside a normal history")
}

// TestBadInputInvalidUTF8 reads text with invalid UTF-8 from a SQL_ASCII
// source database (which stores any byte but NUL) and JSON \u0000 from a
// json (not jsonb) steps column: ClickHouse gets valid UTF-8, every repair
// is counted.
func TestBadInputInvalidUTF8(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := teststack.PostgresAdminDSN(t)
	name := teststack.DatabaseName(t)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = c.Close(context.Background())
		}
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	e := newJobEnv(t, u.String(), teststack.ClickHouse(t))
	e.exec(sqlfiles.PostgresReferenceSchema)
	// json keeps its text as written, \u0000 included (jsonb refuses it);
	// the job accepts both types.
	e.exec(`ALTER TABLE task_log ALTER COLUMN steps TYPE json`)
	for _, q := range []string{`SELECT E'nul \x00 byte'`, `SELECT '"\u0000"'::jsonb`} {
		if _, err := e.pool.Exec(ctx, q); err == nil {
			t.Fatalf("%s: PostgreSQL stored a NUL; this test's note is out of date", q)
		}
	}
	e.exec(`INSERT INTO scripts VALUES (1, E'caf\xe9 script')`)
	e.exec(`INSERT INTO task_log (id, script_id, status, started_at, finished_at, failed_step_index, failed_step_name, error_message, steps) VALUES
		(1, 1, 'failed', '2026-11-10 10:00Z', '2026-11-10 10:00:05Z', 0, E'step \xc3(', E'bad \xff\xfe bytes', NULL),
		(2, 1, 'failed', '2026-11-10 11:00Z', '2026-11-10 11:00:05Z', NULL, NULL, NULL,
		 E'[{"index": 0, "name": "nul\\u0000here", "status": "success"}, {"index": 1, "name": "raw \xff byte", "status": "failed", "error": "e\xfe"}]')`)
	e.migrate()
	r := e.must("run")
	got := invalidCounts(t, passSummary(t, r))
	// run 1: error_message, failed_step_name; run 2: two step names, one step error.
	if got["invalid_utf8"] != 5 {
		t.Errorf("invalid_utf8 = %d, want 5 (summary %v)", got["invalid_utf8"], got)
	}
	var errMsg, fname, script string
	if err := e.ch.QueryRow(ctx, "SELECT error_message, failed_step_name, script_name FROM runs WHERE run_id = 1").Scan(&errMsg, &fname, &script); err != nil {
		t.Fatal(err)
	}
	const r1 = "\uFFFD"
	for _, c := range [][2]string{{errMsg, "bad " + r1 + r1 + " bytes"}, {fname, "step " + r1 + "("}, {script, "caf" + r1 + " script"}} {
		if c[0] != c[1] {
			t.Errorf("got %q, want %q", c[0], c[1])
		}
	}
	rows, err := e.ch.Query(ctx, "SELECT step_name, ifNull(error, '') FROM run_steps WHERE run_id = 2 ORDER BY step_index")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n *string
		var er string
		if err := rows.Scan(&n, &er); err != nil {
			t.Fatal(err)
		}
		names = append(names, str0(n)+"|"+er)
	}
	rows.Close()
	want := []string{"nul" + r1 + "here|", "raw " + r1 + " byte|e" + r1}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("run 2 steps %q, want %q", names, want)
	}
	e.verifyAll("invalid UTF-8")
}

func str0(p *string) string {
	if p == nil {
		return "NULL"
	}
	return *p
}
