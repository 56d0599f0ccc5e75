package load

import (
	"context"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// StoredRunIDs returns, ascending, the id of every run stored in ClickHouse.
func (s *Sink) StoredRunIDs(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := s.retry(ctx, func() error {
		ids = ids[:0]
		rows, err := s.conn.Query(ctx, sqlfiles.ClickHouseSelectStoredRunIds)
		if err != nil {
			return sinkErrorf("clickhouse stored run ids: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return sinkErrorf("clickhouse stored run ids: %w", err)
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return sinkErrorf("clickhouse stored run ids: %w", err)
		}
		return nil
	})
	return ids, err
}
