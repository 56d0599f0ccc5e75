package load

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// Group is the recomputed state of one (script, day) group: its
// script_daily row (when it has a counted run) and its step_daily rows.
type Group struct {
	Key    transform.GroupKey
	HasDay bool
	Day    transform.ScriptDay
	Steps  []transform.StepDay
}

// JournalGroups records groups the pass with this version is about to
// change. It must land before the runs that change them.
func (s *Sink) JournalGroups(ctx context.Context, keys []transform.GroupKey, version uint64) error {
	return s.retry(ctx, func() error { return s.journalGroups(ctx, keys, version) })
}

func (s *Sink) journalGroups(ctx context.Context, keys []transform.GroupKey, version uint64) error {
	if len(keys) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertPendingGroups)
	if err != nil {
		return sinkErrorf("clickhouse journal groups: %w", err)
	}
	defer batch.Abort()
	for _, k := range keys {
		if err := batch.Append(version, k.ScriptID, k.Day.Time()); err != nil {
			return sinkErrorf("clickhouse journal groups: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return sinkErrorf("clickhouse journal groups: %w", err)
	}
	return nil
}

// JournalGroupsOfDays journals every stored group of the days [from, to].
func (s *Sink) JournalGroupsOfDays(ctx context.Context, from, to transform.Day, version uint64) error {
	return s.retry(ctx, func() error { return s.journalGroupsOfDays(ctx, from, to, version) })
}

func (s *Sink) journalGroupsOfDays(ctx context.Context, from, to transform.Day, version uint64) error {
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
		"from":    from.String(),
		"to":      to.String(),
		"version": fmt.Sprint(version),
	}))
	if err := s.conn.Exec(qctx, sqlfiles.ClickHouseInsertPendingFromGroups); err != nil {
		return sinkErrorf("clickhouse journal groups of days: %w", err)
	}
	return nil
}

// GroupFunc receives the stored runs of one journaled group, in run id
// order (none when every run left it). The slice is reused afterwards.
type GroupFunc func(key transform.GroupKey, runs []transform.Run) error

// PendingGroups streams, group by group, the runs of every group journaled
// by passes with a version above after. Only one group is held at a time.
func (s *Sink) PendingGroups(ctx context.Context, after uint64, fn GroupFunc) (groups int, err error) {
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
		"after": fmt.Sprint(after),
	}))
	// Only the start of the query is retried: once groups have been handed
	// to fn, a retry would hand them again.
	var rows driver.Rows
	err = s.retry(ctx, func() (err error) {
		rows, err = s.conn.Query(qctx, sqlfiles.ClickHouseSelectGroupRuns)
		return err
	})
	if err != nil {
		return 0, sinkErrorf("clickhouse read groups: %w", err)
	}
	defer rows.Close()
	var (
		cur     transform.GroupKey
		have    bool
		runs    []transform.Run
		scanned groupRunRow
		dec     stepDecoder
	)
	flush := func() error {
		if !have {
			return nil
		}
		groups++
		return fn(cur, runs)
	}
	for rows.Next() {
		if err := scanned.scan(rows); err != nil {
			return groups, sinkErrorf("clickhouse read groups: %w", err)
		}
		key := transform.GroupKey{ScriptID: scanned.scriptID, Day: dayOf(scanned.day)}
		if !have || key != cur {
			if err := flush(); err != nil {
				return groups, err
			}
			cur, have = key, true
			runs = runs[:0]
		}
		if scanned.hasRun != 0 {
			run, err := scanned.run(key, &dec)
			if err != nil {
				return groups, sinkErrorf("clickhouse read groups: %w", err)
			}
			runs = append(runs, run)
		}
	}
	if err := rows.Err(); err != nil {
		return groups, sinkErrorf("clickhouse read groups: %w", err)
	}
	return groups, flush()
}

// groupRunRow is one row of select_group_runs. No column is a pointer
// (a pointer destination costs the driver an allocation per row): NULL
// comes as a stand-in no stored value takes (noTime, NaN).
type groupRunRow struct {
	scriptID   int64
	day        time.Time
	hasRun     uint8 // 0: a group without runs (the other columns are defaults)
	runID      int64
	class      string
	orderedAt  int64
	createdAt  int64
	failureAt  int64
	startedAt  int64 // microseconds; noTime for NULL
	finishedAt int64
	duration   float64 // NaN for NULL
	aggSteps   string
}

// noTime stands for a NULL time in select_group_runs (math.MinInt64
// microseconds, far outside the storable times).
const noTime = math.MinInt64

func (g *groupRunRow) scan(rows interface{ Scan(...any) error }) error {
	return rows.Scan(&g.scriptID, &g.day, &g.hasRun, &g.runID, &g.class, &g.orderedAt, &g.createdAt, &g.failureAt,
		&g.startedAt, &g.finishedAt, &g.duration, &g.aggSteps)
}

// microTime is a time read as microseconds, noTime for NULL.
func microTime(us int64) transform.NullTime {
	if us == noTime {
		return transform.NullTime{}
	}
	return transform.NullTime{Time: time.UnixMicro(us).UTC(), Valid: true}
}

var classByName = map[string]transform.StatusClass{
	"unfinished": transform.StatusUnfinished,
	"success":    transform.StatusSuccess,
	"failed":     transform.StatusFailed,
	"timeout":    transform.StatusTimeout,
	"cancelled":  transform.StatusCancelled,
	"other":      transform.StatusOther,
}

