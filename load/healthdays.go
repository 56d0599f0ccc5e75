package load

import (
	"context"
	"encoding/binary"
	"errors"
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
		// The summaries are read while the groups are: two round trips at
		// once (the step health's longest wait at 4M and 10M runs).
		type stored struct {
			k   transform.GroupKey
			gv  uint64
			sum *DaySummary
		}
		var (
			summaries []stored
			sumsErr   error
		)
		sumsRead := make(chan struct{})
		go func() {
			defer close(sumsRead)
			sums, err := s.conn.Query(qctx, sqlfiles.ClickHouseDetectHealthDaySummaries)
			if err != nil {
				sumsErr = sinkErrorf("clickhouse read step health day summaries: %w", err)
				return
			}
			defer sums.Close()
			for sums.Next() {
				k, gv, sum, err := scanDaySummary(sums)
				if err != nil {
					sumsErr = sinkErrorf("clickhouse read step health day summaries: %w", err)
					return
				}
				summaries = append(summaries, stored{k, gv, sum})
			}
			if err := sums.Err(); err != nil {
				sumsErr = sinkErrorf("clickhouse read step health day summaries: %w", err)
			}
		}()
		groupsErr := func() error {
			rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseDetectHealthDays)
			if err != nil {
				return sinkErrorf("clickhouse read step health days: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				var (
					scriptID int64
					day      time.Time
					version  uint64
				)
				if err := rows.Scan(&scriptID, &day, &version); err != nil {
					return sinkErrorf("clickhouse read step health days: %w", err)
				}
				out = append(out, HealthDay{Key: transform.GroupKey{ScriptID: scriptID, Day: dayOf(day)}, GroupVersion: version})
			}
			if err := rows.Err(); err != nil {
				return sinkErrorf("clickhouse read step health days: %w", err)
			}
			return nil
		}()
		<-sumsRead
		if groupsErr != nil {
			return groupsErr
		}
		if sumsErr != nil {
			return sumsErr
		}
		at := make(map[transform.GroupKey]int, len(out))
		for i := range out {
			at[out[i].Key] = i
		}
		for _, st := range summaries {
			// Current only while it names its group's version.
			if i, ok := at[st.k]; ok && out[i].GroupVersion == st.gv {
				out[i].Summary = st.sum
			}
		}
		return nil
	})
	return out, err
}

func scanDaySummary(rows driver.Rows) (transform.GroupKey, uint64, *DaySummary, error) {
	var (
		scriptID                           int64
		day                                time.Time
		version, runs                      uint64
		firstAt, firstRun, lastAt, lastRun int64
		packed                             string
	)
	if err := rows.Scan(&scriptID, &day, &version, &runs, &firstAt, &firstRun, &lastAt, &lastRun, &packed); err != nil {
		return transform.GroupKey{}, 0, nil, err
	}
	k := transform.GroupKey{ScriptID: scriptID, Day: dayOf(day)}
	steps, err := decodeDaySteps(packed, k.Day)
	if err != nil {
		return k, 0, nil, fmt.Errorf("script %d day %s: %w", scriptID, k.Day, err)
	}
	return k, version, &DaySummary{Runs: int(runs), First: RunKey{firstAt, firstRun}, Last: RunKey{lastAt, lastRun}, Steps: steps}, nil
}

// errBadDaySteps: a stored day summary that does not decode.
var errBadDaySteps = errors.New("corrupt health_days_state.steps value")

// Flags of a packed step segment.
const (
	segFirstFailed = 1 << iota
	segLastFailed
	segHasFailure
)

