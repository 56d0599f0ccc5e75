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

// linkChunkGroups bounds the groups one relink statement reads, so that
// the window over their runs stays small in ClickHouse's memory whatever
// the history's size (a script's groups are never split).
const linkChunkGroups = 1500

// Relink rewrites run_links for the groups journaled after the pass
// `after`: each counted run of those groups, and of the next group of the
// same script holding counted runs, with its previous counted run
// (transform.LinkGroups says why these suffice); and a tombstone for each
// run of those groups that is live but not counted. Like the recompute of
// the groups it depends only on what runs_state holds, so a pass killed
// anywhere in it is finished by the next pass, which relinks every group
// still journaled. afterChunk runs after each statement (failpoints).
func (s *Sink) Relink(ctx context.Context, after, version uint64, afterChunk func() error) (groups int, err error) {
	var journaled, settled []transform.GroupKey
	err = s.retry(ctx, func() error {
		journaled, settled, err = s.linkGroups(ctx, after)
		return err
	})
	if err != nil {
		return 0, err
	}
	if len(journaled) == 0 {
		return 0, nil
	}
	read, emit := transform.LinkGroups(journaled, settled)
	for len(read) > 0 {
		n := chunkEnd(read, linkChunkGroups)
		last := read[n-1].ScriptID
		m := 0
		for m < len(emit) && emit[m].ScriptID <= last {
			m++
		}
		readChunk, emitChunk := read[:n], emit[:m]
		read, emit = read[n:], emit[m:]
		if err := s.retry(ctx, func() error { return s.insertLinks(ctx, readChunk, emitChunk, version) }); err != nil {
			return 0, err
		}
		if afterChunk != nil {
			if err := afterChunk(); err != nil {
				return 0, err
			}
		}
	}
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
		"after":      fmt.Sprint(after),
		"version":    fmt.Sprint(version),
		"runs_table": runsTableFor(journaled),
	}))
	err = s.retry(ctx, func() error {
		if err := s.conn.Exec(qctx, sqlfiles.ClickHouseInsertRunLinkTombstones); err != nil {
			return sinkErrorf("clickhouse relink runs: %w", err)
		}
		return nil
	})
	return len(journaled), err
}

// runsTableFor chooses where the relink reads the runs of groups: both
// tables hold the same rows under FINAL (migration 0007). runs_state is
// ordered by (script, day): it reads the groups' key ranges, but in
// 8,192-row granules, so the day's groups of many scripts touch every
// granule of the month. runs_by_id is ordered by run id, in 1,024-row
// granules, with a minmax index on day (0009): it reads the runs of the
// groups' days, of every script. So runs_by_id when the groups cover at
// least as many scripts as days (an incremental pass: every script's
// latest days), runs_state otherwise (a first load's chunk: a few scripts,
// every day).
func runsTableFor(groups []transform.GroupKey) string {
	scripts := map[int64]bool{}
	days := map[transform.Day]bool{}
	for _, k := range groups {
		scripts[k.ScriptID] = true
		days[k.Day] = true
	}
	if len(scripts) >= len(days) {
		return "runs_by_id"
	}
	return "runs_state"
}

// chunkEnd returns how many of keys (sorted by script) the next chunk
// takes: whole scripts, at most limit groups unless one script has more.
func chunkEnd(keys []transform.GroupKey, limit int) int {
	n := 0
	for n < len(keys) {
		end := n
		for end < len(keys) && keys[end].ScriptID == keys[n].ScriptID {
			end++
		}
		if n > 0 && end > limit {
			return n
		}
		n = end
	}
	return n
}

func (s *Sink) linkGroups(ctx context.Context, after uint64) (journaled, settled []transform.GroupKey, err error) {
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"after": fmt.Sprint(after)}))
	rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseSelectLinkGroups)
	if err != nil {
		return nil, nil, sinkErrorf("clickhouse read groups to relink: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var script int64
		var day time.Time
		var isJournaled uint8
		if err := rows.Scan(&script, &day, &isJournaled); err != nil {
			return nil, nil, sinkErrorf("clickhouse read groups to relink: %w", err)
		}
		k := transform.GroupKey{ScriptID: script, Day: dayOf(day)}
		if isJournaled == 1 {
			journaled = append(journaled, k)
		} else {
			settled = append(settled, k)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, sinkErrorf("clickhouse read groups to relink: %w", err)
	}
	return journaled, settled, nil
}

func (s *Sink) insertLinks(ctx context.Context, read, emit []transform.GroupKey, version uint64) error {
	readTable, err := groupTable("link_read", read)
	if err != nil {
		return err
	}
	emitTable, err := groupTable("link_emit", emit)
	if err != nil {
		return err
	}
	qctx := clickhouse.Context(ctx,
		clickhouse.WithExternalTable(readTable, emitTable),
		clickhouse.WithParameters(clickhouse.Parameters{"version": fmt.Sprint(version), "runs_table": runsTableFor(read)}))
	if err := s.conn.Exec(qctx, sqlfiles.ClickHouseInsertRunLinks); err != nil {
		return sinkErrorf("clickhouse relink runs: %w", err)
	}
	return nil
}

func groupTable(name string, keys []transform.GroupKey) (*ext.Table, error) {
	table, err := ext.NewTable(name, ext.Column("script_id", "Int64"), ext.Column("day", "Date32"))
	if err != nil {
		return nil, sinkErrorf("clickhouse relink runs: %w", err)
	}
	for _, k := range keys {
		if err := table.Append(k.ScriptID, k.Day.Time()); err != nil {
			return nil, sinkErrorf("clickhouse relink runs: %w", err)
		}
	}
	return table, nil
}
