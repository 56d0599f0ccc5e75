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
	err = conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(db))
	_ = conn.Close()
	if err != nil {
		return 0, fmt.Errorf("clickhouse create database %s: %w", db, err)
	}
	sink, err := Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer sink.Close()
	migrations, err := sqlfiles.Migrations()
	if err != nil {
		return 0, err
	}
	if err := sink.conn.Exec(ctx, sqlfiles.ClickHouse("create_schema_migrations")); err != nil {
		return 0, fmt.Errorf("clickhouse create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		for _, stmt := range m.Statements {
			if err := sink.conn.Exec(ctx, stmt); err != nil {
				return applied, fmt.Errorf("clickhouse migration %s: %w", m.Name, err)
			}
		}
		if err := sink.conn.Exec(ctx, sqlfiles.ClickHouse("insert_schema_migration"), uint32(m.Version), m.Name); err != nil {
			return applied, fmt.Errorf("clickhouse record migration %s: %w", m.Name, err)
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
	row := s.conn.QueryRow(ctx, sqlfiles.ClickHouse("select_schema_version"))
	if err := row.Scan(&have); err != nil {
		if IsTransient(err) { // ClickHouse unreachable: retried, and not "not migrated"
			return fmt.Errorf("clickhouse read schema version: %w", err)
		}
		return fmt.Errorf("%w (%v)", ErrNotMigrated, err)
	}
	if have < want {
		return fmt.Errorf("%w: database has version %d, this binary needs %d", ErrNotMigrated, have, want)
	}
	return nil
}

// privateTables are emptied by Reset, in this order.
var privateTables = []string{"pending_groups", "runs_state", "run_places", "groups_state", "scripts_state", "job_state",
	"duration_changes_state", "step_health_state", "health_checks", "detection_as_of"}

// Reset empties every private table: a first pass starts from nothing.
func (s *Sink) Reset(ctx context.Context) error {
	return s.retry(ctx, func() error { return s.reset(ctx) })
}

func (s *Sink) reset(ctx context.Context) error {
	for _, t := range privateTables {
		if err := s.conn.Exec(ctx, "TRUNCATE TABLE IF EXISTS "+quoteIdent(t)); err != nil {
			return fmt.Errorf("clickhouse reset %s: %w", t, err)
		}
	}
	return nil
}
