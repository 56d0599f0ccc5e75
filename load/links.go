package load

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// The relink's statements each read whole scripts (a script's groups are
// never split). Up to linkChunkGroups groups go in one statement. A pass
// that relinks more than linkCountGroups groups (a first load, a backfill)
// counts their runs first (select_link_group_runs.sql, one read of the key
// columns) and cuts by runs instead: up to linkChunkRuns runs, so that the
// window over them stays bounded in ClickHouse's memory whatever the
// history's size (a 10M first load cut by groups sent ~825,000 runs a
// statement; cut at 300,000 its 34 statements relinked in 67–73 s
// against 55 s for 13), and up to linkChunkMaxGroups groups (the
// statement's sets of groups). Cutting by groups alone made a first load of sparse
// scripts (5,000 scripts over 365 days, 1.5 runs a group) run 453
// statements, each paying a granule of every part for its few runs: 72 s
// of an 86 s pass (docs/performance.md, "Fourteenth round"). Below
// linkCountGroups (an incremental pass) the count would cost more than it
// saves: the groups of a day are scattered over runs_state's key.
// (Variables only so that a test can make the chunks small.)
var (
	linkChunkGroups           = 1500
	linkCountGroups           = 15_000
	linkChunkRuns      uint64 = 1_000_000
	linkChunkMaxGroups        = 200_000
)

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
	var settledRuns []uint64
	err = s.retry(ctx, func() error {
		journaled, settled, settledRuns, err = s.linkGroups(ctx, after)
		return err
	})
	if err != nil {
		return 0, err
	}
	if len(journaled) == 0 {
		return 0, nil
	}
	read, emit := transform.LinkGroups(journaled, settled)
	var readRuns []uint64
	if len(read) > linkCountGroups {
		var counted []groupRuns
		err = s.retry(ctx, func() error {
			counted, err = s.journaledRuns(ctx, after)
			return err
		})
		if err != nil {
			return 0, err
		}
		readRuns = runsOf(read, counted, settled, settledRuns)
	}
	for len(read) > 0 {
		n := chunkEnd(read, readRuns)
		last := read[n-1].ScriptID
		m := 0
		for m < len(emit) && emit[m].ScriptID <= last {
			m++
		}
		readChunk, emitChunk := read[:n], emit[:m]
		read, emit = read[n:], emit[m:]
		if readRuns != nil {
			readRuns = readRuns[n:]
		}
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
// groups' days, of every script. So runs_by_id when the groups are a few
// days of many scripts (an incremental pass: every script's latest days),
// runs_state otherwise: a first load's or a backfill's chunk holds whole
// histories, of a few scripts or of many (then it has at least as many
// scripts as days, but far more groups than scripts).
func runsTableFor(groups []transform.GroupKey) string {
	scripts := map[int64]bool{}
	days := map[transform.Day]bool{}
	for _, k := range groups {
		scripts[k.ScriptID] = true
		days[k.Day] = true
	}
	if len(scripts) >= len(days) && len(groups) < 4*len(scripts) {
		return "runs_by_id"
	}
	return "runs_state"
}

// chunkEnd returns how many of keys (sorted by script) the next chunk
// takes: whole scripts, at most linkChunkGroups groups when runs is nil,
// else (runs[i] the runs of keys[i]) at most linkChunkRuns runs and
// linkChunkMaxGroups groups; a script that alone exceeds them is a chunk
// of its own.
func chunkEnd(keys []transform.GroupKey, runs []uint64) int {
	maxGroups, maxRuns := linkChunkGroups, uint64(math.MaxUint64)
	if runs != nil {
		maxGroups, maxRuns = linkChunkMaxGroups, linkChunkRuns
	}
	n, total := 0, uint64(0)
	for n < len(keys) {
		end, scriptRuns := n, uint64(0)
		for end < len(keys) && keys[end].ScriptID == keys[n].ScriptID {
			if runs != nil {
				scriptRuns += runs[end]
			}
			end++
		}
		if n > 0 && (end > maxGroups || total+scriptRuns > maxRuns) {
			return n
		}
		n, total = end, total+scriptRuns
	}
	return n
}

// groupRuns is a group and an estimate of its runs.
type groupRuns struct {
	key  transform.GroupKey
	runs uint64
}

// runsOf aligns the runs of each group of read (sorted by script, day):
// counted for the journaled groups (sorted), settledRuns for the settled
// ones (settledRuns[i] those of settled[i]); a group in neither counts 0.
func runsOf(read []transform.GroupKey, counted []groupRuns, settled []transform.GroupKey, settledRuns []uint64) []uint64 {
	known := make([]groupRuns, len(settled))
	for i, k := range settled {
		known[i] = groupRuns{key: k, runs: settledRuns[i]}
	}
	slices.SortFunc(known, func(a, b groupRuns) int { return transform.CompareGroupKeys(a.key, b.key) })
	out := make([]uint64, len(read))
	c, k := 0, 0
	for i, g := range read {
		for c < len(counted) && transform.CompareGroupKeys(counted[c].key, g) < 0 {
			c++
		}
		for k < len(known) && transform.CompareGroupKeys(known[k].key, g) < 0 {
			k++
		}
		switch {
		case c < len(counted) && counted[c].key == g:
			out[i] = counted[c].runs
		case k < len(known) && known[k].key == g:
			out[i] = known[k].runs
		}
	}
	return out
}

// journaledRuns counts the rows of runs_state in each group journaled
// after the pass `after`, in group order.
func (s *Sink) journaledRuns(ctx context.Context, after uint64) ([]groupRuns, error) {
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"after": fmt.Sprint(after)}))
	rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseSelectLinkGroupRuns)
	if err != nil {
		return nil, sinkErrorf("clickhouse count the runs to relink: %w", err)
	}
	defer rows.Close()
	var out []groupRuns
	for rows.Next() {
		var script int64
		var day time.Time
		var runs uint64
		if err := rows.Scan(&script, &day, &runs); err != nil {
			return nil, sinkErrorf("clickhouse count the runs to relink: %w", err)
		}
		out = append(out, groupRuns{key: transform.GroupKey{ScriptID: script, Day: dayOf(day)}, runs: runs})
	}
	if err := rows.Err(); err != nil {
		return nil, sinkErrorf("clickhouse count the runs to relink: %w", err)
	}
	return out, nil
}

func (s *Sink) linkGroups(ctx context.Context, after uint64) (journaled, settled []transform.GroupKey, settledRuns []uint64, err error) {
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"after": fmt.Sprint(after)}))
	rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseSelectLinkGroups)
	if err != nil {
		return nil, nil, nil, sinkErrorf("clickhouse read groups to relink: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var script int64
		var day time.Time
		var isJournaled uint8
		var runs uint64
		if err := rows.Scan(&script, &day, &isJournaled, &runs); err != nil {
			return nil, nil, nil, sinkErrorf("clickhouse read groups to relink: %w", err)
		}
		k := transform.GroupKey{ScriptID: script, Day: dayOf(day)}
		if isJournaled == 1 {
			journaled = append(journaled, k)
		} else {
			settled = append(settled, k)
			settledRuns = append(settledRuns, runs)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, sinkErrorf("clickhouse read groups to relink: %w", err)
	}
	return journaled, settled, settledRuns, nil
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
