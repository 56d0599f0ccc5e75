package load

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ClickHouse/clickhouse-go/v2"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// perRunTables are partitioned by toYYYYMM(day): the tables retention
// drops months of.
var perRunTables = []string{"runs_state", "runs_by_id", "run_links"}

// DropRunsBefore drops every month partition of the per-run tables whose
// days all come before day (day is the first of a month), and the places
// of those runs. It returns how many partitions it dropped.
func (s *Sink) DropRunsBefore(ctx context.Context, day transform.Day) (dropped int, err error) {
	if s.cluster != nil {
		// The partitions live in the local tables of every shard.
		return 0, sinkErrorf("clickhouse retention: --keep-runs-days is not supported with --clickhouse-cluster yet (docs/operations.md)")
	}
	y, m, _ := day.Time().Date()
	limit := y*100 + int(m)
	type part struct{ table, id string }
	var parts []part
	err = s.retry(ctx, func() error {
		parts = parts[:0]
		rows, err := s.conn.Query(ctx, sqlfiles.ClickHouseSelectRunPartitions, perRunTables)
		if err != nil {
			return sinkErrorf("clickhouse list partitions: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var p part
			if err := rows.Scan(&p.table, &p.id); err != nil {
				return sinkErrorf("clickhouse list partitions: %w", err)
			}
			if month, err := strconv.Atoi(p.id); err == nil && month < limit {
				parts = append(parts, p)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	for _, p := range parts {
		q := fmt.Sprintf("ALTER TABLE %s DROP PARTITION ID '%s'", quoteIdent(p.table), p.id)
		if err := s.retry(ctx, func() error { return s.conn.Exec(ctx, q) }); err != nil {
			return dropped, sinkErrorf("clickhouse drop old runs of %s: %w", p.table, err)
		}
		dropped++
	}
	if dropped == 0 {
		return 0, nil
	}
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"before": day.String()}))
	if err := s.retry(ctx, func() error { return s.conn.Exec(qctx, sqlfiles.ClickHouseDeleteOldRunPlaces) }); err != nil {
		return dropped, sinkErrorf("clickhouse drop old run places: %w", err)
	}
	return dropped, nil
}
