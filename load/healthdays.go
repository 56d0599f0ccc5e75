package load

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// Step health from per-day summaries (0014_health_days.sql;
// docs/detection.md): the job reads the live groups of the window with
// their current summaries (HealthDays), the runs of the days it cannot
// take from a summary (HealthDayRuns), and writes the summaries it
// recomputed (WriteHealthDays). schedules/detect_health.go composes them.

// DaySummary is what a (script, day) group's counted runs with steps give
// step health: per step, the segment of its executions that day in series
// order, and the first and last of those runs (Runs > 0).
type DaySummary struct {
	Runs        int
	First, Last RunKey
	Steps       []DayStep // by step index
}

// DayStep is one step's segment in a DaySummary.
type DayStep struct {
	Index   int32
	Segment transform.StepSegment
}

// HealthDay is a live group of the window and its summary when one was
// computed against the group's current version (nil: missing or stale).
type HealthDay struct {
	Key          transform.GroupKey
	GroupVersion uint64
	Summary      *DaySummary
}

// HealthDays returns the live groups of the scripts from day from on, in
// (script, day) order, each with its current summary if there is one.
func (s *Sink) HealthDays(ctx context.Context, ids []int64, from transform.Day) ([]HealthDay, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []HealthDay
	err := s.retry(ctx, func() error {
		out = out[:0]
		qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
			"ids": int64List(ids), "from": from.String(),
		}))
		rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseDetectHealthDays)
		if err != nil {
			return sinkErrorf("clickhouse read step health days: %w", err)
		}
		defer rows.Close()
		at := map[transform.GroupKey]int{}
		for rows.Next() {
			var (
				scriptID int64
				day      time.Time
				version  uint64
			)
			if err := rows.Scan(&scriptID, &day, &version); err != nil {
				return sinkErrorf("clickhouse read step health days: %w", err)
			}
			k := transform.GroupKey{ScriptID: scriptID, Day: dayOf(day)}
			at[k] = len(out)
			out = append(out, HealthDay{Key: k, GroupVersion: version})
		}
		if err := rows.Err(); err != nil {
			return sinkErrorf("clickhouse read step health days: %w", err)
		}
		sums, err := s.conn.Query(qctx, sqlfiles.ClickHouseDetectHealthDaySummaries)
		if err != nil {
			return sinkErrorf("clickhouse read step health day summaries: %w", err)
		}
		defer sums.Close()
		for sums.Next() {
			k, gv, sum, err := scanDaySummary(sums)
			if err != nil {
				return sinkErrorf("clickhouse read step health day summaries: %w", err)
			}
			// Current only while it names its group's version.
			if i, ok := at[k]; ok && out[i].GroupVersion == gv {
				out[i].Summary = sum
			}
		}
		if err := sums.Err(); err != nil {
			return sinkErrorf("clickhouse read step health day summaries: %w", err)
		}
		return nil
	})
	return out, err
}

