package main

import (
	"context"
	"fmt"
)

// TableBytes is one ClickHouse table's size after a full load.
type TableBytes struct {
	Table      string `json:"table"`
	Rows       uint64 `json:"rows"`
	Compressed uint64 `json:"compressed_bytes"`
}

// tableBytes reads the active parts of every table of db (for the bytes per
// run of docs/performance.md).
func (h *harness) tableBytes(ctx context.Context, db string) ([]TableBytes, error) {
	rows, err := h.ch.Query(ctx, `SELECT table, sum(rows), sum(data_compressed_bytes)
		FROM system.parts WHERE database = ? AND active GROUP BY table ORDER BY table`, db)
	if err != nil {
		return nil, fmt.Errorf("clickhouse table sizes: %w", err)
	}
	defer rows.Close()
	var out []TableBytes
	for rows.Next() {
		var t TableBytes
		if err := rows.Scan(&t.Table, &t.Rows, &t.Compressed); err != nil {
			return nil, fmt.Errorf("clickhouse table sizes: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
