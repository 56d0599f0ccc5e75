package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/teststack"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// TestHistoryOverManyMonths: the per-run tables are partitioned by month,
// and ClickHouse refuses by default an insert block that spans more than
// 100 partitions. A script that ran once a month for 15 years (or a source
// with odd dates: 1970, 2099) must load in one batch all the same: 180
// monthly runs, one every ~30 days from 2011, and two odd ones, then every
// view against the oracle.
func TestHistoryOverManyMonths(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.exec(sqlfiles.PostgresReferenceSchema)
	e.exec(`INSERT INTO scripts (id, name) VALUES (1, 'monthly'), (2, 'odd dates');
INSERT INTO task_log (id, script_id, status, started_at, finished_at, created_at, steps)
SELECT g, 1, CASE WHEN g % 7 = 0 THEN 'failed' ELSE 'success' END,
       t, t + make_interval(secs => 60 + g % 13), t,
       jsonb_build_array(jsonb_build_object('index', 0, 'name', 'open', 'status', 'success', 'duration', 1.5),
                         jsonb_build_object('index', 1, 'name', 'pay', 'status', CASE WHEN g % 7 = 0 THEN 'failed' ELSE 'success' END, 'duration', 2))
FROM generate_series(1, 180) AS g, LATERAL (SELECT timestamptz '2011-01-15 10:00Z' + make_interval(days => 30 * g) AS t) AS x;
INSERT INTO task_log (id, script_id, status, started_at, finished_at, created_at) VALUES
  (1001, 2, 'success', '1970-01-01 00:00:05Z', '1970-01-01 00:01:05Z', '1970-01-01 00:00:05Z'),
  (1002, 2, 'success', '2099-12-31 23:00Z', '2099-12-31 23:30Z', '2099-12-31 23:00Z')`)
	e.migrate()
	e.must("run")
	var runs uint64
	if err := e.ch.QueryRow(context.Background(), `SELECT count() FROM runs`).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != 182 {
		t.Fatalf("runs holds %d runs, the source 182", runs)
	}
	e.checkAll("after the first pass")
}

// TestNileThroughTheJob: the Nile's annual flow (R's datasets::Nile; its
// change point after 1898 is published: Cobb 1978, Biometrika 65:243) as
// the durations of 100 daily runs of one script. duration_changes must hold
// exactly one run-level change, at the 29th run (index 28: 1899), faster.
func TestNileThroughTheJob(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.exec(sqlfiles.PostgresReferenceSchema)
	e.exec(`INSERT INTO scripts (id, name) VALUES (1, 'nile');
INSERT INTO task_log (id, script_id, status, started_at, finished_at, created_at)
SELECT i, 1, 'success', t, t + make_interval(secs => v), t
FROM unnest('{1120,1160,963,1210,1160,1160,813,1230,1370,1140,995,935,1110,994,1020,960,1180,799,958,1140,1100,1210,1150,1250,1260,1220,1030,1100,774,840,874,694,940,833,701,916,692,1020,1050,969,831,726,456,824,702,1120,1100,832,764,821,768,845,864,862,698,845,744,796,1040,759,781,865,845,944,984,897,822,1010,771,676,649,846,812,742,801,1040,860,874,848,890,744,749,838,1050,918,986,797,923,975,815,1020,906,901,1170,912,746,919,718,714,740}'::float8[]) WITH ORDINALITY AS n(v, i),
LATERAL (SELECT timestamptz '2026-06-01 08:00Z' + make_interval(days => i::int) AS t) AS x`)
	e.migrate()
	e.must("run")
	rows, err := e.ch.Query(context.Background(), `SELECT run_id, previous_run_id, direction, runs_before, runs_after FROM duration_changes WHERE script_id = 1 AND step_index IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var runID, prev int64
		var dir string
		var before, after uint64
		if err := rows.Scan(&runID, &prev, &dir, &before, &after); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("run %d after %d %s (%d before, %d after)", runID, prev, dir, before, after))
		if runID < 27 || runID > 31 || prev != runID-1 || dir != "faster" {
			t.Errorf("change point %s; want run 29 ± 2, faster", got[len(got)-1])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("duration_changes: %v; want the one published change point", got)
	}
	t.Log(got[0])
}
