package load

import (
	"context"

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
	batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertRuns)
	if err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	defer batch.Abort()
	cols := newRunColumns(len(runs) + len(gone))
	for i := range runs {
		cols.addRun(&runs[i])
	}
	for _, g := range gone {
		cols.addTombstone(g)
	}
	if err := cols.appendTo(batch, version); err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	if err := batch.Send(); err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	return nil
}
