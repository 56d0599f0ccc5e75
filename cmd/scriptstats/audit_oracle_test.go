package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/teststack"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// The audit: source rows an unseen acceptance data set could hold, written
// by hand at the edges of each rule of CONTRACT.md sections 1-3, changed
// the ways misbehaving writers change them, and judged after every step by
// the independent PostgreSQL oracle (oracle_helpers_test.go) and verify.

// auditZone has a midnight that does not exist (2024-03-10: 00:00 CST ->
// 01:00 CDT) and a midnight hour that occurs twice (2024-11-03: 01:00 CDT
// -> 00:00 CST).
const auditZone = "America/Havana"

// auditRowsSQL: scripts 1..6 (script 7 has no scripts row; ids at the
// int64 edges too). Times are UTC instants; the comments give Havana's
// local time.
var auditRowsSQL = `
INSERT INTO scripts (id, name) VALUES (1, 'midnights'), (2, 'durations'), (3, 'statuses'), (4, 'steps'),
    (5, 'texts'), (6, 'moves'), (-9223372036854775808, 'min'), (9223372036854775807, 'max');
INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration,
                      failed_step_index, failed_step_name, error_message, steps, created_at) VALUES
    -- The day around midnights: the last microsecond of 03-09 (CST), the
    -- first instant of 03-10 (01:00 CDT, midnight does not exist), the
    -- first midnight of 11-03, the last microsecond of 11-02, 00:30 twice.
    (101, 1, 'success', '2024-03-10 04:59:59.999999Z', '2024-03-10 05:00:01Z', NULL, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (102, 1, 'success', '2024-03-10 05:00:00Z', '2024-03-10 05:00:02Z', NULL, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (103, 1, 'failed',  '2024-11-03 04:00:00Z', '2024-11-03 04:00:03Z', NULL, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (104, 1, 'success', '2024-11-03 03:59:59.999999Z', NULL, 4, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (105, 1, 'success', '2024-11-03 04:30:00Z', '2024-11-03 04:30:05Z', NULL, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (106, 1, 'success', '2024-11-03 05:30:00Z', '2024-11-03 05:30:06Z', NULL, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    -- never started: the day of created_at, on either side of a midnight.
    (107, 1, 'cancelled', NULL, '2024-03-10 06:00Z', NULL, NULL, NULL, NULL, NULL, '2024-03-10 04:59:59.999999Z'),
    (108, 1, 'cancelled', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-03-10 05:00:00Z'),
    -- started on one day, created on another: started_at decides.
    (109, 1, 'success', '2024-03-10 05:00:00Z', '2024-03-10 05:00:09Z', NULL, NULL, NULL, NULL, NULL, '2024-03-08Z'),

    -- Durations: zero and minus zero, the smallest subnormal, the largest
    -- float twice (a sum that overflows), NaN, minus infinity, negative,
    -- finished before started, started and not finished, a reported
    -- duration beside times that disagree.
    (201, 2, 'success', '2024-03-11 15:00Z', NULL, 0, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (202, 2, 'success', '2024-03-11 15:01Z', NULL, '-0', NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (203, 2, 'success', '2024-03-11 15:02Z', NULL, 5e-324, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (204, 2, 'success', '2024-03-11 15:03Z', NULL, 1.7976931348623157e308, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (205, 2, 'failed',  '2024-03-11 15:04Z', NULL, 1.7976931348623157e308, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (206, 2, 'success', '2024-03-11 15:05Z', NULL, 'NaN', NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (207, 2, 'failed',  '2024-03-11 15:06Z', NULL, '-Infinity', NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (208, 2, 'timeout', '2024-03-11 15:07Z', '2024-03-11 15:08Z', -1e-9, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (209, 2, 'failed',  '2024-03-11 15:09Z', '2024-03-11 15:08:59.999999Z', NULL, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (210, 2, 'failed',  '2024-03-11 15:10Z', NULL, NULL, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (211, 2, 'success', '2024-03-11 15:11Z', '2024-03-11 16:11Z', 2.5, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (212, 2, 'success', '2024-03-11 15:12Z', '2024-03-11 15:12:00.000001Z', NULL, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    -- over years: the difference in seconds of two far timestamps.
    (213, 2, 'success', '2024-03-11 15:13Z', '2299-12-31 23:59:59.999999Z', NULL, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (214, 2, 'running', '2024-03-11 15:14Z', NULL, 'NaN', NULL, NULL, NULL, NULL, '2024-03-01Z'),
    -- times at the edge of what the ClickHouse driver carries (int64
    -- nanoseconds: up to 2262-04-11 23:47:16.854775807), and past it on a
    -- day ClickHouse holds: stored NULL, ordered by the source's value.
    (215, 2, 'success', '2262-04-11 23:47:16.854775Z', '2262-04-11 23:47:16.854776Z', NULL, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (216, 2, 'failed',  '2262-04-11 23:47:16.854776Z', NULL, 1, 0, 'late', 'late error', NULL, '2024-03-01Z'),
    (217, 2, 'success', '2270-01-01 00:00Z', NULL, 3, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (218, 2, 'failed',  '2270-01-01 00:00Z', NULL, 3, 0, 'later', 'later error', NULL, '2024-03-01Z'),

    -- Statuses in odd case, with spaces, misspelt, unfinished in odd case
    -- (finished, counted as other: names are exact).
    (301, 3, 'SUCCESS',   '2024-03-12 15:00Z', NULL, 1, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (302, 3, 'Success',   '2024-03-12 15:01Z', NULL, 1, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (303, 3, ' failed',   '2024-03-12 15:02Z', NULL, 1, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (304, 3, 'canceled',  '2024-03-12 15:03Z', NULL, 1, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (305, 3, 'Running',   '2024-03-12 15:04Z', NULL, 1, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (306, 3, 'pending ',  '2024-03-12 15:05Z', NULL, 1, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (307, 3, 'queued',    '2024-03-12 15:06Z', NULL, 1, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (308, 3, 'TIMEOUT',   '2024-03-12 15:07Z', NULL, 1, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (309, 3, 'timeout',   '2024-03-12 15:08Z', NULL, 1, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (310, 3, e'success\n', '2024-03-12 15:09Z', NULL, 1, NULL, NULL, NULL, NULL, '2024-03-01Z'),

    -- Steps.
    -- duplicate and missing indexes, non-numeric durations, nested junk
    (401, 4, 'failed', '2024-03-12 16:00Z', '2024-03-12 16:01Z', NULL, 9, 'unused', 'run error 401',
     '[{"index": 0, "name": "a", "status": "success", "duration": {"s": 1}},
       {"index": 0, "name": "a again", "status": "failed", "duration": "2", "error": ["e", {"x": null}]},
       {"index": 2, "name": "c", "status": "skipped", "duration": true},
       {"index": 3, "name": {"z": 1, "a": [1, 2.50, "x"]}, "status": "failed", "duration": null},
       {"index": 5, "name": "f", "status": "success", "duration": 1e2, "extra": {"deep": [[[[[[{"k": "v"}]]]]]]}},
       {"index": 6, "name": "g", "status": "SUCCESS", "duration": 1},
       {"index": 7, "name": "h", "status": null},
       {"index": null, "name": "i", "status": "success"},
       {"index": 1e0, "name": "one", "status": "success", "duration": 0.5},
       {"index": -2147483648, "name": "min index", "status": "failed", "duration": 3},
       {"index": 2147483647, "name": "max index", "status": "success", "duration": 4},
       {"index": 2147483648, "name": "over", "status": "success"},
       "step", 3, null, [], {}]', '2024-03-01Z'),
    -- an array of only skipped steps: steps, no attempt, no fallback
    (402, 4, 'failed', '2024-03-12 16:02Z', '2024-03-12 16:03Z', NULL, 4, 'fallback', 'run error 402',
     '[{"index": 0, "name": "a", "status": "skipped"}, {"index": 1, "name": "b", "status": "skipped"}]', '2024-03-01Z'),
    -- not an array: the failed step of failed_step_index (negative too)
    (403, 4, 'failed', '2024-03-12 16:04Z', '2024-03-12 16:05Z', NULL, -3, 'negative fallback', 'run error 403',
     '{"0": {"index": 0, "status": "failed"}}', '2024-03-01Z'),
    (404, 4, 'failed', '2024-03-12 16:06Z', '2024-03-12 16:07Z', NULL, 0, NULL, NULL, '[]', '2024-03-01Z'),
    (405, 4, 'success', '2024-03-12 16:08Z', '2024-03-12 16:09Z', NULL, 0, 'success run, failed step', NULL, 'false', '2024-03-01Z'),
    -- unicode escapes and names jsonb normalizes
    (406, 4, 'failed', '2024-03-12 16:10Z', '2024-03-12 16:11Z', NULL, NULL, NULL, 'run error 406',
     '[{"ind\u0065x": 0, "name": "caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \t", "status": "fail\u0065d", "error": "\u00e9\u0001"},
       {"index": 1, "name": "nul is refused, \u001f is not", "status": "success"}]', '2024-03-01Z'),
    -- a non-counted run's failed steps: in run_steps, not in step_daily
    (407, 4, 'queued', '2024-03-12 16:12Z', NULL, NULL, NULL, NULL, NULL,
     '[{"index": 0, "name": "a", "status": "failed", "error": "queued error"}]', '2024-03-01Z'),

    -- Texts: a status over 512 bytes, control characters, a long error.
    (501, 5, repeat('s', 600), '2024-03-12 17:00Z', NULL, 1, 1, repeat('n', 513), repeat('€', 3000) || 'end', NULL, '2024-03-01Z'),
    (502, 5, 'failed', '2024-03-12 17:01Z', NULL, 1, 0, e'tab\there', e'line1\nline2\r\u0001', NULL, '2024-03-01Z'),

    -- Script ids at the int64 edges, and a script with no row.
    (601, -9223372036854775808, 'success', '2024-03-12 18:00Z', NULL, 1, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (602, 9223372036854775807, 'failed', '2024-03-12 18:00Z', NULL, 2, 0, 'x', 'e', NULL, '2024-03-01Z'),
    (603, 7, 'success', '2024-03-12 18:00Z', NULL, 3, NULL, NULL, NULL, NULL, '2024-03-01Z'),

    -- Runs that will move (script 6).
    (701, 6, 'success', '2024-03-13 15:00Z', NULL, 10, NULL, NULL, NULL,
     '[{"index": 0, "name": "m", "status": "success", "duration": 1}]', '2024-03-01Z'),
    (702, 6, 'failed', '2024-03-13 15:01Z', NULL, 11, 0, 'm', 'moved error', NULL, '2024-03-01Z'),
    (703, 6, 'success', '2024-03-13 15:02Z', NULL, 12, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (704, 6, 'running', '2024-03-13 15:03Z', NULL, NULL, NULL, NULL, NULL, NULL, '2024-03-01Z'),
    (705, 6, 'success', '2024-03-13 15:04Z', NULL, 14, NULL, NULL, NULL, NULL, '2024-03-01Z');

-- Success-rate drops (script 8): 30 successes 29 days before 2024-03-10
-- (outside its baseline), 10 of 10 28 days before and 9 of 10 on 03-01
-- (a baseline of exactly 20 runs), then 0 of 10 on 03-10 and 0 of 5 on
-- 03-11. Noon UTC is 07:00 or 08:00 in Havana: the same date.
INSERT INTO scripts VALUES (8, 'drops');
INSERT INTO task_log (id, script_id, status, started_at, duration, created_at)
SELECT 800000 + row_number() OVER (), 8, v.status, v.day + interval '12 hours' + g * interval '1 minute', 1, '2024-01-01Z'
FROM (VALUES ('2024-02-10'::date, 30, 30), ('2024-02-11', 10, 10), ('2024-03-01', 10, 9),
             ('2024-03-10', 10, 0), ('2024-03-11', 5, 0)) AS d(day, n, ok)
CROSS JOIN LATERAL generate_series(1, d.n) AS g
CROSS JOIN LATERAL (SELECT d.day::timestamp AT TIME ZONE 'UTC' AS day,
                           CASE WHEN g <= d.ok THEN 'success' ELSE 'failed' END AS status) AS v;

-- Step health and change points (script 9), in the 14 days before the
-- pass: 60 runs two hours apart ending now, their duration doubling at the
-- 31st. Two hours, so that the 30 runs on each side of the shift span at
-- least three days whatever the hour: an hour apart, at some hours most of
-- the 30 runs after it fell on one day of America/Havana, and the one-day
-- rule (a day of runs is not a shift) rightly found no change. Steps at
-- the int32 edges: -2147483648 fails in the last three runs, 2147483647
-- flips every run, 0 is a success with a duration that doubles too, and a
-- skipped step.
INSERT INTO scripts VALUES (9, 'health');
INSERT INTO task_log (id, script_id, status, started_at, duration, steps, created_at)
SELECT 900000 + g, 9, CASE WHEN g > 57 THEN 'failed' ELSE 'success' END,
       now() - (61 - g) * interval '2 hours', CASE WHEN g > 30 THEN 20 ELSE 10 END + (g % 7) * 0.01,
       jsonb_build_array(
           jsonb_build_object('index', -2147483648, 'name', 'min', 'status', CASE WHEN g > 57 THEN 'failed' ELSE 'success' END,
                              'duration', 1, 'error', CASE WHEN g > 57 THEN 'min error ' || g END),
           jsonb_build_object('index', 2147483647, 'name', 'max', 'status', CASE WHEN g % 2 = 0 THEN 'failed' ELSE 'success' END,
                              'duration', 2),
           jsonb_build_object('index', 0, 'name', 'zero', 'status', 'success', 'duration', CASE WHEN g > 30 THEN 8 ELSE 4 END + (g % 5) * 0.01),
           jsonb_build_object('index', 1, 'name', 'skipped', 'status', 'skipped')),
       now() - interval '20 days'
FROM generate_series(1, 60) AS g;

-- Duplicate step indexes in the health window (script 10): each of 15 runs
-- has step 0 twice, a success then a failure (array order), and step 1
-- twice, failed then success: 30 executions each, flipping at every one.
INSERT INTO scripts VALUES (10, 'duplicates');
INSERT INTO task_log (id, script_id, status, started_at, duration, steps, created_at)
SELECT 100000 + g, 10, 'failed', now() - (16 - g) * interval '3 hours', 1,
       ('[{"index": 0, "name": "a", "status": "success", "duration": 1},
         {"index": 0, "name": "a", "status": "failed", "error": "dup ' || g || '"},
         {"index": 1, "name": "b", "status": "failed", "error": "first ' || g || '"},
         {"index": 1, "name": "b", "status": "success", "duration": 2}]')::jsonb, now() - interval '3 days'
FROM generate_series(1, 15) AS g;
-- A recent failing run with an infinite step duration and an infinite
-- reported duration, beside the run before it (the report compares them).
INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, error_message, steps, created_at) VALUES
    (100100, 10, 'failed', now() - interval '1 minute', now(), 'Infinity', e'inf \u0001 <script>',
     '[{"index": 0, "name": "a", "status": "failed", "duration": 1e400}, {"index": 7, "name": "</script>", "status": "success", "duration": 1e-400}]',
     now() - interval '1 minute');
`

