package load

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// Location is where a run is stored: its group.
type Location struct {
	RunID int64
	Key   transform.GroupKey
	// Deleted marks a run deleted at the source (not merely moved to
	// another group), whose location goes too.
	Deleted bool
}

var statusClassNames = [...]string{
	transform.StatusUnfinished: "unfinished",
	transform.StatusSuccess:    "success",
	transform.StatusFailed:     "failed",
	transform.StatusTimeout:    "timeout",
	transform.StatusCancelled:  "cancelled",
	transform.StatusOther:      "other",
}

// Locations returns the current group of each of the given runs that is
// stored; runs never loaded are absent from the map.
func (s *Sink) Locations(ctx context.Context, ids []int64) (map[int64]transform.GroupKey, error) {
	var r0 map[int64]transform.GroupKey
	err := s.retry(ctx, func() (err error) {
		r0, err = s.locations(ctx, ids)
		return err
	})
	return r0, err
}

func (s *Sink) locations(ctx context.Context, ids []int64) (map[int64]transform.GroupKey, error) {
	out := make(map[int64]transform.GroupKey, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	table, err := ext.NewTable("run_ids", ext.Column("run_id", "Int64"))
	if err != nil {
		return nil, fmt.Errorf("clickhouse locations: %w", err)
	}
	for _, id := range ids {
		if err := table.Append(id); err != nil {
			return nil, fmt.Errorf("clickhouse locations: %w", err)
		}
	}
	qctx := clickhouse.Context(ctx, clickhouse.WithExternalTable(table))
	rows, err := s.conn.Query(qctx, sqlfiles.ClickHouse("select_locations"))
	if err != nil {
		return nil, fmt.Errorf("clickhouse locations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, script int64
		var day time.Time
		if err := rows.Scan(&id, &script, &day); err != nil {
			return nil, fmt.Errorf("clickhouse locations: %w", err)
		}
		out[id] = transform.GroupKey{ScriptID: script, Day: dayOf(day)}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse locations: %w", err)
	}
	return out, nil
}

// WriteRuns upserts runs and deletes runs at the given old locations (runs
// that moved to another group or were deleted at the source), in runs_state
// and run_locations. Callers journal the affected groups first.
func (s *Sink) WriteRuns(ctx context.Context, runs []transform.Run, gone []Location, version uint64) error {
	if err := s.InsertRuns(ctx, runs, gone, version); err != nil {
		return err
	}
	return s.InsertLocations(ctx, runs, gone, version)
}

// InsertRuns is WriteRuns' first half: runs_state only.
func (s *Sink) InsertRuns(ctx context.Context, runs []transform.Run, gone []Location, version uint64) error {
	return s.retry(ctx, func() error { return s.insertRuns(ctx, runs, gone, version) })
}

func (s *Sink) insertRuns(ctx context.Context, runs []transform.Run, gone []Location, version uint64) error {
	batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouse("insert_runs"))
	if err != nil {
		return fmt.Errorf("clickhouse insert runs: %w", err)
	}
	defer batch.Abort()
	var packed []byte
	for i := range runs {
		r := &runs[i]
		packed = encodeSteps(packed, r.Steps)
		n := len(r.Steps)
		idx := make([]int32, n)
		names := make([]*string, n)
		statuses := make([]string, n)
		durs := make([]*float64, n)
		errs := make([]*string, n)
		for j := range r.Steps {
			st := &r.Steps[j]
			idx[j] = st.Index
			names[j] = strPtr(st.Name)
			statuses[j] = st.Status
			durs[j] = floatPtr(st.Duration)
			errs[j] = strPtr(st.Error)
		}
		err := batch.Append(
			r.ScriptID, r.Day.Time(), r.ID, r.Status, statusClassNames[r.Class],
			r.OrderedAt.UnixMicro(), r.CreatedAt.UnixMicro(), r.UpdatedAt.UnixMicro(),
			transform.ClampMicro(r.FinishedOrLatest()).UnixMicro(),
			timePtr(r.StartedAt), timePtr(r.FinishedAt),
			floatPtr(r.ReportedDuration), floatPtr(r.Duration),
			int32Ptr(r.FailedStepIndex), strPtr(r.FailedStepName), strPtr(r.ErrorMessage),
			idx, names, statuses, durs, errs,
			string(packed), version, uint8(0),
		)
		if err != nil {
			return fmt.Errorf("clickhouse insert runs: run %d: %w", r.ID, err)
		}
	}
	for _, g := range gone {
		err := batch.Append(
			g.Key.ScriptID, g.Key.Day.Time(), g.RunID, "", "unfinished",
			int64(0), int64(0), int64(0), int64(0),
			nil, nil, nil, nil, nil, nil, nil,
			[]int32{}, []*string{}, []string{}, []*float64{}, []*string{},
			"", version, uint8(1),
		)
		if err != nil {
			return fmt.Errorf("clickhouse insert runs: tombstone of run %d: %w", g.RunID, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("clickhouse insert runs: %w", err)
	}
	return nil
}

// InsertLocations is WriteRuns' second half: run_locations.
func (s *Sink) InsertLocations(ctx context.Context, runs []transform.Run, gone []Location, version uint64) error {
	return s.retry(ctx, func() error { return s.insertLocations(ctx, runs, gone, version) })
}

func (s *Sink) insertLocations(ctx context.Context, runs []transform.Run, gone []Location, version uint64) error {
	if len(runs) == 0 && len(gone) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouse("insert_locations"))
	if err != nil {
		return fmt.Errorf("clickhouse insert locations: %w", err)
	}
	defer batch.Abort()
	for i := range runs {
		r := &runs[i]
		if err := batch.Append(r.ID, r.ScriptID, r.Day.Time(), version, uint8(0)); err != nil {
			return fmt.Errorf("clickhouse insert locations: %w", err)
		}
	}
	for _, g := range gone {
		if g.Deleted {
			if err := batch.Append(g.RunID, g.Key.ScriptID, g.Key.Day.Time(), version, uint8(1)); err != nil {
				return fmt.Errorf("clickhouse insert locations: %w", err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("clickhouse insert locations: %w", err)
	}
	return nil
}
