package load

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/scriptstats/scriptstats/deploy/teststack"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// clusterStatements rewrites the whole schema (schema_migrations and every
// migration) for a cluster.
func clusterStatements(t *testing.T, c *Cluster) (ddl, once []string) {
	t.Helper()
	all := []string{sqlfiles.ClickHouseCreateSchemaMigrations}
	migrations, err := sqlfiles.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		all = append(all, m.Statements...)
	}
	for _, stmt := range all {
		for _, one := range sqlfiles.SplitStatements(stmt) {
			d, o, err := c.Rewrite(one, "scriptstats")
			if err != nil {
				t.Fatal(err)
			}
			ddl, once = append(ddl, d...), append(once, o...)
		}
	}
	return ddl, once
}

// The production DDL (ON CLUSTER, Replicated engines) parses on the server,
// and, once its ON CLUSTER clauses and Replicated arguments are taken away,
// is the tested per-node layout to the letter: the two cannot drift.
func TestProductionClusterDDLMatchesTestedLayout(t *testing.T) {
	prod := &Cluster{Name: "prod", ReplicaPath: "/clickhouse/tables/{shard}/{database}/{table}", ReplicaName: "{replica}"}
	tested := &Cluster{Name: "prod", PerNode: true}
	prodDDL, prodOnce := clusterStatements(t, prod)
	testDDL, testOnce := clusterStatements(t, tested)
	if len(prodDDL) != len(testDDL) || len(prodDDL) < 20 {
		t.Fatalf("%d production statements, %d tested", len(prodDDL), len(testDDL))
	}
	strip := regexp.MustCompile(` ON CLUSTER ` + "`prod`" + `|Replicated|'/clickhouse/tables/\{shard\}/\{database\}/\{table\}', '\{replica\}'(, )?`)
	for i := range prodDDL {
		if !strings.Contains(prodDDL[i], " ON CLUSTER `prod`") {
			t.Errorf("production statement without ON CLUSTER: %.120s", prodDDL[i])
		}
		got := strings.ReplaceAll(strip.ReplaceAllString(prodDDL[i], ""), "MergeTree()", "MergeTree")
		if got != testDDL[i] {
			t.Errorf("production and tested DDL differ:\n%s\n%s", got, testDDL[i])
		}
	}
	if strings.Join(prodOnce, ";") != strings.Join(testOnce, ";") {
		t.Errorf("data statements differ")
	}
	for _, s := range prodDDL {
		if strings.Contains(s, "MergeTree") && !strings.Contains(s, "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}'") &&
			!strings.Contains(s, "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')") {
			t.Errorf("a local table is not Replicated with the Keeper path: %.160s", s)
		}
	}

	// Parsed by the server (ON CLUSTER cannot run on the local engine).
	opts, err := clickhouse.ParseDSN(teststack.ClickHouseAdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range append(prodDDL, prodOnce...) {
		rows, err := conn.Query(context.Background(), "EXPLAIN AST "+s)
		if err != nil {
			t.Errorf("does not parse: %.160s: %v", s, err)
			continue
		}
		rows.Close()
	}
}

func TestClusterRewriteRules(t *testing.T) {
	c := &Cluster{Name: "c", PerNode: true}
	ddl, _, err := c.Rewrite("CREATE TABLE IF NOT EXISTS t (script_id Int64, v UInt64) ENGINE = ReplacingMergeTree(v) ORDER BY script_id", "db")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CREATE TABLE IF NOT EXISTS `t_local` (script_id Int64, v UInt64) ENGINE = ReplacingMergeTree(v) ORDER BY script_id",
		"CREATE TABLE IF NOT EXISTS `t` AS `db`.`t_local` ENGINE = Distributed(`c`, `db`, `t_local`, cityHash64(script_id))",
	}
	if strings.Join(ddl, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(ddl, "\n"), strings.Join(want, "\n"))
	}
	ddl, _, _ = c.Rewrite("CREATE TABLE IF NOT EXISTS k (key String, v UInt64) ENGINE = ReplacingMergeTree(v) ORDER BY key", "db")
	if !strings.HasSuffix(ddl[1], "`k_local`, 0)") {
		t.Fatalf("a table without script_id is not on one shard: %s", ddl[1])
	}
	_, once, _ := c.Rewrite("INSERT INTO t SELECT * FROM k FINAL WHERE (SELECT count() FROM schema_migrations) = 0", "db")
	if once[0] != "INSERT INTO t_local SELECT * FROM k_local FINAL WHERE (SELECT count() FROM schema_migrations) = 0" {
		t.Fatalf("data statement: %s", once[0])
	}
	ddl, _, _ = c.Rewrite("ALTER TABLE t ADD INDEX IF NOT EXISTS i v TYPE minmax GRANULARITY 1", "db")
	if strings.Join(ddl, "\n") != "ALTER TABLE `t_local` ADD INDEX IF NOT EXISTS i v TYPE minmax GRANULARITY 1" {
		t.Fatalf("an index goes on the local table only (a Distributed table has no data): %q", ddl)
	}
	ddl, _, _ = c.Rewrite("ALTER TABLE t MODIFY SETTING min_compress_block_size = 1", "db")
	if strings.Join(ddl, "\n") != "ALTER TABLE `t_local` MODIFY SETTING min_compress_block_size = 1" {
		t.Fatalf("a MergeTree setting goes on the local table only: %q", ddl)
	}
	ddl, _, _ = c.Rewrite("ALTER TABLE t ADD COLUMN IF NOT EXISTS w UInt8", "db")
	if len(ddl) != 2 {
		t.Fatalf("a column goes on both tables: %q", ddl)
	}
	if _, _, err := c.Rewrite("OPTIMIZE TABLE t", "db"); err == nil {
		t.Fatal("a statement with no rule was accepted")
	}
}

