package main

import (
	"context"
	"math"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/demodata"
	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// TestWilsonColumnsAndSuccessRateDrops: the Wilson intervals of
// script_daily and step_daily, and success_rate_drops, against values
// published or computed by hand (CONTRACT.md section 2b).
func TestWilsonColumnsAndSuccessRateDrops(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	ctx := context.Background()
	if err := demodata.EnsureSchema(ctx, e.pool); err != nil {
		t.Fatal(err)
	}
	e.exec(`INSERT INTO scripts VALUES (1, 'checkout'), (2, 'login')`)
	// runs inserts n runs of a script on a day, the first k successful,
	// each with one step that fails when the run fails.
	id := int64(0)
	runs := func(script int, day string, k, n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			id++
			status, step := "success", "success"
			if i >= k {
				status, step = "failed", "failed"
			}
			e.exec(`INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, steps)
			        VALUES ($1::bigint, $2, $3, $4::date + interval '10 hours' + $1::int * interval '1 second',
			                $4::date + interval '10 hours 1 minute' + $1::int * interval '1 second', 60,
			                jsonb_build_array(jsonb_build_object('index', 0, 'name', 'pay', 'status', $5::text, 'duration', 1)))`,
				id, script, status, day, step)
		}
	}
	// Script 1: a baseline of 38 successes in 40 runs over the 28 days
	// before 2026-03-01 (and one run 29 days before, outside it), then
	// 0/10 on 2026-03-01 (a drop) and 2/3 on 2026-03-02 (not one).
	runs(1, "2026-01-31", 0, 1)
	runs(1, "2026-02-01", 18, 20)
	runs(1, "2026-02-28", 20, 20)
	runs(1, "2026-03-01", 0, 10)
	runs(1, "2026-03-02", 2, 3)
	// Script 2: 95/100 on one day, no baseline.
	runs(2, "2026-02-10", 95, 100)
	e.migrate()
	e.mustPass("run")

	type interval struct{ low, high float64 }
	near := func(got, want float64) bool { return math.Abs(got-want) < 5e-5 }
	scriptDay := func(script int, day string) interval {
		var iv interval
		if err := e.ch.QueryRow(ctx, `SELECT success_rate_low, success_rate_high FROM script_daily
			WHERE script_id = ? AND day = ?`, script, day).Scan(&iv.low, &iv.high); err != nil {
			t.Fatalf("script_daily %d %s: %v", script, day, err)
		}
		return iv
	}
	stepDay := func(script int, day string) interval {
		var iv interval
		if err := e.ch.QueryRow(ctx, `SELECT failure_rate_low, failure_rate_high FROM step_daily
			WHERE script_id = ? AND day = ? AND step_index = 0`, script, day).Scan(&iv.low, &iv.high); err != nil {
			t.Fatalf("step_daily %d %s: %v", script, day, err)
		}
		return iv
	}
	for _, c := range []struct {
		what      string
		got, want interval
	}{
		{"0/10 (published: [0, 0.2775])", scriptDay(1, "2026-03-01"), interval{0, 0.2775}},
		{"95/100 (published: [0.8882, 0.9785])", scriptDay(2, "2026-02-10"), interval{0.8882, 0.9785}},
		{"18/20 success", scriptDay(1, "2026-02-01"), interval{0.6990, 0.9721}},
		{"failures 10/10", stepDay(1, "2026-03-01"), interval{0.7225, 1}},
		{"failures 5/100", stepDay(2, "2026-02-10"), interval{0.0215, 0.1118}},
	} {
		if !near(c.got.low, c.want.low) || !near(c.got.high, c.want.high) {
			t.Errorf("%s: [%.5f, %.5f], want [%.4f, %.4f]", c.what, c.got.low, c.got.high, c.want.low, c.want.high)
		}
	}

	rows, err := e.ch.Query(ctx, `SELECT script_id, toString(day), total, baseline_runs, baseline_rate, baseline_low, baseline_high
		FROM success_rate_drops ORDER BY script_id, day`)
	if err != nil {
		t.Fatal(err)
	}
	var drops int
	for rows.Next() {
		var script int64
		var day string
		var total, baseRuns uint64
		var rate, low, high float64
		if err := rows.Scan(&script, &day, &total, &baseRuns, &rate, &low, &high); err != nil {
			t.Fatal(err)
		}
		drops++
		// 38/40: Wilson [0.834958, 0.986180] (computed by hand).
		if script != 1 || day != "2026-03-01" || total != 10 || baseRuns != 40 || !near(rate, 0.95) || !near(low, 0.83496) || !near(high, 0.98618) {
			t.Errorf("drop %d %s total %d baseline %d rate %.5f [%.5f, %.5f]; want script 1 on 2026-03-01, 10 runs, baseline 40 at 0.95 [0.83496, 0.98618]",
				script, day, total, baseRuns, rate, low, high)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if drops != 1 {
		t.Fatalf("%d drops, want exactly 1 (2/3 on 2026-03-02 has Wilson high 0.9385 > 0.83496; script 2 has no baseline)", drops)
	}
}
