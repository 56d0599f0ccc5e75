package load

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Cluster lays the job's database out over a ClickHouse cluster
// (--clickhouse-cluster). Each private table T becomes a local table
// T_local on every node and a Distributed table T over them, sharded by
// script_id, so that a (script, day) group — every version of each of its
// rows — lives on one shard: FINAL and the recompute stay per shard and
// exact. The job reads and writes the Distributed tables under the names of
// the single-server schema; views are created on every node.
type Cluster struct {
	// Name is the cluster in the servers' remote_servers.
	Name string
	// PerNode applies each DDL statement to every node of the cluster,
	// with unreplicated local tables, instead of ON CLUSTER with Replicated
	// engines: for servers without Keeper (the local test engine).
	PerNode bool
	// ReplicaPath and ReplicaName are the Keeper path and replica name of
	// the Replicated engines; empty: the servers' default_replica_path and
	// default_replica_name.
	ReplicaPath, ReplicaName string

	// tables are the private tables seen so far (their data statements run
	// on the local tables, shard by shard).
	tables map[string]bool
}

// Options are how the job reaches its ClickHouse database.
type Options struct {
	// Cluster, when set, is the cluster the database is laid out over.
	Cluster *Cluster
}

// localSuffix names the local table under a Distributed one.
const localSuffix = "_local"

var (
	reCreateTable = regexp.MustCompile(`(?is)^CREATE TABLE IF NOT EXISTS\s+(\w+)\s*(\(.*)$`)
	reView        = regexp.MustCompile(`(?is)^(CREATE OR REPLACE VIEW\s+\w+)(\s.*)$`)
	reDrop        = regexp.MustCompile(`(?is)^DROP TABLE IF EXISTS\s+(\w+)\s*$`)
	reAlter       = regexp.MustCompile(`(?is)^ALTER TABLE\s+(\w+)(\s.*)$`)
	reLocalOnly   = regexp.MustCompile(`(?is)^\s*(ADD INDEX|MODIFY SETTING)\s`)
	reInsert      = regexp.MustCompile(`(?is)^INSERT INTO\s`)
	reMatView     = regexp.MustCompile(`(?is)^CREATE MATERIALIZED VIEW IF NOT EXISTS\s+(\w+)\s+TO\s+(\w+)\s+AS\s(.*)$`)
	reScriptID    = regexp.MustCompile(`(?m)(^|\(|,)\s*script_id\s`)
	// ENGINE = XMergeTree, with or without (args), then the rest.
	reEngine = regexp.MustCompile(`(?is)^ENGINE\s*=\s*(\w*MergeTree)(?:\s*\(([^)]*)\))?(.*)$`)
)

// Rewrite turns one statement of the single-server schema into the
// cluster's: ddl runs on every node (PerNode) or once with ON CLUSTER; once
// runs a single time through the Distributed tables (data statements).
func (c *Cluster) Rewrite(stmt, database string) (ddl, once []string, err error) {
	stmt = strings.TrimSpace(stmt)
	on := ""
	if !c.PerNode {
		on = " ON CLUSTER " + quoteIdent(c.Name)
	}
	switch {
	case reCreateTable.MatchString(stmt):
		m := reCreateTable.FindStringSubmatch(stmt)
		name, body := m[1], m[2]
		i := strings.Index(strings.ToUpper(body), "ENGINE")
		if i < 0 {
			return nil, nil, fmt.Errorf("cluster: table %s has no ENGINE", name)
		}
		columns, engine := body[:i], body[i:]
		engine, err := c.localEngine(engine)
		if err != nil {
			return nil, nil, fmt.Errorf("cluster: table %s: %w", name, err)
		}
		key := "0" // one shard holds the whole table (job state, migrations)
		if reScriptID.MatchString(columns) {
			key = "cityHash64(script_id)"
		}
		local := name + localSuffix
		if c.tables == nil {
			c.tables = map[string]bool{}
		}
		c.tables[name] = true
		ddl = append(ddl,
			"CREATE TABLE IF NOT EXISTS "+quoteIdent(local)+on+" "+columns+engine,
			"CREATE TABLE IF NOT EXISTS "+quoteIdent(name)+on+" AS "+quoteIdent(database)+"."+quoteIdent(local)+
				" ENGINE = Distributed("+quoteIdent(c.Name)+", "+quoteIdent(database)+", "+quoteIdent(local)+", "+key+")")
		return ddl, nil, nil
	case reView.MatchString(stmt):
		m := reView.FindStringSubmatch(stmt)
		return []string{m[1] + on + scalarNames(m[2])}, nil, nil
	case reDrop.MatchString(stmt):
		name := reDrop.FindStringSubmatch(stmt)[1]
		return []string{
			"DROP TABLE IF EXISTS " + quoteIdent(name) + on,
			"DROP TABLE IF EXISTS " + quoteIdent(name+localSuffix) + on,
		}, nil, nil
	case reAlter.MatchString(stmt):
		m := reAlter.FindStringSubmatch(stmt)
		if reLocalOnly.MatchString(m[2]) {
			// A Distributed table has no data, so no index and no
			// MergeTree settings.
			return []string{"ALTER TABLE " + quoteIdent(m[1]+localSuffix) + on + m[2]}, nil, nil
		}
		return []string{
			"ALTER TABLE " + quoteIdent(m[1]+localSuffix) + on + m[2],
			"ALTER TABLE " + quoteIdent(m[1]) + on + m[2],
		}, nil, nil
	case reMatView.MatchString(stmt):
		// A materialized view fires on the inserts into the local table it
		// reads, on every node, and writes the local table of the same
		// shard (both are sharded by script).
		m := reMatView.FindStringSubmatch(stmt)
		return []string{"CREATE MATERIALIZED VIEW IF NOT EXISTS " + quoteIdent(m[1]) + on +
			" TO " + quoteIdent(m[2]+localSuffix) + " AS " + c.localNames(m[3])}, nil, nil
	case reInsert.MatchString(stmt):
		// Run on every shard over its local tables: the rows of a script
		// stay on its shard. schema_migrations stays the Distributed
		// table (the guard of a data migration reads it whole).
		return nil, []string{c.localNames(stmt)}, nil
	}
	return nil, nil, fmt.Errorf("cluster: no rule for the statement %.60q", stmt)
}