func scanDaySummary(rows driver.Rows) (transform.GroupKey, uint64, *DaySummary, error) {
	var (
		scriptID                                  int64
		day                                       time.Time
		version                                   uint64
		runs                                      uint64
		firstAt, firstRun, lastAt, lastRun        int64
		idx                                       []int32
		execs, fails, flips, lead, trail, before  []uint32
		firstFailure                              []uint32
		firstAtS, trailAt, firstFailureAt, lastFA []int64
		lastRunS                                  []int64
		firstFailed, lastFailed                   []uint8
		names, errs                               []*string
	)
	if err := rows.Scan(&scriptID, &day, &version, &runs, &firstAt, &firstRun, &lastAt, &lastRun,
		&idx, &execs, &fails, &flips, &firstAtS, &firstFailed, &lead, &lastFailed, &trail, &trailAt,
		&before, &firstFailure, &firstFailureAt, &names, &lastFA, &lastRunS, &errs); err != nil {
		return transform.GroupKey{}, 0, nil, err
	}
	k := transform.GroupKey{ScriptID: scriptID, Day: dayOf(day)}
	n := len(idx)
	for _, l := range []int{len(execs), len(fails), len(flips), len(firstAtS), len(firstFailed), len(lead), len(lastFailed),
		len(trail), len(trailAt), len(before), len(firstFailure), len(firstFailureAt), len(names), len(lastFA), len(lastRunS), len(errs)} {
		if l != n {
			return k, 0, nil, fmt.Errorf("script %d day %s: step arrays of different lengths", scriptID, k.Day)
		}
	}
	sum := &DaySummary{Runs: int(runs), First: RunKey{firstAt, firstRun}, Last: RunKey{lastAt, lastRun}, Steps: make([]DayStep, n)}
	us := func(v int64) time.Time { return time.UnixMicro(v).UTC() }
	for i := range n {
		seg := transform.StepSegment{
			Executions: int(execs[i]), Failures: int(fails[i]), Flips: int(flips[i]),
			FirstAt: us(firstAtS[i]), FirstFailed: firstFailed[i] != 0, Lead: int(lead[i]),
			LastFailed: lastFailed[i] != 0, Trail: int(trail[i]), TrailAt: us(trailAt[i]),
			FailuresBeforeTrail: int(before[i]), Name: nullStr(names[i]),
		}
		if seg.Failures > 0 {
			seg.FirstFailure, seg.FirstFailureAt = int(firstFailure[i]), us(firstFailureAt[i])
			seg.LastFailure = transform.FailureRef{Valid: true, At: us(lastFA[i]), RunID: lastRunS[i], Error: nullStr(errs[i])}
		}
		if seg.Executions > 0 {
			seg.Days = []transform.DayStatuses{{Day: k.Day, Success: seg.Failures < seg.Executions, Failure: seg.Failures > 0}}
		}
		sum.Steps[i] = DayStep{Index: idx[i], Segment: seg}
	}
	return k, version, sum, nil
}

func nullStr(p *string) transform.NullString {
	if p == nil {
		return transform.NullString{}
	}
	return transform.NullString{String: *p, Valid: true}
}

// healthRunRow is one stored version of a run (detect_health_day_runs.sql).
type healthRunRow struct {
	scriptID, runID, atUS, failUS int64
	day                           time.Time
	version                       uint64
	deleted, unfinished, hasSteps uint8
	packed                        string
}

// HealthRun is one counted run with steps, as step health reads it: its
// series key, failure time, and its attempts (skipped steps left out), in
// the run's step order.
type HealthRun struct {
	Key         RunKey
	FailureAtUS int64
	Attempts    []HealthAttempt
}

// HealthAttempt is one non-skipped step of a run.
type HealthAttempt struct {
	Index  int32
	Failed bool
	Name   transform.NullString
	Error  transform.NullString // of a failed step
}

// HealthDayFunc receives the runs of one group, in run id order; the
// slice is not reused.
type HealthDayFunc func(key transform.GroupKey, runs []HealthRun) error

