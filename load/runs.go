package load

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// Location is one place (script, day group) of a run in runs_state.
type Location struct {
	RunID int64
	Key   transform.GroupKey
}

var statusClassNames = [...]string{
	transform.StatusUnfinished: "unfinished",
	transform.StatusSuccess:    "success",
	transform.StatusFailed:     "failed",
	transform.StatusTimeout:    "timeout",
	transform.StatusCancelled:  "cancelled",
	transform.StatusOther:      "other",
}

// WriteRuns writes runs at their places and tombstones the given old
// places, in the crash-safe order of a pass (AddPlaces, InsertRuns,
// RemovePlaces). Callers journal the affected groups first.
func (s *Sink) WriteRuns(ctx context.Context, runs []transform.Run, gone []Location, version uint64) error {
	if err := s.AddPlaces(ctx, runs, version); err != nil {
		return err
	}
	if err := s.InsertRuns(ctx, runs, gone, version); err != nil {
		return err
	}
	return s.RemovePlaces(ctx, gone, version)
}

// InsertRuns writes runs_state: the runs at their places and a tombstone
// at each gone place.
func (s *Sink) InsertRuns(ctx context.Context, runs []transform.Run, gone []Location, version uint64) error {
	return s.retry(ctx, func() error { return s.insertRuns(ctx, runs, gone, version) })
}

func (s *Sink) insertRuns(ctx context.Context, runs []transform.Run, gone []Location, version uint64) error {
	steps := newStepArrays()
	steps.reserve(runs, len(gone))
	cols := newRunColumns(len(runs)+len(gone), steps)
	for i := range runs {
		cols.addRun(&runs[i])
	}
	for _, g := range gone {
		cols.addTombstone(g)
	}
	return s.sendRuns(ctx, cols, version)
}

// RunBlock gathers runs_state rows for one INSERT across several of the
// loader's batches (a first load: docs/performance.md, "Seventh round").
// The rows are copied into the driver's columns as they are added, so the
// runs added can be reused at once; the block holds no connection (the
// driver's ReleaseConnection) and the INSERT is sent whole by
// InsertRunBlock: no query stays open while the block fills.
type RunBlock struct {
	batch   driver.Batch
	version uint64
	rows    int
	// The step arrays of every run added, handed to the batch when it is
	// sent (stepArrays.decodeInto); sent tells they were.
	steps *stepArrays
	sent  bool
}

// NewRunBlock starts an empty block of rows written with version.
func (s *Sink) NewRunBlock(ctx context.Context, version uint64) (*RunBlock, error) {
	var batch driver.Batch
	err := s.retry(ctx, func() error {
		var err error
		batch, err = s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertRuns, driver.WithReleaseConnection())
		if err != nil {
			return sinkErrorf("clickhouse insert runs: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &RunBlock{batch: batch, version: version, steps: newStepArrays()}, nil
}

// Add copies runs into the block.
func (b *RunBlock) Add(runs []transform.Run) error {
	b.steps.reserve(runs, 0)
	cols := newRunColumns(len(runs), b.steps)
	for i := range runs {
		cols.addRun(&runs[i])
	}
	if err := cols.appendTo(b.batch, b.version); err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	b.rows += len(runs)
	return nil
}

// Len is the number of runs in the block.
func (b *RunBlock) Len() int { return b.rows }

// Abort discards the block.
func (b *RunBlock) Abort() { _ = b.batch.Abort() }

// InsertRunBlock writes the block's runs to runs_state in one INSERT. A
// retry sends the same rows again (the driver's Send, called again after a
// failure, opens a new connection and resends its block; the same versions:
// FINAL keeps one).
func (s *Sink) InsertRunBlock(ctx context.Context, b *RunBlock) error {
	if b.rows == 0 {
		b.Abort()
		return nil
	}
	if !b.sent {
		b.sent = true
		if err := b.steps.decodeInto(b.batch); err != nil {
			b.Abort()
			return sinkErrorf("clickhouse insert runs: %w", err)
		}
		b.steps = nil
	}
	return s.retry(ctx, func() error {
		if err := b.batch.Send(); err != nil {
			return sinkErrorf("clickhouse insert runs: %w", err)
		}
		return nil
	})
}

func (s *Sink) sendRuns(ctx context.Context, cols *runColumns, version uint64) error {
	batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertRuns)
	if err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	defer batch.Abort()
	if err := cols.appendTo(batch, version); err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	if err := cols.steps.decodeInto(batch); err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	if err := batch.Send(); err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	return nil
}
