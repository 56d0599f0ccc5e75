package load

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2"
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
	cols.reservePacked(runs)
	for i := range runs {
		cols.addRun(&runs[i])
	}
	for _, g := range gone {
		cols.addTombstone(g)
	}
	return s.sendRuns(ctx, cols, version)
}

// RunBlock is one INSERT of runs_state that stays open across several of
// the loader's batches (a first load or a backfill: docs/performance.md,
// "Eighth round: the full load's CPU"). Each Add sends its rows at once (the driver's
// Flush: the client keeps no block), and ClickHouse gathers the blocks of
// one INSERT into blocks of min_insert_block_size_rows (about 1M) or
// _bytes (256 MiB), smaller in the load's last INSERT (LastOfLoad), before
// it writes parts: a few large parts per partition, which it merges much
// less than the parts of many small INSERTs. Nothing is visible before
// InsertRunBlock commits the INSERT.
//
// The INSERT is never ended by closing its connection (the local test
// engine aborts when a client leaves mid-query): its context does not
// cancel it, and Abort commits what was sent — as a killed first load
// can leave committed blocks too, the next first pass starts from empty tables
// (Sink.Reset); a backfill removes the old places of a block's runs only
// after the block is committed (schedules/loader.go), so what a killed one
// leaves is what a pass killed between two writes of a batch leaves. A
// failed send is not retried: the blocks sent before it cannot be sent
// again, so the pass fails.
type RunBlock struct {
	sink *Sink
	ctx  context.Context // the pass's: retries stop when it ends
	// conn is the block's own connection, opened with its INSERT and
	// closed once the INSERT has ended: the driver keeps a connection's
	// encode and compress buffers (~50 MB after batches of 20,000 runs)
	// as long as the connection lives, and in the shared pool they stayed
	// through the recompute and detection of a first load — its peak at
	// 10M runs (docs/performance.md, "Ninth round: the block's
	// connection").
	conn    driver.Conn
	batch   driver.Batch // nil until the first Add
	version uint64
	last    bool // LastOfLoad
	rows    int
	cols    *runColumns // the last batch's, reused by the next (writer only)
	// err is the failed send: the INSERT is then over, or its connection
	// broken, and is not committed.
	err error
}

// The squashed block of the load's last INSERT, a quarter of ClickHouse's
// defaults (1,048,449 rows, 256 MiB). The server reads no more of an
// INSERT while it writes a block's parts (sort, compress, the runs_by_id
// mirror), and the last block of the last INSERT is written after the job
// has sent everything, with nothing else to do: with the defaults that
// held a first load of 1M runs ~1 s on ClickHouse alone. With a quarter
// the load phase took 6.4–7.1 s instead of 8.3 s. The earlier INSERTs of
// a larger load keep the defaults: there the smaller blocks' extra merges
// cost what they saved (4M and 10M runs: docs/performance.md, "Tenth
// round").
const (
	lastBlockSquashRows  = 262144
	lastBlockSquashBytes = 64 << 20
)

// LastOfLoad marks the block as the load's last INSERT (or near it): its
// rows are squashed into smaller blocks. Before the first Add only.
func (b *RunBlock) LastOfLoad() { b.last = true }

// NewRunBlock starts an empty block of rows written with version; the
// INSERT opens with the first Add.
func (s *Sink) NewRunBlock(ctx context.Context, version uint64) (*RunBlock, error) {
	return &RunBlock{sink: s, ctx: ctx, version: version}, nil
}

// Add sends runs, and a tombstone at each gone place, in the block's
// INSERT; the runs can be reused at once.
func (b *RunBlock) Add(runs []transform.Run, gone []Location) error {
	if b.err != nil {
		return b.err
	}
	if len(runs)+len(gone) == 0 {
		return nil
	}
	if err := b.add(runs, gone); err != nil {
		b.err = err
		if b.batch != nil {
			_ = b.batch.Abort()
			b.batch = nil
		}
		b.closeConn()
		return err
	}
	return nil
}

func (b *RunBlock) add(runs []transform.Run, gone []Location) error {
	if b.batch == nil {
		err := b.sink.retry(b.ctx, func() error {
			var err error
			// optimize_on_insert = 0: a first load sends each run once,
			// so collapsing the block's equal keys on insert finds
			// nothing, and on ClickHouse's squashed blocks it cost ~3.5
			// CPU-s per 1M runs (docs/performance.md, "Eighth round").
			// FINAL and the merges collapse versions as before.
			settings := clickhouse.Settings{"optimize_on_insert": 0}
			if b.last {
				settings["min_insert_block_size_rows"] = lastBlockSquashRows
				settings["min_insert_block_size_bytes"] = lastBlockSquashBytes
			}
			qctx := clickhouse.Context(context.WithoutCancel(b.ctx), clickhouse.WithSettings(settings))
			if b.conn == nil {
				if b.conn, err = connect(b.ctx, b.sink.opts); err != nil {
					return err
				}
			}
			b.batch, err = b.conn.PrepareBatch(qctx, sqlfiles.ClickHouseInsertRuns)
			if err != nil {
				return sinkErrorf("clickhouse insert runs: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// The columns of the last batch are reused: the driver copied them.
	if b.cols == nil {
		b.cols = newRunColumns(len(runs)+len(gone), newStepArrays())
	} else {
		b.cols.reset()
	}
	cols := b.cols
	cols.steps.reserve(runs, len(gone))
	cols.reservePacked(runs)
	for i := range runs {
		cols.addRun(&runs[i])
	}
	for _, g := range gone {
		cols.addTombstone(g)
	}
	if err := cols.appendTo(b.batch, b.version); err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	if err := cols.steps.decodeInto(b.batch); err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	if err := b.batch.Flush(); err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	b.rows += len(runs) + len(gone)
	return nil
}

// Len is the number of runs sent in the block.
func (b *RunBlock) Len() int { return b.rows }

// Abort ends the block's INSERT, committing what was sent (see RunBlock);
// after a failed send there is nothing left to end.
func (b *RunBlock) Abort() {
	if b.batch != nil && !b.batch.IsSent() {
		_ = b.batch.Send()
	}
	b.batch = nil
	b.closeConn()
}

// closeConn closes the block's connection, its INSERT ended (sent, or
// aborted after a failed send).
func (b *RunBlock) closeConn() {
	if b.conn != nil {
		_ = b.conn.Close()
		b.conn = nil
	}
}

// InsertRunBlock commits the block's INSERT: its runs become visible at
// once.
func (s *Sink) InsertRunBlock(ctx context.Context, b *RunBlock) error {
	if b.err != nil {
		return b.err
	}
	if b.batch == nil {
		return nil
	}
	err := b.batch.Send()
	b.batch = nil
	b.closeConn()
	if err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	return nil
}

func (s *Sink) sendRuns(ctx context.Context, cols *runColumns, version uint64) error {
	// optimize_on_insert = 0, as in a first load's RunBlock: a batch holds
	// each run once (a pass reads a run once, from one snapshot; a
	// tombstone is at another key than its run's live row), so collapsing
	// equal keys on insert finds nothing. FINAL and the merges collapse
	// versions as before.
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"optimize_on_insert": 0}))
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
