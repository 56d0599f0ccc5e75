package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// The analysts' profile sets analyzer_inline_views = 1 (issue 12: about a
// fifth of a dashboard question's time was ClickHouse planning the view as a
// query of its own; docs/performance.md, "Eighth round: the trend"). With it
// the server plans an analyst's question over a view as one query, the
// view's SELECT substituted into it. What an analyst reads must not change
// by it, and the analyst must still read the views only:
//
//   - the analyst's session has the setting, and its trend question is planned
//     inlined (no "Convert VIEW subquery result" step) where the admin's,
//     under the server's defaults, is not;
//   - every public view, whole and under filters on key and non-key columns
//     (pushed below FINAL they would surface older versions), gives the
//     analyst the rows the admin reads under the server's defaults — after
//     passes that wrote newer versions, moved runs and tombstones into parts
//     of their own;
//   - the private tables stay refused.
func TestAnalystProfileInlinesTheViews(t *testing.T) {
	t.Parallel()
	chs := teststack.PrivateClickHouse(t) // its users: deploy/local/clickhouse-users.xml
	e := newJobEnv(t, teststack.Postgres(t), chs.DSN(loaderUser, loaderPassword, "scriptstats"))
	e.generate(smallHistory(173, 1500))
	e.migrate()
	e.must("run")
	e.mutate(3, 4)
	e.must("run")
	from, to := e.dayRange()
	e.mutate(2, 3)
	e.must("backfill", "--from", from, "--to", to)
	ctx := context.Background()
	admin := openClickHouse(t, chs.DSN("default", "", "scriptstats"))
	analyst := openClickHouse(t, chs.DSN(analystUser, analystPassword, "scriptstats"))

	var inline uint64
	if err := analyst.QueryRow(ctx, "SELECT toUInt64(getSetting('analyzer_inline_views'))").Scan(&inline); err != nil || inline != 1 {
		t.Errorf("the analyst's analyzer_inline_views: %d (%v), want 1 from the profile scriptstats_bi", inline, err)
	}
	var script int64
	if err := admin.QueryRow(ctx, "SELECT script_id FROM script_daily GROUP BY script_id ORDER BY sum(total) DESC, script_id LIMIT 1").Scan(&script); err != nil {
		t.Fatal(err)
	}
	trend := fmt.Sprintf(`EXPLAIN SELECT day, total, duration_p50 FROM script_daily
		WHERE script_id = %d AND day BETWEEN '%s' AND '%s' ORDER BY day`, script, from, to)
	if plan := explain(t, analyst, trend); strings.Contains(plan, "Convert VIEW subquery") {
		t.Errorf("the analyst's trend question is planned with the view as a query of its own:\n%s", plan)
	}
	if plan := explain(t, admin, trend); !strings.Contains(plan, "Convert VIEW subquery") {
		t.Errorf("under the server's defaults the view is inlined too (the check above proves nothing):\n%s", plan)
	}

	// The same rows for both: count and two order-free sums of row hashes.
	filtered := map[string][]string{
		"script_daily":       {"", fmt.Sprintf("script_id = %d AND day BETWEEN '%s' AND '%s'", script, from, to), "total > 3", "duration_p50 > 1 OR failed > 0"},
		"step_daily":         {"", fmt.Sprintf("script_id = %d", script), "failures > 0", "attempts > 2 AND step_index = 1"},
		"runs":               {"", "status = 'failed'", "duration > 10", fmt.Sprintf("script_id = %d AND day >= '%s'", script, from)},
		"run_steps":          {"", "status != 'success'", "duration > 1"},
		"run_vs_previous":    {"", "first_divergent_step IS NOT NULL", "duration_delta > 0"},
		"success_rate_drops": {""},
		"duration_changes":   {""},
		"step_health":        {"", "state != 'healthy'"},
	}
	for _, v := range publicViews {
		wheres, ok := filtered[v]
		if !ok {
			t.Errorf("no case for the public view %s", v)
			continue
		}
		for _, w := range wheres {
			q := "SELECT count(), sum(cityHash64(toString(tuple(*)))), groupBitXor(sipHash64(toString(tuple(*)))) FROM " + v
			if w != "" {
				q += " WHERE " + w
			}
			want, got := rowDigest(t, admin, q), rowDigest(t, analyst, q)
			if got != want {
				t.Errorf("%s: the analyst reads %s, the admin %s", q, got, want)
			}
			if w == "" && strings.HasPrefix(want, "0 ") && !detectionView(v) {
				t.Errorf("%s: no row: the comparison proves nothing", q)
			}
		}
	}
	for _, q := range []string{"SELECT count() FROM groups_for_views", "SELECT count() FROM groups_state", "SELECT count() FROM runs_state"} {
		var n uint64
		if err := analyst.QueryRow(ctx, q).Scan(&n); chCode(err) != 497 {
			t.Errorf("analyst: %s: %v, want ACCESS_DENIED (497)", q, err)
		}
	}
}

func explain(t *testing.T, conn driver.Conn, q string) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func rowDigest(t *testing.T, conn driver.Conn, q string) string {
	t.Helper()
	var n, sum, xor uint64
	if err := conn.QueryRow(context.Background(), q).Scan(&n, &sum, &xor); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return fmt.Sprintf("%d rows, hashes %x %x", n, sum, xor)
}
