package main

import (
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/scriptstats/scriptstats/load"
)

// connOptions are shared by every command that reaches the databases: the
// DSNs, the ClickHouse cluster layout, and logging.
type connOptions struct {
	PGDSN         string
	ClickHouseDSN string
	// Cluster, ClusterDDL, ReplicaPath, ReplicaName: --clickhouse-cluster
	// and how its objects are created.
	Cluster, ClusterDDL, ReplicaPath, ReplicaName string
	LogFormat, LogLevel                           string

	// secrets are the passwords of the DSNs, replaced verbatim in all
	// output when long enough (see redactingWriter).
	secrets []string
}

func (c *connOptions) connection() *connOptions { return c }

// register adds the connection flags; withPG: --pg-dsn too (with the usage
// of a command that reads the source).
func (c *connOptions) register(f *flagSet, withPG bool) {
	if withPG {
		f.secret(&c.PGDSN, "pg-dsn", "source PostgreSQL: libpq URL or key=value DSN")
	}
	f.secret(&c.ClickHouseDSN, "clickhouse-dsn", "ClickHouse: clickhouse://user:pass@host:9000/database (the database the job owns)")
	f.string(&c.Cluster, "clickhouse-cluster", "", "ClickHouse cluster (remote_servers) to lay the database out over: local tables sharded by script, Distributed tables, views on every node (empty: one server)")
	f.string(&c.ClusterDDL, "clickhouse-cluster-ddl", "on-cluster", "with --clickhouse-cluster: on-cluster (ON CLUSTER, Replicated engines) or per-node (each node, unreplicated: servers without Keeper)")
	f.string(&c.ReplicaPath, "clickhouse-replica-path", "", "Keeper path of the Replicated tables, e.g. /clickhouse/tables/{shard}/{database}/{table} (empty: the servers' default_replica_path)")
	f.string(&c.ReplicaName, "clickhouse-replica-name", "", "replica name of the Replicated tables, e.g. {replica} (empty: the servers' default_replica_name)")
	f.string(&c.LogFormat, "log-format", "auto", "log format: json, console, or auto (console on a terminal)")
	f.string(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
}

// validate checks the DSNs the command needs and records their passwords
// as secrets, then the cluster layout and the log format.
func (c *connOptions) validate(needPG, needCH bool) error {
	if needPG {
		if c.PGDSN == "" {
			return fmt.Errorf("%w: --pg-dsn or SCRIPTSTATS_PG_DSN is required", errUsage)
		}
		cfg, err := pgconn.ParseConfig(c.PGDSN)
		if err != nil {
			return fmt.Errorf("%w: --pg-dsn does not parse as a libpq URL or key=value DSN", errUsage)
		}
		if cfg.Password != "" {
			c.secrets = append(c.secrets, cfg.Password)
		}
	}
	if needCH {
		if c.ClickHouseDSN == "" {
			return fmt.Errorf("%w: --clickhouse-dsn or SCRIPTSTATS_CLICKHOUSE_DSN is required", errUsage)
		}
		if u, err := url.Parse(c.ClickHouseDSN); err == nil {
			p, _ := u.User.Password()
			for _, pw := range []string{p, u.Query().Get("password")} { // user:pass@ or ?password=
				if pw != "" {
					c.secrets = append(c.secrets, pw)
				}
			}
		}
		if _, err := load.ParseDSN(c.ClickHouseDSN); err != nil {
			return fmt.Errorf("%w: --clickhouse-dsn: %w", errUsage, err)
		}
	}
	switch c.ClusterDDL {
	case "", "on-cluster", "per-node":
	default:
		return fmt.Errorf("%w: --clickhouse-cluster-ddl %q: want on-cluster or per-node", errUsage, c.ClusterDDL)
	}
	switch c.LogFormat {
	case "json", "console", "auto":
	default:
		return fmt.Errorf("%w: --log-format %q: want json, console or auto", errUsage, c.LogFormat)
	}
	return nil
}

// sinkOptions are how the job reaches ClickHouse: one server, or a cluster.
func (c *connOptions) sinkOptions() load.Options {
	if c.Cluster == "" {
		return load.Options{}
	}
	return load.Options{Cluster: &load.Cluster{
		Name: c.Cluster, PerNode: c.ClusterDDL == "per-node",
		ReplicaPath: c.ReplicaPath, ReplicaName: c.ReplicaName,
	}}
}