// HealthDayRuns streams, group by group in (script, day) order, the
// counted runs with steps of the groups days. A group without such runs is
// not handed over. The read is of every date of days for every script of
// days (few dates: normally today and the window's first day); the runs
// of groups not asked for are skipped here.
func (s *Sink) HealthDayRuns(ctx context.Context, days []transform.GroupKey, fn HealthDayFunc) error {
	if len(days) == 0 {
		return nil
	}
	want := make(map[transform.GroupKey]bool, len(days))
	var ids []int64
	var dates []transform.Day
	seenID, seenDay := map[int64]bool{}, map[transform.Day]bool{}
	for _, k := range days {
		want[k] = true
		if !seenID[k.ScriptID] {
			seenID[k.ScriptID] = true
			ids = append(ids, k.ScriptID)
		}
		if !seenDay[k.Day] {
			seenDay[k.Day] = true
			dates = append(dates, k.Day)
		}
	}
	var dl strings.Builder
	dl.WriteByte('[')
	for i, d := range dates {
		if i > 0 {
			dl.WriteByte(',')
		}
		fmt.Fprintf(&dl, "'%s'", d)
	}
	dl.WriteByte(']')
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
		"ids": int64List(ids), "days": dl.String(),
	}))
	// Only the start of the query is retried: once groups have been handed
	// to fn, a retry would hand them again.
	var rows driver.Rows
	err := s.retry(ctx, func() (err error) {
		rows, err = s.conn.Query(qctx, sqlfiles.ClickHouseDetectHealthDayRuns)
		return err
	})
	if err != nil {
		return sinkErrorf("clickhouse read step health runs: %w", err)
	}
	defer rows.Close()
	var (
		cur  transform.GroupKey
		have bool
		runs []HealthRun
		row  healthRunRow
		last healthRunRow // the greatest version so far of the current run
		open bool
	)
	// keep adds the run of last to its group when FINAL would show it and
	// it counts: not a tombstone, finished, with steps.
	keep := func() error {
		if !open || last.deleted != 0 || last.unfinished != 0 || last.hasSteps == 0 {
			return nil
		}
		key := transform.GroupKey{ScriptID: last.scriptID, Day: dayOf(last.day)}
		if !want[key] {
			return nil // a date asked for another script
		}
		if have && key != cur {
			if err := fn(cur, runs); err != nil {
				return err
			}
			runs = nil
		}
		cur, have = key, true
		attempts, err := decodeHealthAttempts(last.packed)
		if err != nil {
			return sinkErrorf("clickhouse read step health runs: script %d run %d: %w", last.scriptID, last.runID, err)
		}
		runs = append(runs, HealthRun{Key: RunKey{last.atUS, last.runID}, FailureAtUS: last.failUS, Attempts: attempts})
		return nil
	}
	for rows.Next() {
		if err := rows.Scan(&row.scriptID, &row.day, &row.runID, &row.version, &row.deleted, &row.unfinished,
			&row.hasSteps, &row.atUS, &row.failUS, &row.packed); err != nil {
			return sinkErrorf("clickhouse read step health runs: %w", err)
		}
		// Rows come in (script, day, run, version) order: the last of a
		// key is the one FINAL keeps.
		if open && (row.scriptID != last.scriptID || !row.day.Equal(last.day) || row.runID != last.runID) {
			if err := keep(); err != nil {
				return err
			}
		}
		last, open = row, true
	}
	if err := keep(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return sinkErrorf("clickhouse read step health runs: %w", err)
	}
	if have {
		return fn(cur, runs)
	}
	return nil
}

// decodeHealthAttempts walks a run's packed steps (encodeSteps' format),
// keeping the non-skipped ones.
func decodeHealthAttempts(b string) ([]HealthAttempt, error) {
	n, k := binary.Uvarint([]byte(b[:min(len(b), binary.MaxVarintLen64)]))
	if k <= 0 || n > uint64(len(b)) {
		return nil, errBadSteps
	}
	out := make([]HealthAttempt, 0, n)
	pos := k
	for range n {
		idx, k := binary.Varint([]byte(b[pos:min(len(b), pos+binary.MaxVarintLen64)]))
		if k <= 0 || pos+k >= len(b) {
			return nil, errBadSteps
		}
		pos += k
		code := b[pos]
		pos++
		name, next, err := textAt(b, pos)
		if err != nil {
			return nil, err
		}
		pos = next
		var errText textSpan
		if code == codeFailed {
			if errText, pos, err = textAt(b, pos); err != nil {
				return nil, err
			}
		}
		if code == codeSkipped {
			continue
		}
		a := HealthAttempt{Index: int32(idx), Failed: code == codeFailed}
		if name.valid {
			a.Name = transform.NullString{String: b[name.from:name.to], Valid: true}
		}
		if errText.valid {
			a.Error = transform.NullString{String: b[errText.from:errText.to], Valid: true}
		}
		out = append(out, a)
	}
	return out, nil
}

