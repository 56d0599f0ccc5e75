package load

import (
	"context"
	"fmt"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// Migrate creates the database if it is missing and creates or upgrades
// every object in it. Every migration statement is idempotent (IF NOT
// EXISTS, OR REPLACE), and all of them run each time, so running it again or
// from two processes at once is safe and repairs a dropped view.
func Migrate(ctx context.Context, dsn string) (applied int, err error) {
	return MigrateWith(ctx, dsn, Options{})
}

// MigrateWith is Migrate with options: on a cluster, every object is
// created on every node (see Cluster).
func MigrateWith(ctx context.Context, dsn string, o Options) (applied int, err error) {
	opts, err := ParseDSN(dsn)
	if err != nil {
		return 0, err
	}
	db := opts.Auth.Database
	bootstrap := *opts
	bootstrap.Auth.Database = "" // the user's default database: ours may not exist yet
	conn, err := connect(ctx, &bootstrap)
	if err != nil {
		return 0, err
	}
	if c := o.Cluster; c != nil {
		err = c.execDDL(ctx, conn, &bootstrap, "", []string{c.DatabaseStatement(db)})
	} else {
		err = conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(db))
	}
	_ = conn.Close()
	if err != nil {
		return 0, sinkErrorf("clickhouse create database %s: %w", db, err)
	}
	sink, err := OpenWith(ctx, dsn, o)
	if err != nil {
		return 0, err
	}
	defer sink.Close()
	migrations, err := sqlfiles.Migrations()
	if err != nil {
		return 0, err
	}
	if err := sink.execSchema(ctx, sqlfiles.ClickHouseCreateSchemaMigrations); err != nil {
		return 0, sinkErrorf("clickhouse create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		for _, stmt := range m.Statements {
			if err := sink.execSchema(ctx, stmt); err != nil {
				return applied, sinkErrorf("clickhouse migration %s: %w", m.Name, err)
			}
		}
		if err := sink.conn.Exec(ctx, sqlfiles.ClickHouseInsertSchemaMigration, uint32(m.Version), m.Name); err != nil {
			return applied, sinkErrorf("clickhouse record migration %s: %w", m.Name, err)
		}
		applied++
	}
	return applied, nil
}

// CheckSchema returns ErrNotMigrated unless every migration this binary
// knows has been applied.
func (s *Sink) CheckSchema(ctx context.Context) error {
	return s.retry(ctx, func() error { return s.checkSchema(ctx) })
}

func (s *Sink) checkSchema(ctx context.Context) error {
	migrations, err := sqlfiles.Migrations()
	if err != nil {
		return err
	}
	want := uint32(migrations[len(migrations)-1].Version)
	var have uint32
	row := s.conn.QueryRow(ctx, sqlfiles.ClickHouseSelectSchemaVersion)
	if err := row.Scan(&have); err != nil {
		if IsTransient(err) { // ClickHouse unreachable: retried, and not "not migrated"
			return sinkErrorf("clickhouse read schema version: %w", err)
		}
		return fmt.Errorf("%w (%v)", ErrNotMigrated, err)
	}
	if have < want {
		return fmt.Errorf("%w: database has version %d, this binary needs %d", ErrNotMigrated, have, want)
	}
	return nil
}

// privateTables are emptied by Reset, in this order.
var privateTables = []string{"pending_groups", "runs_state", "runs_by_id", "run_links", "run_places", "health_days_state", "groups_state", "groups_for_views", "scripts_state", "job_state",
	"duration_changes_state", "step_health_state", "health_checks", "detection_as_of"}

// Reset empties every private table: a first pass starts from nothing.
func (s *Sink) Reset(ctx context.Context) error {
	return s.retry(ctx, func() error { return s.reset(ctx) })
}

func (s *Sink) reset(ctx context.Context) error {
	for _, t := range privateTables {
		if c := s.cluster; c != nil {
			if err := c.execDDL(ctx, s.conn, s.opts, s.database, []string{c.TruncateStatement(t)}); err != nil {
				return sinkErrorf("clickhouse reset %s: %w", t, err)
			}
			continue
		}
		if err := s.conn.Exec(ctx, "TRUNCATE TABLE IF EXISTS "+quoteIdent(t)); err != nil {
			return sinkErrorf("clickhouse reset %s: %w", t, err)
		}
	}
	return nil
}

// execSchema runs one schema statement: as it is on one server, or
// rewritten for the cluster.
func (s *Sink) execSchema(ctx context.Context, stmt string) error {
	c := s.cluster
	if c == nil {
		if namesCorrelated(stmt) {
			return s.execNamedView(ctx, stmt)
		}
		return s.conn.Exec(ctx, stmt)
	}
	for _, one := range sqlfiles.SplitStatements(stmt) { // without its comments
		ddl, once, err := c.Rewrite(one, s.database)
		if err != nil {
			return err
		}
		if err := c.execDDL(ctx, s.conn, s.opts, s.database, ddl); err != nil {
			return err
		}
		if err := c.execOnShards(ctx, s.conn, s.opts, s.database, once); err != nil {
			return err
		}
	}
	return nil
}

// execNamedView runs a statement whose views name the script with a
// correlated subquery (migration 0010). A server older than ClickHouse 25.8
// refuses those by default: it gets the views as a cluster does, with
// 0009's scalar lookup (scalarNames) — the same answers, one read of the
// names per query — so that 24.8 stays the floor.
func (s *Sink) execNamedView(ctx context.Context, stmt string) error {
	var version string
	if err := s.conn.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		return sinkErrorf("clickhouse version: %w", err)
	}
	if !beforeCorrelatedSubqueries(version) {
		return s.conn.Exec(ctx, stmt)
	}
	for _, one := range withScalarNames(stmt) {
		if err := s.conn.Exec(ctx, one); err != nil {
			return err
		}
	}
	return nil
}

// withScalarNames splits a migration statement and gives its views that
// name the script by a correlated subquery 0009's scalar lookup instead.
func withScalarNames(stmt string) []string {
	var out []string
	for _, one := range sqlfiles.SplitStatements(stmt) {
		if m := reView.FindStringSubmatch(one); m != nil {
			one = m[1] + scalarNames(m[2])
		}
		out = append(out, one)
	}
	return out
}

// beforeCorrelatedSubqueries says a server version ("25.3.2.1") predates
// 25.8, where correlated subqueries are on by default. A version that does
// not parse counts as new (the migration then says what the server
// refused).
func beforeCorrelatedSubqueries(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major < 25 || (major == 25 && minor < 8)
}
