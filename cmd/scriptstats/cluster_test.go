package main

import (
	"context"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// TestClusterEndToEnd: the job's database laid out over two ClickHouse
// servers, two shards of one cluster (local tables on each node, Distributed
// tables over them, views on both). Every view, read on either node, equals
// the independent recomputation after a first load, changes, runs moved
// between scripts — hence shards — in passes killed at each failpoint and
// moved back, and deletes with a backfill; no (script, day) group is split
// across shards.
func TestClusterEndToEnd(t *testing.T) {
	t.Parallel()
	nodes := teststack.PrivateClickHouseCluster(t, 2)
	e := newJobEnv(t, teststack.Postgres(t), nodes[0].DSN("default", "", "scriptstats"))
	cluster := []string{"--clickhouse-cluster", teststack.ClusterName, "--clickhouse-cluster-ddl", "per-node"}
	e.extra = append(e.extra, cluster...)
	e.generate(smallHistory(71, 2500))
	mustRunBin(t, nil, append([]string{"migrate", "--clickhouse-dsn", e.chDSN}, cluster...)...)
	mustRunBin(t, nil, append([]string{"migrate", "--clickhouse-dsn", e.chDSN}, cluster...)...) // again: idempotent
	e.ch = openClickHouse(t, e.chDSN)
	other := openClickHouse(t, nodes[1].DSN("default", "", "scriptstats"))
	e.mustPass("run")
	e.checkAll("cluster: first load")
	assertViewsMatchOracle(t, "cluster: first load, read on the second node", e.pool, other, e.tz)

	ctx := context.Background()
	shardRows := func(table string) [2]uint64 {
		var out [2]uint64
		for i, n := range nodes {
			conn := openClickHouse(t, n.DSN("default", "", "scriptstats"))
			if err := conn.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&out[i]); err != nil {
				t.Fatal(err)
			}
			_ = conn.Close()
		}
		return out
	}
	if rows := shardRows("runs_state_local"); rows[0] == 0 || rows[1] == 0 {
		t.Fatalf("runs_state_local rows per shard %v: want both shards used", rows)
	}

	e.mutate(2, 0)
	e.mustPass("run")
	e.checkAll("cluster: after changes")

	for i, fp := range []string{"after_journal", "after_places_add", "mid_runs_insert", "after_batch", "before_state"} {
		// Move runs to another script (another shard, mostly), kill the
		// pass carrying the move, move them back.
		e.exec(`UPDATE task_log SET script_id = script_id % 120 + 1 WHERE id IN (SELECT id FROM task_log ORDER BY id LIMIT 20 OFFSET $1)`, 40*i)
		r := e.cli([]string{"SCRIPTSTATS_FAILPOINTS=" + fp + "=kill"}, "run")
		if r.code == 0 {
			t.Fatalf("%s: the pass was not killed: %s", fp, r)
		}
		for _, n := range nodes {
			if !n.Running() {
				n.Revive()
			}
		}
		e.exec(`UPDATE task_log SET script_id = (script_id + 118) % 120 + 1 WHERE id IN (SELECT id FROM task_log ORDER BY id LIMIT 20 OFFSET $1)`, 40*i)
		e.mustPass("run")
		assertViewsMatchOracle(t, "cluster: after a pass killed at "+fp+" and the runs moved back", e.pool, e.ch, e.tz)
	}

	e.mutate(1, 10)
	e.mustPass("run")
	from, to := e.dayRange()
	e.mustPass("backfill", "--from", from, "--to", to)
	e.checkAll("cluster: after deletes and a backfill")
	assertViewsMatchOracle(t, "cluster: after deletes and a backfill, read on the second node", e.pool, other, e.tz)

	// Every group on one shard: no (script, day) in both.
	var split uint64
	keys := func(n *teststack.ClickHouseServer) map[[2]int64]bool {
		conn := openClickHouse(t, n.DSN("default", "", "scriptstats"))
		defer conn.Close()
		rows, err := conn.Query(ctx, "SELECT DISTINCT script_id, toInt64(toInt32(day)) FROM groups_state_local")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[[2]int64]bool{}
		for rows.Next() {
			var k [2]int64
			if err := rows.Scan(&k[0], &k[1]); err != nil {
				t.Fatal(err)
			}
			out[k] = true
		}
		return out
	}
	a, b := keys(nodes[0]), keys(nodes[1])
	for k := range a {
		if b[k] {
			split++
		}
	}
	if split > 0 || len(a) == 0 || len(b) == 0 {
		t.Fatalf("groups per shard %d and %d, %d split across both; want both used, none split", len(a), len(b), split)
	}
}