// HealthDayRow is a summary to store, computed against GroupVersion.
type HealthDayRow struct {
	Key          transform.GroupKey
	GroupVersion uint64
	Summary      DaySummary
}

// WriteHealthDays stores recomputed day summaries.
func (s *Sink) WriteHealthDays(ctx context.Context, rows []HealthDayRow, version uint64) error {
	if len(rows) == 0 {
		return nil
	}
	return s.retry(ctx, func() error {
		batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertHealthDays)
		if err != nil {
			return sinkErrorf("clickhouse insert step health days: %w", err)
		}
		defer batch.Abort()
		for i := range rows {
			r := &rows[i]
			n := len(r.Summary.Steps)
			idx := make([]int32, n)
			execs, fails, flips, lead, trail, before, firstFailure := make([]uint32, n), make([]uint32, n), make([]uint32, n),
				make([]uint32, n), make([]uint32, n), make([]uint32, n), make([]uint32, n)
			firstAt, trailAt, firstFailureAt, lastFA, lastRun := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
			firstFailed, lastFailed := make([]uint8, n), make([]uint8, n)
			names, errs := make([]*string, n), make([]*string, n)
			for j, st := range r.Summary.Steps {
				g := &st.Segment
				idx[j] = st.Index
				execs[j], fails[j], flips[j] = uint32(g.Executions), uint32(g.Failures), uint32(g.Flips)
				firstAt[j], firstFailed[j], lead[j] = g.FirstAt.UnixMicro(), b2u(g.FirstFailed), uint32(g.Lead)
				lastFailed[j], trail[j], trailAt[j], before[j] = b2u(g.LastFailed), uint32(g.Trail), g.TrailAt.UnixMicro(), uint32(g.FailuresBeforeTrail)
				if g.Failures > 0 {
					firstFailure[j], firstFailureAt[j] = uint32(g.FirstFailure), g.FirstFailureAt.UnixMicro()
					lastFA[j], lastRun[j], errs[j] = g.LastFailure.At.UnixMicro(), g.LastFailure.RunID, strPtr(g.LastFailure.Error)
				}
				names[j] = strPtr(g.Name)
			}
			sum := &r.Summary
			if err := batch.Append(r.Key.ScriptID, r.Key.Day.Time(), r.GroupVersion, uint64(sum.Runs),
				sum.First.OrderedAtUS, sum.First.RunID, sum.Last.OrderedAtUS, sum.Last.RunID,
				idx, execs, fails, flips, firstAt, firstFailed, lead, lastFailed, trail, trailAt,
				before, firstFailure, firstFailureAt, names, lastFA, lastRun, errs, version, uint8(0)); err != nil {
				return sinkErrorf("clickhouse insert step health days: %w", err)
			}
		}
		if err := batch.Send(); err != nil {
			return sinkErrorf("clickhouse insert step health days: %w", err)
		}
		return nil
	})
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// textSpan is where a text of a packed value is: b[from:to], or NULL.
type textSpan struct {
	from, to int
	valid    bool
}

func textAt(b string, pos int) (textSpan, int, error) {
	if pos >= len(b) {
		return textSpan{}, pos, errBadSteps
	}
	if b[pos] == 0 {
		return textSpan{}, pos + 1, nil
	}
	pos++
	l, k := binary.Uvarint([]byte(b[pos:min(len(b), pos+binary.MaxVarintLen64)]))
	if k <= 0 || uint64(len(b)-pos-k) < l {
		return textSpan{}, pos, errBadSteps
	}
	pos += k
	return textSpan{from: pos, to: pos + int(l), valid: true}, pos + int(l), nil
}
