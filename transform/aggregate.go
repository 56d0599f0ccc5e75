package transform

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Aggregator computes the daily aggregates of groups, reusing its buffers
// from one group to the next. The zero value is ready to use; an Aggregator
// must not be used by two goroutines at once.
type Aggregator struct {
	all      []float64  // valid durations of counted runs
	success  []float64  // valid durations of counted success runs
	attempts []attempt  // step attempts of counted runs
	dense    []stepAcct // per step index, when indexes are dense
}

// attempt locates one step attempt: runs[run].Steps[step].
type attempt struct {
	index int32
	run   int32
	step  int32
}

// stepAcct accumulates the step_daily row of one step index.
type stepAcct struct {
	attempts, failures uint64
	hasName, hasFail   bool
	name, fail         attempt // the attempts giving step_name and last_failure_at
}

// Aggregate computes the script_daily row and the step_daily rows of one
// script × day group, exactly per contract section 2. It allocates fresh
// buffers; use an Aggregator to reuse them across groups.
func Aggregate(runs []Run) (day ScriptDay, hasDay bool, steps []StepDay) {
	var a Aggregator
	return a.Aggregate(runs)
}

// Aggregate computes the script_daily row and the step_daily rows of one
// script × day group. All runs must share one GroupKey: a run of another
// group is a bug of the caller, and Aggregate panics rather than return
// numbers mixed from two groups.
//
// Only counted runs (finished: Class != StatusUnfinished) count; hasDay is
// false, and steps empty, when there is none. A run whose Duration is
// Valid but NaN, infinite or negative (not something Normalize makes) is
// counted as an invalid duration, as the contract defines.
//
// The returned steps, sorted by StepIndex, have one row per step index with
// at least one attempt (a success or failed step of a counted run):
//   - StepName is the Name of the latest attempt with a non-null Name, latest
//     meaning greatest run OrderedAt, then run ID, then position in the run's
//     steps (duplicate indexes in one run: the last in array order wins).
//   - LastFailureAt is the greatest FinishedOrLatest over failed attempts
//     (the source's coalesce(finished_at, started_at, created_at), +infinity
//     the greatest) and LastError the Error of that attempt; ties go to the
//     greatest run ID, then to the last in array order. Both NULL without a
//     failure; LastFailureAt also NULL when that time is outside what
//     ClickHouse stores (see Storable).
func (a *Aggregator) Aggregate(runs []Run) (day ScriptDay, hasDay bool, steps []StepDay) {
	if len(runs) == 0 {
		return day, false, nil
	}
	key := runs[0].Key()
	if len(runs) > math.MaxInt32 {
		panic("transform: group too large")
	}
	nSteps := 0
	for ri := range runs {
		nSteps += len(runs[ri].Steps)
	}
	// Sized once up front: no growth while collecting.
	a.all = slices.Grow(a.all[:0], len(runs))
	a.success = slices.Grow(a.success[:0], len(runs))
	a.attempts = slices.Grow(a.attempts[:0], nSteps)
	for ri := range runs {
		r := &runs[ri]
		if r.Key() != key {
			panic(fmt.Sprintf("transform: Aggregate: run %d is in group %v, not %v", r.ID, r.Key(), key))
		}
		if !r.Counted() {
			continue
		}
		day.Total++
		switch r.Class {
		case StatusSuccess:
			day.Success++
		case StatusFailed:
			day.Failed++
		case StatusTimeout:
			day.Timeout++
		case StatusCancelled:
			day.Cancelled++
		default:
			day.Other++
		}
		if d := r.Duration; d.Valid && d.Float64 >= 0 && !math.IsInf(d.Float64, 1) {
			// (NaN fails d >= 0.) -0 becomes 0, as Normalize does.
			f := d.Float64
			if f == 0 {
				f = 0
			}
			a.all = append(a.all, f)
			if r.Class == StatusSuccess {
				a.success = append(a.success, f)
			}
		} else {
			day.InvalidDuration++
		}
		for si := range r.Steps {
			if st := r.Steps[si].Status; st == StepSuccess || st == StepFailed {
				a.attempts = append(a.attempts, attempt{index: r.Steps[si].Index, run: int32(ri), step: int32(si)})
			}
		}
	}
	if day.Total == 0 {
		return ScriptDay{}, false, nil
	}

	day.ScriptID, day.Day = key.ScriptID, key.Day
	day.SuccessRate = float64(day.Success) / float64(day.Total)
	day.DurationCount = uint64(len(a.all))
	slices.Sort(a.all)
	slices.Sort(a.success)
	all := statsOf(a.all)
	day.DurationAvg, day.DurationMin, day.DurationMax = all.avg, all.min, all.max
	day.DurationP50, day.DurationP90, day.DurationP95, day.DurationP99 = all.p50, all.p90, all.p95, all.p99
	succ := statsOf(a.success)
	day.SuccessDurationAvg, day.SuccessDurationP50, day.SuccessDurationP95 = succ.avg, succ.p50, succ.p95

	return day, true, a.stepRows(runs, key)
}