// auditDeepJunk: an element whose extra key nests arrays deeper than
// jsonb's ordinary use but well within what PostgreSQL accepts.
func auditDeepJunk(depth int) string {
	return `UPDATE task_log SET steps = ('[{"index": 0, "name": "deep", "status": "success", "duration": 2, "junk": ` +
		strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}, {"index": 1, "name": ` +
		strings.Repeat("[", depth) + strings.Repeat("]", depth) + `, "status": "failed"}]')::jsonb WHERE id = 705`
}

// TestAuditOddRowsAndWriters: the rows above, then the changes of
// misbehaving writers, each step judged by the oracle and verify.
func TestAuditOddRowsAndWriters(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	auditOddRowsAndWriters(t, e, false)
}

// TestAuditOddRowsAndWritersLogical: the same with --source logical,
// where deletes reach the views at the next pass.
func TestAuditOddRowsAndWritersLogical(t *testing.T) {
	t.Parallel()
	auditOddRowsAndWriters(t, logicalEnv(t), true)
}

func auditOddRowsAndWriters(t *testing.T, e *jobEnv, logical bool) {
	e.tz = auditZone
	e.exec(sqlfiles.PostgresReferenceSchema)
	e.exec(auditRowsSQL)
	e.exec(auditDeepJunk(1500))
	if logical {
		if r := runBin(t, nil, "migrate", "--clickhouse-dsn", e.chDSN, "--pg-dsn", e.pgDSN, "--source", "logical", "--log-format", "json"); r.code != 0 {
			t.Fatalf("migrate --source logical: %s", r)
		}
		e.ch = openClickHouse(t, e.chDSN)
	} else {
		e.migrate()
	}
	e.mustPass("run")
	e.checkAll("odd rows, first pass")
	if changes, unhealthy := assertDetectionMatchesSource(t, "odd rows, first pass", e.pool, e.ch, e.tz, transform.DefaultChangeOptions()); changes == 0 || unhealthy < 2 {
		t.Errorf("script 9: %d change points, %d steps not healthy; want its doubling found and steps -2147483648 and 2147483647 not healthy", changes, unhealthy)
	}
	// The report draws from every view, odd values included.
	out := filepath.Join(t.TempDir(), "report.html")
	if r := e.cli(nil, "report", "--out", out); r.code != 0 {
		t.Errorf("report over the odd rows: %s", r)
	} else if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "duplicates") {
		t.Errorf("report over the odd rows: %d bytes (%v), no section of script 10", len(b), err)
	}

	// compare, text and JSON, of a run with an infinite step duration.
	for _, more := range [][]string{{"100015", "100100"}, {"--json", "100015", "100100"}} {
		if r := e.cli(nil, "compare", more...); r.code != 0 || !strings.Contains(r.stdout, "7") {
			t.Errorf("compare %v: %s", more, r)
		}
	}

	// verify sees a change of a step alone (no figure of step_daily moves).
	e.exec(`UPDATE task_log SET steps = jsonb_set(steps, '{0,duration}', '1.5') WHERE id = 701`)
	if r := e.cli(nil, "verify", "--from", "2024-03-13", "--to", "2024-03-13"); r.code != 1 ||
		!strings.Contains(r.stdout, "runs run_id=701: step 1 of 1: duration: clickhouse 1, source 1.5") {
		t.Errorf("verify after a step's duration changed at the source: want exit 1 naming run 701's step: %s", r)
	}
	e.mustPass("run")
	e.verifyDays("after the step's change", "2024-03-13", "2024-03-13")
	var drops uint64
	if err := e.ch.QueryRow(context.Background(), "SELECT count() FROM success_rate_drops WHERE script_id = 8 AND day = '2024-03-10'").Scan(&drops); err != nil || drops != 1 {
		t.Fatalf("script 8 on 2024-03-10 (0 of 10 after 19 of 20): %d drops (%v), want 1", drops, err)
	}

	steps := []struct{ what, sql string }{
		{"a run moves to another script", `UPDATE task_log SET script_id = 1 WHERE id = 701`},
		{"a run moves to another day", `UPDATE task_log SET started_at = '2024-03-09 12:00Z' WHERE id = 702`},
		{"a run moves across the missing midnight by a microsecond",
			`UPDATE task_log SET started_at = '2024-03-10 05:00:00Z' WHERE id = 101`},
		{"a run is deleted and inserted again with the same id, elsewhere", `DELETE FROM task_log WHERE id = 703;
			INSERT INTO task_log (id, script_id, status, started_at, duration, created_at)
			VALUES (703, 3, 'failed', '2024-11-03 05:10Z', 7, '2024-03-01Z')`},
		{"an unfinished run finishes", `UPDATE task_log SET status = 'success', duration = 3 WHERE id = 704`},
		{"a finished run becomes unfinished", `UPDATE task_log SET status = 'running' WHERE id = 705`},
		{"a script row is deleted", `DELETE FROM scripts WHERE id = 5`},
		{"a script appears", `INSERT INTO scripts VALUES (7, 'seven')`},
		// An application clock a few minutes behind (within --lookback).
		{"updated_at goes backwards", `UPDATE task_log SET status = 'failed', updated_at = now() - interval '5 minutes' WHERE id = 102`},
		// Many rows with one stamp.
		{"many rows share one updated_at", `UPDATE task_log SET updated_at = now() - interval '1 minute',
			duration = coalesce(duration, 0) + 1 WHERE script_id = 2`},
	}
	for _, s := range steps {
		e.exec(s.sql)
	}
	e.mustPass("run")
	e.checkAll("after the writers' changes (one pass)")

	// Each change alone, a pass after each.
	for _, s := range []struct{ what, sql string }{
		{"moved back", `UPDATE task_log SET script_id = 6 WHERE id = 701`},
		{"deleted and re-inserted in one transaction", `BEGIN; DELETE FROM task_log WHERE id = 702;
			INSERT INTO task_log (id, script_id, status, started_at, duration, created_at)
			VALUES (702, 6, 'success', '2024-03-13 15:01Z', 1, '2024-03-01Z'); COMMIT`},
		{"started_at removed: the day of created_at", `UPDATE task_log SET started_at = NULL WHERE id = 109`},
		// The previous run of a run on another day changes, though its
		// group does not.
		{"a late run on the day before", `INSERT INTO task_log (id, script_id, status, started_at, duration, steps, created_at)
			VALUES (503, 5, 'failed', '2024-03-11 12:00Z', 9, '[{"index": 0, "name": "n", "status": "failed"}]', '2024-03-01Z')`},
		{"the late run moves after them", `UPDATE task_log SET started_at = '2024-03-12 17:00:30Z' WHERE id = 503`},
		{"the late run is no longer counted", `UPDATE task_log SET status = 'running' WHERE id = 503`},
		{"the first run of a script moves away", `UPDATE task_log SET script_id = 1 WHERE id = 501`},
	} {
		e.exec(s.sql)
		e.mustPass("run")
		assertViewsMatchOracle(t, s.what, e.pool, e.ch, e.tz)
	}

	// Deletes, then a backfill of every day.
	e.exec(`DELETE FROM task_log WHERE id IN (105, 206, 401)`)
	if logical {
		e.mustPass("run")
		assertViewsMatchOracle(t, "logical: after deletes", e.pool, e.ch, e.tz)
	}
	from, to := e.dayRange()
	e.mustPass("backfill", "--from", from, "--to", to)
	e.checkAll("after deletes and a backfill")
	assertDetectionMatchesSource(t, "after deletes and a backfill", e.pool, e.ch, e.tz, transform.DefaultChangeOptions())
	t.Logf("days %s..%s", from, to)
}