// The script name of script_daily and step_daily is a correlated subquery
// on one server (migration 0010: read only when a query asks for it), but
// ClickHouse refuses correlated subqueries over Distributed tables. On a
// cluster the name is looked up as in 0009 instead: transform() over one
// scalar read of script_names per query — the same name, read by every
// query. Both texts are exact lines of the migration (a test checks that
// each view that names script_name this way is rewritten).
// 0016's script_daily reads scripts_state itself (correlatedStateName: the
// same rows as the view script_names, one view less to analyse per query).
const (
	correlatedName      = "ifNull((SELECT s.name FROM script_names AS s WHERE s.script_id = g.script_id), concat('(unknown script ', toString(g.script_id), ')')) AS script_name"
	correlatedStateName = "ifNull((SELECT s.name FROM scripts_state AS s FINAL WHERE s.script_id = g.script_id AND s._is_deleted = 0), concat('(unknown script ', toString(g.script_id), ')')) AS script_name"
	scalarName          = "transform(g.script_id, names.1, names.2, concat('(unknown script ', toString(g.script_id), ')')) AS script_name"
	namesScalar         = "WITH (SELECT (groupArray(script_id), groupArray(name)) FROM script_names) AS names\n"
	viewHeader          = " SQL SECURITY DEFINER AS\n"
)

// namesCorrelated says a statement names the script with a correlated
// subquery (either form).
func namesCorrelated(stmt string) bool {
	return strings.Contains(stmt, correlatedName) || strings.Contains(stmt, correlatedStateName)
}

// scalarNames rewrites a view's body (what follows its name) that looks
// the script name up with a correlated subquery; other bodies are returned
// as they are.
func scalarNames(body string) string {
	if !namesCorrelated(body) || !strings.HasPrefix(body, viewHeader) {
		return body
	}
	body = strings.Replace(body, correlatedName, scalarName, 1)
	body = strings.Replace(body, correlatedStateName, scalarName, 1)
	return viewHeader + namesScalar + strings.TrimPrefix(body, viewHeader)
}

// localNames names the local tables instead of the Distributed ones,
// schema_migrations excepted (a data migration's guard reads it whole).
func (c *Cluster) localNames(stmt string) string {
	return reWord.ReplaceAllStringFunc(stmt, func(w string) string {
		if c.tables[w] && w != "schema_migrations" {
			return w + localSuffix
		}
		return w
	})
}

var reWord = regexp.MustCompile(`\b\w+\b`)

// localEngine turns "ENGINE = ReplacingMergeTree(args) rest" into the local
// table's engine: Replicated with Keeper path and replica name unless
// PerNode.
func (c *Cluster) localEngine(engine string) (string, error) {
	m := reEngine.FindStringSubmatch(engine)
	if m == nil {
		return "", fmt.Errorf("engine %.40q is not a MergeTree", engine)
	}
	if c.PerNode {
		return engine, nil
	}
	args := strings.TrimSpace(m[2])
	hadArgs := strings.Contains(engine[:len(engine)-len(m[3])], "(")
	if c.ReplicaPath != "" || c.ReplicaName != "" {
		hadArgs = true
		path, name := c.ReplicaPath, c.ReplicaName
		if path == "" {
			path = "/clickhouse/tables/{shard}/{database}/{table}"
		}
		if name == "" {
			name = "{replica}"
		}
		prefix := quoteString(path) + ", " + quoteString(name)
		if args == "" {
			args = prefix
		} else {
			args = prefix + ", " + args
		}
	}
	if !hadArgs {
		return "ENGINE = Replicated" + m[1] + m[3], nil
	}
	return "ENGINE = Replicated" + m[1] + "(" + args + ")" + m[3], nil
}

