package load_test

import (
	"context"
	"strings"
	"testing"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// Migration 0019: groups_for_views writes Compact parts (one file per part
// instead of one per column) and script_daily and step_daily read it with
// fewer threads. What a user sees must not change: on groups written in two
// passes — newer versions, a tombstone and a group of no counted run in the
// second — both views give exactly the rows of their previous definitions
// (0016's script_daily, 0010's step_daily), both ways, and the rows the
// groups hold under FINAL.
func TestViewsOneThreadCompactPartsSameRows(t *testing.T) {
	dsn, sink := migrated(t)
	ctx := context.Background()
	conn := openConn(t, dsn)
	exec := func(q string) {
		t.Helper()
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%.120s: %v", q, err)
		}
	}
	if _, err := sink.SyncScripts(ctx, map[int64]string{1: "checkout", 2: "login", 3: "nightly export"}, 1); err != nil {
		t.Fatal(err)
	}
	// 12,000 groups of 40 scripts (names for three, the placeholder for
	// the others), ten steps each with an error text: more than the 10 MiB
	// from which ClickHouse writes a Wide part by default.
	exec(`INSERT INTO groups_state (script_id, day, total, success, failed, timeout, success_rate,
		duration_count, invalid_duration, cancelled, other, duration_avg, duration_min, duration_max, duration_p50, duration_p90, duration_p95, duration_p99,
		success_duration_avg, success_duration_p50, success_duration_p95, step_index, step_name, step_attempts, step_failures, step_failure_rate,
		step_last_failure_at, step_last_error, _version, _is_deleted)
		SELECT number % 40 + 1, toDate32('2026-01-01') + intDiv(number, 40), 20 + number % 7, 20 + number % 7 - number % 5,
			number % 5 - number % 2, number % 2, (20 + number % 7 - number % 5) / (20 + number % 7),
			20 + number % 7 - number % 3, number % 3, number % 4, number % 6, number / 9., number / 20., number / 2., if(number % 11 = 0, NULL, number / 10.),
			number / 8., number / 7., number / 6., number / 11., number / 12., number / 13.,
			range(10), arrayMap(i -> concat('step ', toString(i)), range(10)),
			arrayMap(i -> toUInt64(20 + number % 7), range(10)), arrayMap(i -> toUInt64((number + i) % 3), range(10)),
			arrayMap(i -> ((number + i) % 3) / (20 + number % 7), range(10)),
			arrayMap(i -> if((number + i) % 3 = 0, NULL, toDateTime64('2026-01-01 10:00:00', 6, 'UTC') + number), range(10)),
			arrayMap(i -> if((number + i) % 3 = 0, NULL, concat('disk full on host ', toString(number * 13 + i), repeat('.', 80))), range(10)),
			1, 0
		FROM numbers(12000)`)
	// The second pass: a newer version of script 1's first day, a tombstone
	// for script 2's first day, and script 3's first day with no counted run.
	exec(`INSERT INTO groups_state (script_id, day, total, success, failed, success_rate, step_index, step_name,
		step_attempts, step_failures, step_failure_rate, step_last_failure_at, step_last_error, _version, _is_deleted)
		VALUES (1, '2026-01-01', 9, 1, 8, 0.1111111111111111, [0, 4], ['open', NULL], [9, 3], [8, 0], [0.8888888888888888, 0], ['2026-01-01 11:00:00', NULL], ['timeout', NULL], 2, 0),
		       (2, '2026-01-01', 0, 0, 0, 0, [], [], [], [], [], [], [], 2, 1),
		       (3, '2026-01-01', 0, 0, 0, 0, [], [], [], [], [], [], [], 2, 0)`)

	rows, err := conn.Query(ctx, `SELECT part_type, data_uncompressed_bytes FROM system.parts
		WHERE database = currentDatabase() AND table = 'groups_for_views' AND active`)
	if err != nil {
		t.Fatal(err)
	}
	parts, big := 0, false
	for rows.Next() {
		var typ string
		var bytes uint64
		if err := rows.Scan(&typ, &bytes); err != nil {
			t.Fatal(err)
		}
		parts++
		if typ != "Compact" {
			t.Errorf("a part of groups_for_views is %s, want Compact", typ)
		}
		big = big || bytes > 10<<20
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if parts < 2 || !big {
		t.Fatalf("%d parts, one above 10 MiB: %v: the test no longer writes what would be a Wide part", parts, big)
	}

	// The previous definitions of both views, under other names.
	previous := map[string]int{"script_daily": 16, "step_daily": 10}
	migrations, err := sqlfiles.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		for _, stmt := range m.Statements {
			for view, version := range previous {
				head := "CREATE OR REPLACE VIEW " + view + " "
				if m.Version == version && strings.Contains(stmt, head) {
					exec(strings.Replace(stmt[strings.Index(stmt, head):], head, "CREATE OR REPLACE VIEW "+view+"_previous ", 1))
				}
			}
		}
	}
	// Rows the groups hold: live, with counted runs (independent of both
	// views' definitions).
	wantDays := count(t, dsn, `SELECT count() FROM groups_state FINAL WHERE _is_deleted = 0 AND total > 0`)
	wantSteps := count(t, dsn, `SELECT sum(length(step_index)) FROM groups_state FINAL WHERE _is_deleted = 0 AND total > 0`)
	if wantDays != 12000-2 || wantSteps != 10*(12000-3)+2 {
		t.Fatalf("the groups hold %d days and %d steps, want %d and %d", wantDays, wantSteps, 12000-2, 10*(12000-3)+2)
	}
	for view, want := range map[string]uint64{"script_daily": wantDays, "step_daily": wantSteps} {
		if n := count(t, dsn, "SELECT count() FROM "+view); n != want {
			t.Errorf("%s: %d rows, want %d", view, n, want)
		}
		for _, q := range []string{
			"SELECT count() FROM (SELECT * FROM " + view + " EXCEPT SELECT * FROM " + view + "_previous)",
			"SELECT count() FROM (SELECT * FROM " + view + "_previous EXCEPT SELECT * FROM " + view + ")",
		} {
			if n := count(t, dsn, q); n != 0 {
				t.Errorf("%s: %d rows differ: %s", view, n, q)
			}
		}
	}
	var name string
	var low, high float64
	if err := conn.QueryRow(ctx, `SELECT script_name, success_rate_low, success_rate_high FROM script_daily
		WHERE script_id = 1 AND day = '2026-01-01'`).Scan(&name, &low, &high); err != nil {
		t.Fatal(err)
	}
	// Wilson interval of 1 success in 9 runs (z = 1.96), by hand:
	// (p + z²/2n ∓ z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
	if name != "checkout" || low < 0.019890 || low > 0.019891 || high < 0.435006 || high > 0.435007 {
		t.Errorf("script 1, 2026-01-01: %q [%v, %v], want checkout [0.0198904, 0.4350062]", name, low, high)
	}
}