// TestAuditBackfillWhereADateComesBack: in America/St_Johns on 2010-11-07
// the clocks went back at 00:01 (-02:30) to 23:01 of the 6th (-03:30), so
// the 6th is [its midnight, 02:30Z) and again [02:31Z, 03:30Z), the 7th
// [02:30Z, 02:31Z) and from 03:30Z. A backfill or a verify of either day
// alone must see every run of that day and nothing else.
func TestAuditBackfillWhereADateComesBack(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.tz = "America/St_Johns"
	e.exec(sqlfiles.PostgresReferenceSchema)
	e.exec(`INSERT INTO scripts VALUES (1, 'newfoundland');
INSERT INTO task_log (id, script_id, status, started_at, duration, created_at) VALUES
  (1, 1, 'success', '2010-11-06 12:00Z',    1, '2010-11-01Z'), -- 09:30 on the 6th
  (2, 1, 'success', '2010-11-07 02:30:30Z', 2, '2010-11-01Z'), -- 00:00:30 on the 7th
  (3, 1, 'failed',  '2010-11-07 03:00Z',    3, '2010-11-01Z'), -- 23:30 on the 6th, again
  (4, 1, 'success', '2010-11-07 04:00Z',    4, '2010-11-01Z'), -- 00:30 on the 7th
  (5, 1, 'success', '2010-11-07 12:00Z',    5, '2010-11-01Z')  -- 08:30 on the 7th`)
	e.migrate()
	e.mustPass("run")
	e.checkAll("first pass")
	for _, d := range []string{"2010-11-06", "2010-11-07"} {
		e.verifyDays("first pass", d, d)
	}
	want := map[int64]string{1: "2010-11-06", 2: "2010-11-07", 3: "2010-11-06", 4: "2010-11-07", 5: "2010-11-07"}
	e.assertRunDays("first pass", want)

	// Runs only a backfill brings in (no incremental pass between), in the
	// hour of the 6th that comes back; run 3 is deleted.
	e.exec(`INSERT INTO task_log (id, script_id, status, started_at, duration, created_at) VALUES
  (6, 1, 'timeout', '2010-11-07 03:10Z', 6, '2010-11-01Z'), -- 23:40 on the 6th, again
  (7, 1, 'failed',  '2010-11-07 03:31Z', 7, '2010-11-01Z'); -- 00:01 on the 7th
DELETE FROM task_log WHERE id = 3`)
	// verify of the 6th alone sees that the views are behind.
	if r := e.cli(nil, "verify", "--from", "2010-11-06", "--to", "2010-11-06"); r.code != 1 || !strings.Contains(r.stdout, "run_id=6") {
		t.Errorf("verify of 2010-11-06 with run 6 missing and run 3 deleted: want exit 1 naming run 6: %s", r)
	}
	e.mustPass("backfill", "--from", "2010-11-06", "--to", "2010-11-06")
	delete(want, 3)
	want[6] = "2010-11-06"
	e.assertRunDays("after a backfill of 2010-11-06", want)
	e.verifyDays("after a backfill of 2010-11-06", "2010-11-06", "2010-11-06")
	e.mustPass("backfill", "--from", "2010-11-07", "--to", "2010-11-07")
	want[7] = "2010-11-07"
	e.assertRunDays("after a backfill of 2010-11-07", want)
	for _, d := range []string{"2010-11-06", "2010-11-07"} {
		e.verifyDays("after the backfills", d, d)
	}
	e.checkAll("after the backfills")
}