// encodeDaySteps packs a day's step segments: the count, then per step
// its index (zigzag varint); executions, failures, flips, lead, trail,
// failures before the trail, first failure (uvarints); a flags byte; the
// times of the first execution, the trail's start, the first failure
// (varints, µs); the name; and with a failure its time, run id and error.
// Texts as in agg_steps (appendText: 0 for NULL, else 1, a uvarint length
// and the bytes). The day's statuses are not stored: they follow from the
// counts and the day.
func encodeDaySteps(steps []DayStep) string {
	b := binary.AppendUvarint(nil, uint64(len(steps)))
	for _, st := range steps {
		g := &st.Segment
		b = binary.AppendVarint(b, int64(st.Index))
		for _, v := range []int{g.Executions, g.Failures, g.Flips, g.Lead, g.Trail, g.FailuresBeforeTrail, g.FirstFailure} {
			b = binary.AppendUvarint(b, uint64(v))
		}
		var f byte
		if g.FirstFailed {
			f |= segFirstFailed
		}
		if g.LastFailed {
			f |= segLastFailed
		}
		if g.LastFailure.Valid {
			f |= segHasFailure
		}
		b = append(b, f)
		b = binary.AppendVarint(b, g.FirstAt.UnixMicro())
		b = binary.AppendVarint(b, g.TrailAt.UnixMicro())
		var firstFailureUS int64
		if g.Failures > 0 {
			firstFailureUS = g.FirstFailureAt.UnixMicro()
		}
		b = binary.AppendVarint(b, firstFailureUS)
		b = appendText(b, g.Name)
		if g.LastFailure.Valid {
			b = binary.AppendVarint(b, g.LastFailure.At.UnixMicro())
			b = binary.AppendVarint(b, g.LastFailure.RunID)
			b = appendText(b, g.LastFailure.Error)
		}
	}
	return string(b)
}

// dayStepReader reads encodeDaySteps' packed value, its texts too.
type dayStepReader struct{ packedReader }

func (r *dayStepReader) text() transform.NullString {
	if r.err != nil {
		return transform.NullString{}
	}
	t, next, err := textAt(r.b, r.pos)
	if err != nil {
		r.fail()
		return transform.NullString{}
	}
	r.pos = next
	if !t.valid {
		return transform.NullString{}
	}
	return transform.NullString{String: r.b[t.from:t.to], Valid: true}
}

// decodeDaySteps unpacks encodeDaySteps' value of a day.
func decodeDaySteps(b string, day transform.Day) ([]DayStep, error) {
	r := dayStepReader{packedReader{b: b, bad: errBadDaySteps}}
	n := r.uvarint()
	if r.err != nil || n > uint64(len(b)) {
		return nil, errBadDaySteps
	}
	us := func(v int64) time.Time { return time.UnixMicro(v).UTC() }
	out := make([]DayStep, n)
	for i := range out {
		idx := r.varint()
		var c [7]int
		for k := range c {
			c[k] = int(r.uvarint())
		}
		f := r.byte()
		g := transform.StepSegment{Executions: c[0], Failures: c[1], Flips: c[2], Lead: c[3], Trail: c[4],
			FailuresBeforeTrail: c[5], FirstFailure: c[6],
			FirstFailed: f&segFirstFailed != 0, LastFailed: f&segLastFailed != 0}
		g.FirstAt, g.TrailAt = us(r.varint()), us(r.varint())
		if firstFailureUS := r.varint(); g.Failures > 0 {
			g.FirstFailureAt = us(firstFailureUS)
		}
		g.Name = r.text()
		if f&segHasFailure != 0 {
			g.LastFailure = transform.FailureRef{Valid: true, At: us(r.varint()), RunID: r.varint()}
			g.LastFailure.Error = r.text()
		}
		if r.err != nil {
			return nil, r.err
		}
		if g.Executions > 0 {
			g.Days = []transform.DayStatuses{{Day: day, Success: g.Failures < g.Executions, Failure: g.Failures > 0}}
		}
		out[i] = DayStep{Index: int32(idx), Segment: g}
	}
	if r.pos != len(b) {
		return nil, errBadDaySteps
	}
	return out, nil
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
			sum := &r.Summary
			if err := batch.Append(r.Key.ScriptID, r.Key.Day.Time(), r.GroupVersion, uint64(sum.Runs),
				sum.First.OrderedAtUS, sum.First.RunID, sum.Last.OrderedAtUS, sum.Last.RunID,
				encodeDaySteps(sum.Steps), version, uint8(0)); err != nil {
				return sinkErrorf("clickhouse insert step health days: %w", err)
			}
		}
		if err := batch.Send(); err != nil {
			return sinkErrorf("clickhouse insert step health days: %w", err)
		}
		return nil
	})
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
