package load

import (
	"context"
	"strings"
	"testing"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// TestScalarNamesViewsAnswerTheSame: the views a server before 25.8 gets
// from migrations 0010, 0016 and 0019 (withScalarNames) are valid, name no correlated
// subquery, and give the same rows as the correlated ones — names from
// scripts_state, the placeholder for a script without a row.
func TestScalarNamesViewsAnswerTheSame(t *testing.T) {
	sink := migratedSink(t)
	ctx := context.Background()
	if _, err := sink.SyncScripts(ctx, map[int64]string{1: "nightly export"}, 1); err != nil {
		t.Fatal(err)
	}
	if err := sink.conn.Exec(ctx, `INSERT INTO groups_state (script_id, day, total, success, failed, success_rate,
		step_index, step_name, step_attempts, step_failures, step_failure_rate, step_last_failure_at, step_last_error, _version, _is_deleted)
		VALUES (1, '2026-05-04', 4, 3, 1, 0.75, [0], ['open'], [4], [1], [0.25], ['2026-05-04 10:00:00'], ['disk full'], 1, 0),
		       (3, '2026-05-04', 2, 2, 0, 1, [0], ['ping'], [2], [0], [0], [NULL], [NULL], 1, 0)`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT arrayStringConcat(groupArray(concat(toString(script_id), '=', script_name, ':', toString(total))), ',')
		FROM (SELECT script_id, script_name, total FROM script_daily ORDER BY script_id)`
	const qs = `SELECT arrayStringConcat(groupArray(concat(toString(script_id), '=', script_name, ':', step_name)), ',')
		FROM (SELECT script_id, script_name, step_name FROM step_daily ORDER BY script_id)`
	read := func(query string) string {
		t.Helper()
		var s string
		if err := sink.conn.QueryRow(ctx, query).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	wantDaily, wantSteps := "1=nightly export:4,3=(unknown script 3):2", "1=nightly export:open,3=(unknown script 3):ping"
	if got := read(q); got != wantDaily {
		t.Fatalf("script_daily (correlated): %s, want %s", got, wantDaily)
	}
	migrations, err := sqlfiles.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	rewritten := 0
	for _, m := range migrations {
		if m.Version != 10 && m.Version != 16 && m.Version != 19 && m.Version != 20 { // the views that name the script
			continue
		}
		for _, stmt := range m.Statements {
			for _, one := range withScalarNames(stmt) {
				if namesCorrelated(one) {
					t.Fatalf("still correlated: %.80s", one)
				}
				if strings.Contains(one, scalarName) {
					rewritten++
				}
				if err := sink.conn.Exec(ctx, one); err != nil {
					t.Fatalf("%.80s: %v", one, err)
				}
			}
		}
	}
	if rewritten != 6 {
		t.Fatalf("%d views rewritten, want script_daily and step_daily (0010 and 0019), script_daily (0016), success_rate_drops (0020)", rewritten)
	}
	if got := read(q); got != wantDaily {
		t.Fatalf("script_daily (scalar lookup): %s, want %s", got, wantDaily)
	}
	if got := read(qs); got != wantSteps {
		t.Fatalf("step_daily (scalar lookup): %s, want %s", got, wantSteps)
	}
}
