package load

import (
	"context"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// SyncScripts makes scripts_state equal the source's names: new and renamed
// scripts are upserted, scripts gone from the source deleted (their runs
// then show a placeholder name). Returns how many rows changed.
func (s *Sink) SyncScripts(ctx context.Context, names map[int64]string, version uint64) (int, error) {
	return retryValue(ctx, s, func() (int, error) { return s.syncScripts(ctx, names, version) })
}

func (s *Sink) syncScripts(ctx context.Context, names map[int64]string, version uint64) (int, error) {
	stored := map[int64]string{}
	rows, err := s.conn.Query(ctx, sqlfiles.ClickHouseSelectScripts)
	if err != nil {
		return 0, sinkErrorf("clickhouse read scripts: %w", err)
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return 0, sinkErrorf("clickhouse read scripts: %w", err)
		}
		stored[id] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, sinkErrorf("clickhouse read scripts: %w", err)
	}
	batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertScripts)
	if err != nil {
		return 0, sinkErrorf("clickhouse write scripts: %w", err)
	}
	defer batch.Abort()
	changed := 0
	for id, name := range names {
		if old, ok := stored[id]; ok && old == name {
			continue
		}
		if err := batch.Append(id, name, version, uint8(0)); err != nil {
			return 0, sinkErrorf("clickhouse write scripts: %w", err)
		}
		changed++
	}
	for id := range stored {
		if _, ok := names[id]; ok {
			continue
		}
		if err := batch.Append(id, "", version, uint8(1)); err != nil {
			return 0, sinkErrorf("clickhouse write scripts: %w", err)
		}
		changed++
	}
	if changed == 0 {
		return 0, nil
	}
	if err := batch.Send(); err != nil {
		return 0, sinkErrorf("clickhouse write scripts: %w", err)
	}
	return changed, nil
}
