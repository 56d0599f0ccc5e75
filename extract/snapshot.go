package extract

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// SnapshotInfo describes the source snapshot a pass reads: the database
// time it was taken at and the transactions still in progress then. It is
// what the watermark is made of.
type SnapshotInfo struct {
	Time time.Time
	// Xmin is the oldest transaction still in progress; Xmax the first
	// transaction id not yet assigned. Both are 64-bit (xid8): they never
	// wrap and only grow, unless the database was restored from a backup.
	Xmin int64
	Xmax int64
	// InProgress lists the transactions between Xmin and Xmax running when
	// the snapshot was taken; ids at or above Xmax may be running too.
	InProgress []int64
	// Marker is a transaction id taken right after the snapshot: every id
	// above it was assigned later. 0 when the source cannot assign one (a
	// hot standby).
	Marker int64
	// Activity was read right before the snapshot.
	Activity Activity
}

// Snapshot is a read-only REPEATABLE READ transaction on the source.
type Snapshot struct {
	tx   pgx.Tx
	info SnapshotInfo
}

// Info returns what the snapshot was taken at.
func (s *Snapshot) Info() SnapshotInfo { return s.info }

// Close ends the transaction.
func (s *Snapshot) Close(ctx context.Context) error {
	return s.tx.Rollback(context.WithoutCancel(ctx))
}

func (s *Snapshot) readInfo(ctx context.Context) error {
	var inProgress []int64
	err := s.tx.QueryRow(ctx, sqlfiles.PostgresSnapshot).Scan(
		&s.info.Time, &s.info.Xmin, &s.info.Xmax, &inProgress)
	if err != nil {
		return sourceErrorf("postgres snapshot: %w", err)
	}
	s.info.InProgress = inProgress
	// The marker costs one transaction id per pass and writes nothing. A
	// standby refuses it; the savepoint keeps the snapshot usable then.
	if _, err := s.tx.Exec(ctx, "SAVEPOINT scriptstats_marker"); err != nil {
		return sourceErrorf("postgres snapshot: %w", err)
	}
	if err := s.tx.QueryRow(ctx, sqlfiles.PostgresMarker).Scan(&s.info.Marker); err != nil {
		s.info.Marker = 0
		if _, err := s.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT scriptstats_marker"); err != nil {
			return sourceErrorf("postgres snapshot: %w", err)
		}
	}
	return nil
}

// Scripts returns every script's current name.
func (s *Snapshot) Scripts(ctx context.Context) (map[int64]string, error) {
	rows, err := s.tx.Query(ctx, sqlfiles.PostgresScripts)
	if err != nil {
		return nil, sourceErrorf("postgres read scripts: %w", err)
	}
	out := map[int64]string{}
	var id int64
	var name string
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		out[id] = name
		return nil
	})
	if err != nil {
		return nil, sourceErrorf("postgres read scripts: %w", err)
	}
	return out, nil
}

// RunFunc receives each extracted run. The value is reused for the next
// row, the bytes of its Steps included: copy what must outlive the call.
type RunFunc func(run *transform.SourceRun) error

// ChangedRuns streams the runs with updated_at >= since.
func (s *Snapshot) ChangedRuns(ctx context.Context, since time.Time, errorChars int, fn RunFunc) error {
	return s.stream(ctx, "changed runs", fn, runQuery(sqlfiles.PostgresRunsChanged), errorChars, since)
}

// CountRunsBetween counts the runs RunsBetween would stream (for progress
// display; 0 when the count fails).
func (s *Snapshot) CountRunsBetween(ctx context.Context, from, to time.Time) int64 {
	var n int64
	if err := s.tx.QueryRow(ctx, sqlfiles.PostgresCountBetween, from, to).Scan(&n); err != nil {
		return 0
	}
	return n
}

// RunsWrittenBy streams the runs whose current version was written by one
// of the given transactions (64-bit ids) and whose updated_at is before
// the given time.
func (s *Snapshot) RunsWrittenBy(ctx context.Context, xids []int64, before time.Time, errorChars int, fn RunFunc) error {
	short := make([]int64, len(xids))
	for i, x := range xids {
		short[i] = x & 0xFFFFFFFF // xmin holds the low 32 bits of the xid8
	}
	return s.stream(ctx, "runs by writer", fn, runQuery(sqlfiles.PostgresRunsWrittenBy), errorChars, short, before)
}

// AllRuns streams every run.
func (s *Snapshot) AllRuns(ctx context.Context, errorChars int, fn RunFunc) error {
	return s.stream(ctx, "all runs", fn, runQuery(sqlfiles.PostgresRunsAll), errorChars)
}

// RunsBetween streams the runs whose coalesce(started_at, created_at) lies
// in [from, to), sorted by script, then that time, then id.
func (s *Snapshot) RunsBetween(ctx context.Context, from, to time.Time, errorChars int, fn RunFunc) error {
	return s.stream(ctx, "runs by day", fn, runQuery(sqlfiles.PostgresRunsBetween), errorChars, from, to)
}

// RunsOfDays streams the same runs as RunsBetween in no particular order
// (PostgreSQL spares the sort).
func (s *Snapshot) RunsOfDays(ctx context.Context, from, to time.Time, errorChars int, fn RunFunc) error {
	return s.stream(ctx, "runs by day", fn, runQuery(sqlfiles.PostgresRunsOfDays), errorChars, from, to)
}

// RunsByID streams the runs with the given ids that still exist.
func (s *Snapshot) RunsByID(ctx context.Context, ids []int64, errorChars int, fn RunFunc) error {
	return s.stream(ctx, "runs by id", fn, runQuery(sqlfiles.PostgresRunsById), errorChars, ids)
}

// runQuery is the shared column list followed by a query's WHERE clause.
func runQuery(where string) string {
	return sqlfiles.PostgresRunColumns + "\n" + where
}

func (s *Snapshot) stream(ctx context.Context, what string, fn RunFunc, query string, args ...any) error {
	rows, err := s.tx.Query(ctx, query, args...)
	if err != nil {
		return sourceErrorf("postgres read %s: %w", what, err)
	}
	defer rows.Close()
	var sc runScanner
	for rows.Next() {
		run, err := sc.scan(rows)
		if err != nil {
			return sourceErrorf("postgres read %s: %w", what, err)
		}
		if err := fn(run); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return sourceErrorf("postgres read %s: %w", what, err)
	}
	return nil
}

// EstimateRuns returns the planner's estimate of task_log's row count (for
// progress display; 0 when unknown).
func (s *Snapshot) EstimateRuns(ctx context.Context) int64 {
	var n int64
	if err := s.tx.QueryRow(ctx, sqlfiles.PostgresEstimateRuns).Scan(&n); err != nil {
		return 0
	}
	return n
}
