package load

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// run_places holds every place where a run may be live in runs_state: a
// superset, kept so by the order of a pass's writes (AddPlaces before
// InsertRuns, RemovePlaces after it). See docs/design.md, "One pass".

// Places returns every live place of each of the given runs, in (script,
// day) order; runs never stored are absent from the map.
func (s *Sink) Places(ctx context.Context, ids []int64) (map[int64][]transform.GroupKey, error) {
	return retryValue(ctx, s, func() (map[int64][]transform.GroupKey, error) { return s.places(ctx, ids) })
}

func (s *Sink) places(ctx context.Context, ids []int64) (map[int64][]transform.GroupKey, error) {
	out := make(map[int64][]transform.GroupKey, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	table, err := ext.NewTable("run_ids", ext.Column("run_id", "Int64"))
	if err != nil {
		return nil, sinkErrorf("clickhouse run places: %w", err)
	}
	for _, id := range ids {
		if err := table.Append(id); err != nil {
			return nil, sinkErrorf("clickhouse run places: %w", err)
		}
	}
	qctx := clickhouse.Context(ctx, clickhouse.WithExternalTable(table))
	rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseSelectRunPlaces)
	if err != nil {
		return nil, sinkErrorf("clickhouse run places: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, script int64
		var day time.Time
		if err := rows.Scan(&id, &script, &day); err != nil {
			return nil, sinkErrorf("clickhouse run places: %w", err)
		}
		out[id] = append(out[id], transform.GroupKey{ScriptID: script, Day: dayOf(day)})
	}
	if err := rows.Err(); err != nil {
		return nil, sinkErrorf("clickhouse run places: %w", err)
	}
	return out, nil
}

// AddPlaces records the place of each run as live. It must land before the
// runs are written there.
func (s *Sink) AddPlaces(ctx context.Context, runs []transform.Run, version uint64) error {
	if len(runs) == 0 {
		return nil
	}
	return s.retry(ctx, func() error {
		return s.insertPlaces(ctx, len(runs), func(i int) (int64, transform.GroupKey) {
			return runs[i].ID, runs[i].Key()
		}, version, 0)
	})
}

// RemovePlaces records the given places as gone. It must land only after
// their tombstones in runs_state.
func (s *Sink) RemovePlaces(ctx context.Context, gone []Location, version uint64) error {
	if len(gone) == 0 {
		return nil
	}
	return s.retry(ctx, func() error {
		return s.insertPlaces(ctx, len(gone), func(i int) (int64, transform.GroupKey) {
			return gone[i].RunID, gone[i].Key
		}, version, 1)
	})
}

func (s *Sink) insertPlaces(ctx context.Context, n int, at func(int) (int64, transform.GroupKey), version uint64, deleted uint8) error {
	batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertRunPlaces)
	if err != nil {
		return sinkErrorf("clickhouse insert run places: %w", err)
	}
	defer batch.Abort()
	// Column by column: the driver's row-wise Append boxes every value
	// (a first load writes a place per run).
	ids, scripts, days := make([]int64, n), make([]int64, n), make([]time.Time, n)
	versions, flags := make([]uint64, n), make([]uint8, n)
	for i := range n {
		id, key := at(i)
		ids[i], scripts[i], days[i], versions[i], flags[i] = id, key.ScriptID, key.Day.Time(), version, deleted
	}
	for i, col := range []any{ids, scripts, days, versions, flags} {
		if err := batch.Column(i).Append(col); err != nil {
			return sinkErrorf("clickhouse insert run places: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return sinkErrorf("clickhouse insert run places: %w", err)
	}
	return nil
}