func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// DatabaseStatement creates the database on the cluster.
func (c *Cluster) DatabaseStatement(database string) string {
	if c.PerNode {
		return "CREATE DATABASE IF NOT EXISTS " + quoteIdent(database)
	}
	return "CREATE DATABASE IF NOT EXISTS " + quoteIdent(database) + " ON CLUSTER " + quoteIdent(c.Name)
}

// TruncateStatement empties a private table on every shard.
func (c *Cluster) TruncateStatement(table string) string {
	if c.PerNode {
		return "TRUNCATE TABLE IF EXISTS " + quoteIdent(table+localSuffix)
	}
	return "TRUNCATE TABLE IF EXISTS " + quoteIdent(table+localSuffix) + " ON CLUSTER " + quoteIdent(c.Name)
}

// nodes connects to every node of the cluster (PerNode DDL) with the
// credentials of opts, as the connected server's system.clusters lists
// them; database "" connects without one.
func (c *Cluster) nodes(ctx context.Context, conn driver.Conn, opts *clickhouse.Options, database string) ([]driver.Conn, error) {
	return c.connectNodes(ctx, conn, opts, database, false)
}

// connectNodes connects to every node, or to the first replica of each
// shard.
func (c *Cluster) connectNodes(ctx context.Context, conn driver.Conn, opts *clickhouse.Options, database string, firstReplicas bool) ([]driver.Conn, error) {
	q := "SELECT DISTINCT host_address, port FROM system.clusters WHERE cluster = ? ORDER BY host_address, port"
	if firstReplicas {
		q = "SELECT host_address, port FROM system.clusters WHERE cluster = ? AND replica_num = 1 ORDER BY shard_num"
	}
	rows, err := conn.Query(ctx, q, c.Name)
	if err != nil {
		return nil, sinkErrorf("clickhouse cluster %s: %w", c.Name, err)
	}
	defer rows.Close()
	var out []driver.Conn
	for rows.Next() {
		var host string
		var port uint16
		if err := rows.Scan(&host, &port); err != nil {
			return out, sinkErrorf("clickhouse cluster %s: %w", c.Name, err)
		}
		node := *opts
		node.Addr = []string{fmt.Sprintf("%s:%d", host, port)}
		node.Auth.Database = database
		nc, err := connect(ctx, &node)
		if err != nil {
			return out, err
		}
		out = append(out, nc)
	}
	if err := rows.Err(); err != nil {
		return out, sinkErrorf("clickhouse cluster %s: %w", c.Name, err)
	}
	if len(out) == 0 {
		return nil, sinkErrorf("clickhouse cluster %s: not in system.clusters of %s (remote_servers)", c.Name, hostList(opts))
	}
	return out, nil
}

// execOnShards runs data statements on one node of every shard.
func (c *Cluster) execOnShards(ctx context.Context, conn driver.Conn, opts *clickhouse.Options, database string, stmts []string) error {
	if len(stmts) == 0 {
		return nil
	}
	nodes, err := c.connectNodes(ctx, conn, opts, database, true)
	defer func() {
		for _, n := range nodes {
			_ = n.Close()
		}
	}()
	if err != nil {
		return err
	}
	for _, n := range nodes {
		for _, stmt := range stmts {
			if err := n.Exec(ctx, stmt); err != nil {
				return sinkErrorf("clickhouse cluster %s: %.80s: %w", c.Name, stmt, err)
			}
		}
	}
	return nil
}

// execDDL runs ddl once (ON CLUSTER) or on every node.
func (c *Cluster) execDDL(ctx context.Context, conn driver.Conn, opts *clickhouse.Options, database string, ddl []string) error {
	targets := []driver.Conn{conn}
	if c.PerNode {
		nodes, err := c.nodes(ctx, conn, opts, database)
		defer func() {
			for _, n := range nodes {
				_ = n.Close()
			}
		}()
		if err != nil {
			return err
		}
		targets = nodes
	}
	for _, t := range targets {
		for _, stmt := range ddl {
			if err := t.Exec(ctx, stmt); err != nil {
				return sinkErrorf("clickhouse cluster %s: %.80s: %w", c.Name, stmt, err)
			}
		}
	}
	return nil
}