func (g *groupRunRow) run(key transform.GroupKey, dec *stepDecoder) (transform.Run, error) {
	r := transform.Run{
		ID:         g.runID,
		ScriptID:   key.ScriptID,
		Day:        key.Day,
		Class:      classByName[g.class],
		OrderedAt:  time.UnixMicro(g.orderedAt).UTC(),
		CreatedAt:  time.UnixMicro(g.createdAt).UTC(),
		StartedAt:  microTime(g.startedAt),
		FinishedAt: microTime(g.finishedAt),
		Duration:   transform.NullFloat{Float64: g.duration, Valid: !math.IsNaN(g.duration)},
		FailureAt:  time.UnixMicro(g.failureAt).UTC(),
	}
	if g.aggSteps != "" {
		steps, err := dec.decodeKept(g.aggSteps)
		if err != nil {
			return r, fmt.Errorf("run %d: %w", r.ID, err)
		}
		r.Steps = steps
	}
	return r, nil
}

// WriteGroups upserts recomputed groups; a group without a counted run is
// written as a tombstone so that it disappears from the views.
func (s *Sink) WriteGroups(ctx context.Context, groups []Group, version uint64) error {
	return s.retry(ctx, func() error { return s.writeGroups(ctx, groups, version) })
}

// ownConnGroups: a batch of at least this many groups (a first load's, a
// backfill's: up to groupBatch, 10,000) is sent on a connection of its own,
// closed once the INSERT has ended. The driver keeps a connection's encode
// and compress buffers as long as the connection lives: in the shared pool
// those of two 10,000-group batches (~51 MB) stayed through the change
// points of a first load, where a 10M first load peaked
// (docs/performance.md, "Thirteenth round"). An incremental pass's few
// hundred groups use the pool (a connection costs a round trip).
const ownConnGroups = 1000

// groupsFlush: a batch's groups are sent in blocks of this many (the
// driver's Flush), within its one INSERT — ClickHouse squashes the blocks
// of an INSERT before it writes parts, so the parts are those of one
// block, while the driver's column, encode and compress buffers hold
// 1,000 groups, not the batch's 10,000: encoding a whole batch at its
// Send was the largest spike of a 10M first load's memory (Thirteenth
// round).
const groupsFlush = 1000

func (s *Sink) writeGroups(ctx context.Context, groups []Group, version uint64) error {
	if len(groups) == 0 {
		return nil
	}
	conn := s.conn
	if len(groups) >= ownConnGroups {
		own, err := connect(ctx, s.opts)
		if err != nil {
			return err
		}
		defer own.Close()
		conn = own
	}
	batch, err := conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertGroups)
	if err != nil {
		return sinkErrorf("clickhouse insert groups: %w", err)
	}
	defer batch.Abort()
	for i := range groups {
		g := &groups[i]
		d := &g.Day
		n := len(g.Steps)
		idx := make([]int32, n)
		names := make([]*string, n)
		attempts := make([]uint64, n)
		failures := make([]uint64, n)
		rates := make([]float64, n)
		lastAt := make([]*time.Time, n)
		lastErr := make([]*string, n)
		for j := range g.Steps {
			st := &g.Steps[j]
			idx[j] = st.StepIndex
			names[j] = strPtr(st.StepName)
			attempts[j] = st.Attempts
			failures[j] = st.Failures
			rates[j] = st.FailureRate
			lastAt[j] = timePtr(st.LastFailureAt)
			lastErr[j] = strPtr(st.LastError)
		}
		deleted := uint8(0)
		if !g.HasDay {
			deleted = 1
		}
		err := batch.Append(
			g.Key.ScriptID, g.Key.Day.Time(),
			d.Total, d.Success, d.Failed, d.Timeout, d.Cancelled, d.Other, d.SuccessRate,
			d.DurationCount, d.InvalidDuration,
			floatPtr(d.DurationAvg), floatPtr(d.DurationMin), floatPtr(d.DurationMax),
			floatPtr(d.DurationP50), floatPtr(d.DurationP90), floatPtr(d.DurationP95), floatPtr(d.DurationP99),
			floatPtr(d.SuccessDurationAvg), floatPtr(d.SuccessDurationP50), floatPtr(d.SuccessDurationP95),
			idx, names, attempts, failures, rates, lastAt, lastErr,
			version, deleted,
		)
		if err != nil {
			return sinkErrorf("clickhouse insert groups: %w", err)
		}
		if (i+1)%groupsFlush == 0 && i+1 < len(groups) {
			if err := batch.Flush(); err != nil {
				return sinkErrorf("clickhouse insert groups: %w", err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		return sinkErrorf("clickhouse insert groups: %w", err)
	}
	return nil
}

// StaleRuns returns the stored runs of days [from, to] that the pass with
// this version did not rewrite.
func (s *Sink) StaleRuns(ctx context.Context, from, to transform.Day, version uint64) ([]Location, error) {
	return retryValue(ctx, s, func() ([]Location, error) { return s.staleRuns(ctx, from, to, version) })
}

func (s *Sink) staleRuns(ctx context.Context, from, to transform.Day, version uint64) ([]Location, error) {
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
		"from":    from.String(),
		"to":      to.String(),
		"version": fmt.Sprint(version),
	}))
	rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseSelectStaleRuns)
	if err != nil {
		return nil, sinkErrorf("clickhouse read stale runs: %w", err)
	}
	defer rows.Close()
	var out []Location
	for rows.Next() {
		var id, script int64
		var day time.Time
		if err := rows.Scan(&id, &script, &day); err != nil {
			return nil, sinkErrorf("clickhouse read stale runs: %w", err)
		}
		out = append(out, Location{RunID: id, Key: transform.GroupKey{ScriptID: script, Day: dayOf(day)}})
	}
	if err := rows.Err(); err != nil {
		return nil, sinkErrorf("clickhouse read stale runs: %w", err)
	}
	return out, nil
}
