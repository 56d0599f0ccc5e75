package demodata

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// ReferenceSchema is sql/postgres/reference_schema.sql, the source schema
// of CONTRACT.md section 1.
var ReferenceSchema = sqlfiles.PostgresReferenceSchema

// EnsureSchema creates the reference schema (CONTRACT.md section 1) where it
// is missing. It is idempotent.
func EnsureSchema(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, ReferenceSchema); err != nil {
		return fmt.Errorf("create reference schema: %w", err)
	}
	return nil
}

// Reset drops task_log and scripts and creates the reference schema anew.
func Reset(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, "DROP TABLE IF EXISTS task_log, scripts"); err != nil {
		return fmt.Errorf("drop task_log and scripts: %w", err)
	}
	return EnsureSchema(ctx, pool)
}

// secondaryIndexes returns the CREATE INDEX statements of task_log's indexes
// that back no constraint (the primary key stays).
func secondaryIndexes(ctx context.Context, conn *pgx.Conn) (names, defs []string, err error) {
	rows, err := conn.Query(ctx, `
		SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname), pg_get_indexdef(i.indexrelid)
		FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_namespace n ON n.oid = ic.relnamespace
		WHERE i.indrelid = 'task_log'::regclass
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
		ORDER BY ic.relname`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			return nil, nil, err
		}
		names = append(names, name)
		defs = append(defs, def)
	}
	return names, defs, rows.Err()
}