// TestAuditKillBetweenChanges: the odd rows; a pass that moves runs is
// killed at a failpoint, the source changes them again (back, to a third
// place, deleted and re-inserted with the same id) before the next pass,
// and the views equal the oracle after it.
func TestAuditKillBetweenChanges(t *testing.T) {
	t.Parallel()
	e := newPrivateCHEnv(t)
	e.tz = auditZone
	e.exec(sqlfiles.PostgresReferenceSchema)
	e.exec(auditRowsSQL)
	e.migrate()
	e.mustPass("run")
	e.checkAll("odd rows, first pass")
	for i, fp := range []string{"after_places_add", "mid_runs_insert", "after_batch", "before_state"} {
		// Moves the killed pass half writes.
		e.exec(`UPDATE task_log SET script_id = CASE script_id WHEN 6 THEN 1 ELSE 6 END WHERE id = 701;
			UPDATE task_log SET started_at = started_at + interval '1 day' WHERE id = 702;
			UPDATE task_log SET status = CASE status WHEN 'success' THEN 'running' ELSE 'success' END WHERE id = 703`)
		r := e.cli([]string{"SCRIPTSTATS_FAILPOINTS=" + fp + "=kill"}, "run")
		if !r.killed {
			t.Fatalf("%s: the failpoint was not reached: %s", fp, r)
		}
		e.settleCH()
		// Then, before the next pass: 701 back where it was, 702 deleted
		// and re-inserted with the same id on a third day and another
		// script, 703 to the night of the repeated midnight hour.
		e.exec(fmt.Sprintf(`UPDATE task_log SET script_id = CASE script_id WHEN 6 THEN 1 ELSE 6 END WHERE id = 701;
			BEGIN; DELETE FROM task_log WHERE id = 702;
			INSERT INTO task_log (id, script_id, status, started_at, duration, created_at)
			VALUES (702, %d, 'failed', '2024-03-20 15:00Z'::timestamptz + %d * interval '1 day', 2, '2024-03-01Z'); COMMIT;
			UPDATE task_log SET started_at = '2024-11-03 05:%02d:00Z' WHERE id = 703`, 3+i%2, i, 10+i))
		e.mustPass("run")
		e.checkAll("killed at " + fp + ", changed again, then a pass")
	}
}