// On a cluster the views of the newest migration that name the script with
// a correlated subquery (refused over Distributed tables) get 0009's scalar
// lookup instead, and the rewrite cannot silently stop matching: the
// migration must still hold the exact line for both views.
func TestClusterViewsLookNamesUpWithoutCorrelatedSubqueries(t *testing.T) {
	migrations, err := sqlfiles.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	views := map[string]string{} // the last definition of each view
	for _, m := range migrations {
		for _, stmt := range m.Statements {
			if v := reView.FindStringSubmatch(stmt); v != nil {
				views[strings.Fields(v[1])[4]] = stmt
			}
		}
	}
	for _, name := range []string{"script_daily", "step_daily", "success_rate_drops"} {
		stmt := views[name]
		if !namesCorrelated(stmt) {
			t.Fatalf("%s: the migration no longer names the script with %q: update the cluster rewrite", name, correlatedName)
		}
		c := &Cluster{Name: "c", PerNode: true}
		ddl, _, err := c.Rewrite(stmt, "db")
		if err != nil {
			t.Fatal(err)
		}
		got := ddl[0]
		if strings.Contains(got, "WHERE s.script_id = g.script_id") {
			t.Errorf("%s on a cluster still has the correlated subquery:\n%s", name, got)
		}
		if !strings.HasPrefix(got, "CREATE OR REPLACE VIEW "+name+" SQL SECURITY DEFINER AS\nWITH (SELECT (groupArray(script_id), groupArray(name)) FROM script_names) AS names\nSELECT\n") ||
			!strings.Contains(got, "    transform(g.script_id, names.1, names.2, concat('(unknown script ', toString(g.script_id), ')')) AS script_name,\n") {
			t.Errorf("%s on a cluster:\n%s", name, got)
		}
	}
}

// TestOlderServersGetTheScalarNames: servers before 25.8 refuse correlated
// subqueries by default; migration 0010's views are rewritten for them.
func TestOlderServersGetTheScalarNames(t *testing.T) {
	for v, want := range map[string]bool{"24.8.14.39": true, "25.3.2.1": true, "25.7.9.1": true,
		"25.8.1.1": false, "25.10.2.1": false, "26.7.2.1": false, "garbage": false} {
		if got := beforeCorrelatedSubqueries(v); got != want {
			t.Errorf("%s: before 25.8 = %v, want %v", v, got, want)
		}
	}
}
