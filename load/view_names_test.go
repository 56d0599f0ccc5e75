package load_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// script_daily and step_daily read the script names only for a query that
// asks for script_name (migration 0010), and the name they give is the one
// scripts_state holds at that moment: renamed, or the placeholder once the
// script is gone.
func TestViewsReadNamesOnlyWhenAsked(t *testing.T) {
	dsn, sink := migrated(t)
	ctx := context.Background()
	conn := openConn(t, dsn)
	if _, err := sink.SyncScripts(ctx, map[int64]string{1: "nightly export", 2: "login check"}, 1); err != nil {
		t.Fatal(err)
	}
	// One day of script 1 with two steps, one of script 3 (no scripts row).
	err := conn.Exec(ctx, `INSERT INTO groups_state (script_id, day, total, success, failed, success_rate,
		step_index, step_name, step_attempts, step_failures, step_failure_rate, step_last_failure_at, step_last_error, _version, _is_deleted)
		VALUES (1, '2026-05-04', 4, 3, 1, 0.75, [0, 1], ['open', 'save'], [4, 4], [0, 1], [0, 0.25], [NULL, '2026-05-04 10:00:00'], [NULL, 'disk full'], 1, 0),
		       (3, '2026-05-04', 2, 2, 0, 1, [0], ['ping'], [2], [0], [0], [NULL], [NULL], 1, 0)`)
	if err != nil {
		t.Fatal(err)
	}
	// What a query reads, scalar subqueries included (0009 read the names
	// while analysing the view, for every query, which EXPLAIN does not show).
	read := func(q string) uint64 {
		t.Helper()
		var n uint64
		qctx := clickhouse.Context(ctx, clickhouse.WithProgress(func(p *clickhouse.Progress) { n += p.Rows }))
		rows, err := conn.Query(qctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		rows.Close()
		return n
	}
	groups := read("SELECT day FROM groups_for_views FINAL WHERE script_id = 1")
	if groups == 0 {
		t.Fatal("no progress reported: cannot tell what a query reads")
	}
	for _, q := range []string{
		"SELECT day, total, success_rate, duration_p50 FROM script_daily WHERE script_id = 1 ORDER BY day",
		"SELECT day, step_index, step_name, attempts, failures, failure_rate FROM step_daily WHERE script_id = 1 ORDER BY step_index, day",
	} {
		if n := read(q); n != groups {
			t.Errorf("%s: read %d rows, want %d (the script's groups, no names)", q, n, groups)
		}
	}
	if n := read("SELECT day, script_name FROM script_daily WHERE script_id = 1"); n <= groups {
		t.Errorf("a query for script_name read %d rows, no more than the groups (%d): it did not read the names", n, groups)
	}

	names := func(view string) string {
		t.Helper()
		rows, err := conn.Query(ctx, "SELECT DISTINCT script_id, script_name FROM "+view+" ORDER BY script_id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				t.Fatal(err)
			}
			out = append(out, name)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " | ")
	}
	check := func(stage, want string) {
		t.Helper()
		for _, v := range []string{"script_daily", "step_daily"} {
			if got := names(v); got != want {
				t.Errorf("%s: %s names %q, want %q", stage, v, got, want)
			}
		}
	}
	check("loaded", "nightly export | (unknown script 3)")
	if _, err := sink.SyncScripts(ctx, map[int64]string{1: "nightly export v2", 3: "ping"}, 2); err != nil {
		t.Fatal(err)
	}
	check("script 1 renamed, script 3 named", "nightly export v2 | ping")
	if _, err := sink.SyncScripts(ctx, map[int64]string{3: "ping"}, 3); err != nil {
		t.Fatal(err)
	}
	check("script 1 gone from the source", "(unknown script 1) | ping")
}
