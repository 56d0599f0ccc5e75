package load

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// HealthSteps returns, per step of the scripts with an attempt in the 14
// days before asOf or after asOf, the summary of its attempts in that
// window, in (script, step) order. from is a day on or before the window's
// first (the key range read); loc is the zone of the days (flaky's "days
// with both a success and a failure").
//
// The read is the runs with steps from the window's start on
// (detect_health_runs.sql), in key order; each script's runs are put in
// series order here and their packed steps walked in place: every attempt
// goes into its step's transform.SummaryBuilder, a name or an error is
// copied only when it becomes the step's latest — nothing per attempt is
// kept or allocated.
func (s *Sink) HealthSteps(ctx context.Context, ids []int64, from transform.Day, asOf time.Time, loc *time.Location) ([]StepSummary, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	var out []StepSummary
	// The whole read is retried: it only fills out.
	err := s.retry(ctx, func() error {
		out = out[:0]
		qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
			"ids": int64List(ids), "from": from.String(),
			"win_from_us": fmt.Sprint(ceilMicro(asOf.Add(-transform.HealthWindow))),
		}))
		rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseDetectHealthRuns)
		if err != nil {
			return sinkErrorf("clickhouse read step health attempts: %w", err)
		}
		defer rows.Close()
		var (
			scriptID int64
			r        healthRun
			acc      healthAccumulator
			buf      []healthRun
		)
		asOfUS := asOf.UnixMicro()
		script := func() error {
			// Series order within the script (the read is in key order,
			// which needs no sort in ClickHouse).
			slices.SortFunc(buf, func(x, y healthRun) int {
				return cmp.Or(cmp.Compare(x.orderedAtUS, y.orderedAtUS), cmp.Compare(x.runID, y.runID))
			})
			for i := range buf {
				x := &buf[i]
				if err := acc.addRun(x.runID, x.orderedAtUS, x.failureAtUS, x.orderedAtUS > asOfUS, x.packed, loc); err != nil {
					return sinkErrorf("clickhouse read step health attempts: script %d run %d: %w", acc.script, x.runID, err)
				}
			}
			out = acc.flush(out)
			buf = buf[:0]
			return nil
		}
		for rows.Next() {
			if err := rows.Scan(&scriptID, &r.runID, &r.orderedAtUS, &r.failureAtUS, &r.packed); err != nil {
				return sinkErrorf("clickhouse read step health attempts: %w", err)
			}
			if scriptID != acc.script && len(buf) > 0 {
				if err := script(); err != nil {
					return err
				}
			}
			acc.script = scriptID
			buf = append(buf, r)
		}
		if err := rows.Err(); err != nil {
			return sinkErrorf("clickhouse read step health attempts: %w", err)
		}
		return script()
	})
	return out, err
}

// healthRun is one run of the read, kept until its script is complete.
type healthRun struct {
	runID, orderedAtUS, failureAtUS int64
	packed                          string
}

// healthAccumulator summarizes the attempts of one script's steps, run by
// run in series order.
type healthAccumulator struct {
	script int64
	steps  map[int32]*stepAccumulator
}

type stepAccumulator struct {
	b           transform.SummaryBuilder
	name        transform.NullString
	hasFailure  bool
	lastAtUS    int64 // failure time of the last failure (ordering)
	lastRun     int64
	lastError   transform.NullString
	nextAt      transform.NullTime
	anyInWindow bool
}

func (a *healthAccumulator) step(idx int32) *stepAccumulator {
	if a.steps == nil {
		a.steps = map[int32]*stepAccumulator{}
	}
	st := a.steps[idx]
	if st == nil {
		st = &stepAccumulator{}
		a.steps[idx] = st
	}
	return st
}

// addRun walks one run's packed steps (the format of encodeSteps).
func (a *healthAccumulator) addRun(runID, orderedAtUS, failureAtUS int64, later bool, b string, loc *time.Location) error {
	n, k := binary.Uvarint([]byte(b[:min(len(b), binary.MaxVarintLen64)]))
	if k <= 0 || n > uint64(len(b)) {
		return errBadSteps
	}
	at := time.UnixMicro(orderedAtUS).UTC()
	var day transform.Day
	if !later {
		day = transform.DayOf(at, loc)
	}
	pos := k
	for range n {
		idx, k := binary.Varint([]byte(b[pos:min(len(b), pos+binary.MaxVarintLen64)]))
		if k <= 0 || pos+k >= len(b) {
			return errBadSteps
		}
		pos += k
		code := b[pos]
		pos++
		name, next, err := textAt(b, pos)
		if err != nil {
			return err
		}
		pos = next
		var errText textSpan
		if code == codeFailed {
			if errText, pos, err = textAt(b, pos); err != nil {
				return err
			}
		}
		if code == codeSkipped {
			continue
		}
		st := a.step(int32(idx))
		if later {
			// It enters the window then.
			if !st.nextAt.Valid || at.Before(st.nextAt.Time) {
				st.nextAt = transform.NullTime{Time: at, Valid: true}
			}
			continue
		}
		failed := code == codeFailed
		st.b.Add(at, day, failed)
		st.anyInWindow = true
		if name.valid && (!st.name.Valid || st.name.String != b[name.from:name.to]) {
			// Runs come in series order: the last non-null name is the latest.
			st.name = transform.NullString{String: strings.Clone(b[name.from:name.to]), Valid: true}
		}
		if failed && (!st.hasFailure || failureAtUS > st.lastAtUS || (failureAtUS == st.lastAtUS && runID >= st.lastRun)) {
			st.hasFailure, st.lastAtUS, st.lastRun = true, failureAtUS, runID
			st.lastError = transform.NullString{}
			if errText.valid {
				st.lastError = transform.NullString{String: strings.Clone(b[errText.from:errText.to]), Valid: true}
			}
		}
	}
	return nil
}

// flush appends the script's steps to out, in step order, and resets.
func (a *healthAccumulator) flush(out []StepSummary) []StepSummary {
	first := len(out)
	for idx, st := range a.steps {
		sum := StepSummary{Step: SeriesKey{ScriptID: a.script, StepIndex: idx}, NextAt: st.nextAt}
		if st.anyInWindow {
			sum.Summary, sum.OldestAt = st.b.Summary()
			sum.StepName, sum.LastError = st.name, st.lastError
			if st.hasFailure {
				if t := storableTime(time.UnixMicro(st.lastAtUS)); t != nil {
					sum.LastFailureAt = transform.NullTime{Time: *t, Valid: true}
				}
			}
		} else {
			sum.Summary.FirstFailure = -1
		}
		out = append(out, sum)
	}
	slices.SortFunc(out[first:], func(x, y StepSummary) int { return cmp.Compare(x.Step.StepIndex, y.Step.StepIndex) })
	clear(a.steps)
	return out
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
