package load_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/scriptstats/scriptstats/load"
)

// script_daily reads its Wilson bounds from MATERIALIZED columns of
// groups_for_views (migration 0016): in a database upgraded from an older
// version, groups written before the migration (no such column on disk)
// and groups written after it (stored at insert) both give the published
// Wilson intervals, and the view keeps 0010's columns, types and order.
func TestScriptDailyWilsonStoredAndUpgraded(t *testing.T) {
	dsn, sink := migrated(t)
	ctx := context.Background()
	conn := openConn(t, dsn)
	exec := func(q string) {
		t.Helper()
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := sink.SyncScripts(ctx, map[int64]string{1: "checkout", 2: "login"}, 1); err != nil {
		t.Fatal(err)
	}
	// A database of a version before 0016: groups_for_views without the
	// columns while the groups are written.
	exec("ALTER TABLE groups_for_views DROP COLUMN success_rate_low, DROP COLUMN success_rate_high")
	insert := func(rows string) {
		t.Helper()
		exec(`INSERT INTO groups_state (script_id, day, total, success, failed, success_rate, _version, _is_deleted) VALUES ` + rows)
	}
	insert(`(1, '2026-05-04', 10, 0, 10, 0, 1, 0), (1, '2026-05-05', 20, 18, 2, 0.9, 1, 0),
	        (2, '2026-05-04', 100, 95, 5, 0.95, 1, 0), (2, '2026-05-05', 4, 4, 0, 1, 1, 0)`)
	if _, err := load.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	stored := func() uint64 {
		t.Helper()
		return count(t, dsn, `SELECT count() FROM system.parts_columns WHERE database = currentDatabase()
			AND table = 'groups_for_views' AND active AND column = 'success_rate_low'`)
	}
	if n := stored(); n != 0 {
		t.Fatalf("%d parts of groups_for_views hold success_rate_low before any write: the upgrade case is not tested", n)
	}

	type interval struct{ low, high float64 }
	bounds := func() map[string]interval {
		t.Helper()
		rows, err := conn.Query(ctx, `SELECT script_id, toString(day), success_rate_low, success_rate_high FROM script_daily ORDER BY script_id, day`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]interval{}
		for rows.Next() {
			var script int64
			var day string
			var iv interval
			if err := rows.Scan(&script, &day, &iv.low, &iv.high); err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("%d %s", script, day)] = iv
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(stage string, want map[string]interval) {
		t.Helper()
		got := bounds()
		if len(got) != len(want) {
			t.Errorf("%s: %d rows %v, want %d", stage, len(got), got, len(want))
		}
		for k, w := range want {
			g, ok := got[k]
			if !ok || math.Abs(g.low-w.low) > 5e-5 || math.Abs(g.high-w.high) > 5e-5 {
				t.Errorf("%s: %s: [%.5f, %.5f] (present %v), want [%.4f, %.4f]", stage, k, g.low, g.high, ok, w.low, w.high)
			}
		}
	}
	// Published Wilson score intervals (z = 1.96); 4/4 and 10/10 by hand:
	// low = (1 + z²/2n - z·sqrt(z²/4n²)) / (1 + z²/n) = 1 / (1 + z²/n).
	check("groups written before 0016", map[string]interval{
		"1 2026-05-04": {0, 0.2775},      // 0/10
		"1 2026-05-05": {0.6990, 0.9721}, // 18/20
		"2 2026-05-04": {0.8882, 0.9785}, // 95/100
		"2 2026-05-05": {0.5101, 1},      // 4/4
	})

	// Written after the migration: stored at insert. A new version of
	// 1/2026-05-04 (10/10), a tombstone of 2/2026-05-04 (no row, its
	// total 0 gives NaN bounds the view never shows).
	insert(`(1, '2026-05-04', 10, 10, 0, 1, 2, 0), (2, '2026-05-04', 0, 0, 0, 0, 2, 1)`)
	if n := stored(); n == 0 {
		t.Fatal("a part written after 0016 does not store success_rate_low")
	}
	check("after a write", map[string]interval{
		"1 2026-05-04": {0.7225, 1}, // 10/10
		"1 2026-05-05": {0.6990, 0.9721},
		"2 2026-05-05": {0.5101, 1},
	})

	// The columns of 0010's view, in its order and with its types.
	rows, err := conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'script_daily' ORDER BY position")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, name+" "+typ)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := "script_id Int64, script_name String, day Date32, total UInt64, success UInt64, failed UInt64, timeout UInt64, " +
		"cancelled UInt64, other UInt64, success_rate Float64, duration_count UInt64, invalid_duration UInt64, " +
		"duration_avg Nullable(Float64), duration_min Nullable(Float64), duration_max Nullable(Float64), " +
		"duration_p50 Nullable(Float64), duration_p90 Nullable(Float64), duration_p95 Nullable(Float64), duration_p99 Nullable(Float64), " +
		"success_duration_avg Nullable(Float64), success_duration_p50 Nullable(Float64), success_duration_p95 Nullable(Float64), " +
		"success_rate_low Float64, success_rate_high Float64"
	if got := strings.Join(cols, ", "); got != want {
		t.Errorf("script_daily columns:\n%s\nwant\n%s", got, want)
	}
}
