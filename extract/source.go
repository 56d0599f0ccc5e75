// Package extract reads the operational PostgreSQL: the runs changed since
// the watermark, the runs of a range of days, script names. It only ever
// reads (a role with SELECT on task_log and scripts is enough) and streams
// rows to a callback, so memory does not grow with the history.
package extract

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// ErrLocked is returned by Lock when another pass holds the lock.
var ErrLocked = errors.New("another scriptstats pass is running")

// Source is a connection pool to the operational PostgreSQL.
type Source struct {
	pool *pgxpool.Pool
}

// Open connects to PostgreSQL. The DSN is a libpq URL or key=value string.
func Open(ctx context.Context, dsn string, statementTimeout time.Duration) (*Source, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, sourceErrorf("postgres dsn: %w", err)
	}
	cfg.MaxConns = 4
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "scriptstats"
	if statementTimeout > 0 {
		// Rounded up: a timeout under 1 ms must not become 0, "no timeout".
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint((statementTimeout + time.Millisecond - 1).Milliseconds())
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, sourceErrorf("postgres connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, sourceErrorf("postgres connect: %w", err)
	}
	var num int
	var ver string
	if err := pool.QueryRow(ctx, sqlfiles.PostgresServerVersion).Scan(&num, &ver); err != nil {
		pool.Close()
		return nil, sourceErrorf("postgres server version: %w", err)
	}
	if err := CheckServerVersion(num, ver); err != nil {
		pool.Close()
		return nil, err
	}
	return &Source{pool: pool}, nil
}

// MinServerVersion is the oldest PostgreSQL the job reads from: 13 brought
// pg_current_snapshot() and the 64-bit transaction ids (xid8) of the
// incremental read.
const MinServerVersion = 130000

// ErrServerVersion: the source PostgreSQL is older than MinServerVersion.
var ErrServerVersion = errors.New("postgres server too old")

// CheckServerVersion refuses a server older than MinServerVersion
// (num is server_version_num, ver server_version).
func CheckServerVersion(num int, ver string) error {
	if num < MinServerVersion {
		return fmt.Errorf("%w: the source is PostgreSQL %s; scriptstats needs PostgreSQL 13 or later", ErrServerVersion, ver)
	}
	return nil
}

// Close closes every connection.
func (s *Source) Close() { s.pool.Close() }

// Begin opens a read-only REPEATABLE READ transaction: everything read
// through the returned Snapshot sees one consistent state of the source.
func (s *Source) Begin(ctx context.Context) (*Snapshot, error) {
	// Before the snapshot, not after: a transaction that commits between
	// the two is then either listed here or visible to the snapshot.
	activity, err := s.readActivity(ctx)
	if err != nil {
		return nil, err
	}
	return s.begin(ctx, activity, "")
}

// BeginAt is Begin in a snapshot exported by another session (a new
// replication slot's, see NewSlotSnapshot).
func (s *Source) BeginAt(ctx context.Context, snapshot string) (*Snapshot, error) {
	return s.begin(ctx, Activity{}, snapshot)
}

func (s *Source) begin(ctx context.Context, activity Activity, snapshot string) (*Snapshot, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, sourceErrorf("postgres begin: %w", err)
	}
	if snapshot != "" {
		// The name comes from the server; quoted as a literal all the same.
		q := fmt.Sprintf(sqlfiles.PostgresSetSnapshot, strings.ReplaceAll(snapshot, "'", "''"))
		if _, err := tx.Exec(ctx, q); err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			return nil, sourceErrorf("postgres set snapshot: %w", err)
		}
	}
	snap := &Snapshot{tx: tx}
	if err := snap.readInfo(ctx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	snap.info.Activity = activity
	return snap, nil
}
