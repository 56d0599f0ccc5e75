package extract

import (
	"context"
	"time"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// LocalTimes returns the wall-clock time (YYYY-MM-DDTHH:MM:SS) in zone of
// each instant, by PostgreSQL's time zone data.
func (s *Source) LocalTimes(ctx context.Context, zone string, instants []time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, sqlfiles.PostgresZoneLocalTimes, zone, instants)
	if err != nil {
		return nil, sourceErrorf("postgres zone %s: %w", zone, err)
	}
	defer rows.Close()
	out := make([]string, 0, len(instants))
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, sourceErrorf("postgres zone %s: %w", zone, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, sourceErrorf("postgres zone %s: %w", zone, err)
	}
	return out, nil
}