// stepRows groups the attempts by step index. Step indexes are usually
// 0..k, so they index a dense table directly; scattered indexes (huge or
// negative ones) are sorted instead.
func (a *Aggregator) stepRows(runs []Run, key GroupKey) []StepDay {
	if len(a.attempts) == 0 {
		return nil
	}
	lo, hi := a.attempts[0].index, a.attempts[0].index
	for _, at := range a.attempts {
		lo, hi = min(lo, at.index), max(hi, at.index)
	}
	var out []StepDay
	if span := int64(hi) - int64(lo) + 1; span <= 2*int64(len(a.attempts))+64 {
		a.dense = slices.Grow(a.dense[:0], int(span))[:span]
		clear(a.dense)
		for _, at := range a.attempts {
			a.dense[at.index-lo].add(runs, at)
		}
		n := 0
		for i := range a.dense {
			if a.dense[i].attempts > 0 {
				n++
			}
		}
		out = make([]StepDay, 0, n)
		for i := range a.dense {
			if a.dense[i].attempts > 0 {
				out = append(out, a.dense[i].row(runs, key, lo+int32(i)))
			}
		}
		return out
	}

	slices.SortFunc(a.attempts, func(x, y attempt) int { return cmp.Compare(x.index, y.index) })
	for i := 0; i < len(a.attempts); {
		j := i
		var acct stepAcct
		for ; j < len(a.attempts) && a.attempts[j].index == a.attempts[i].index; j++ {
			acct.add(runs, a.attempts[j])
		}
		out = append(out, acct.row(runs, key, a.attempts[i].index))
		i = j
	}
	return out
}

func (s *stepAcct) add(runs []Run, at attempt) {
	s.attempts++
	st := &runs[at.run].Steps[at.step]
	if st.Name.Valid && (!s.hasName || laterName(runs, at, s.name)) {
		s.hasName, s.name = true, at
	}
	if st.Status == StepFailed {
		s.failures++
		if !s.hasFail || laterFailure(runs, at, s.fail) {
			s.hasFail, s.fail = true, at
		}
	}
}

func (s *stepAcct) row(runs []Run, key GroupKey, index int32) StepDay {
	row := StepDay{
		ScriptID:    key.ScriptID,
		StepIndex:   index,
		Day:         key.Day,
		Attempts:    s.attempts,
		Failures:    s.failures,
		FailureRate: float64(s.failures) / float64(s.attempts),
	}
	if s.hasName {
		row.StepName = runs[s.name.run].Steps[s.name.step].Name
	}
	if s.hasFail {
		r := &runs[s.fail.run]
		at := r.FinishedOrLatest()
		// The latest failure may be at a time ClickHouse cannot hold
		// (finished_at +infinity): its error still wins, its time is NULL.
		row.LastFailureAt = NullTime{Time: at, Valid: Storable(at)}
		row.LastError = r.Steps[s.fail.step].Error
	}
	return row
}

// laterName reports whether attempt x is later than y for step_name:
// greater OrderedAt, then greater run ID, then later in the run's steps.
// The run position breaks the last tie (two rows with one ID), so the
// choice never depends on the order attempts are visited in.
func laterName(runs []Run, x, y attempt) bool {
	rx, ry := &runs[x.run], &runs[y.run]
	if c := rx.OrderedAt.Compare(ry.OrderedAt); c != 0 {
		return c > 0
	}
	return laterTie(rx, ry, x, y)
}

// laterFailure reports whether failed attempt x is later than y for
// last_failure_at: greater FinishedOrLatest, then as laterName.
func laterFailure(runs []Run, x, y attempt) bool {
	rx, ry := &runs[x.run], &runs[y.run]
	if c := rx.FinishedOrLatest().Compare(ry.FinishedOrLatest()); c != 0 {
		return c > 0
	}
	return laterTie(rx, ry, x, y)
}

func laterTie(rx, ry *Run, x, y attempt) bool {
	if rx.ID != ry.ID {
		return rx.ID > ry.ID
	}
	if x.run != y.run {
		return x.run > y.run
	}
	return x.step > y.step
}
