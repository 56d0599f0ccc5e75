package schedules

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// Step health from per-day summaries (issues #10 and #12;
// docs/detection.md, "Step health from per-day summaries"). A step's
// summary over the window is composed, in series order, of segments: the
// stored summary of a whole day (health_days_state), or a single run. A
// day's stored summary is used when
//
//   - it was computed against the group's current version (a pass rewrites
//     a group, with a new version, whenever its runs change, before
//     detection: a summary of an older version is stale);
//   - all its runs are in the window (not the window's first, partial
//     day; no run after as-of);
//   - its span, first run to last in series order, holds no run of another
//     day and overlaps no other day's span (a zone whose clocks go back
//     over midnight brings a date back: that date's runs are then not
//     contiguous in series order).
//
// Every other day of the window is read run by run; a day read whose
// summary was missing or stale gets its summary written (whole day,
// against the group's current version). A day whose runs are all before
// the window is left out; one whose runs are all after as-of only says
// when its steps enter the window (NextAt).

// healthWriteBatch is how many day summaries go into one insert.
const healthWriteBatch = 2000

// healthScript is one script's segments while its summary is composed.
type healthScript struct {
	id    int64
	whole []*load.HealthDay        // days taken from their stored summary
	read  []transform.GroupKey     // days to read run by run
	write map[transform.Day]uint64 // of those, the ones to summarize: their group's version
	runs  []load.HealthRun         // the runs read that are in the window
	next  map[int32]time.Time      // per step: its first execution after as-of
	done  bool
}

// healthWindow is the window in the microseconds runs are stored in:
// fromUS ≤ ordered_at_us ≤ asOfUS.
type healthWindow struct {
	fromUS, asOfUS int64
	loc            *time.Location
}

func newHealthWindow(asOf time.Time, loc *time.Location) healthWindow {
	from := asOf.Add(-transform.HealthWindow)
	fromUS := from.UnixMicro()
	if time.UnixMicro(fromUS).Before(from) {
		fromUS++ // the first whole microsecond at or after the start
	}
	if loc == nil {
		loc = time.UTC
	}
	return healthWindow{fromUS: fromUS, asOfUS: asOf.UnixMicro(), loc: loc}
}

// healthSteps returns the summaries of the steps of the scripts ids
// (every step with an execution in the window or after as-of), composed
// from the stored day summaries and the runs of the days that have none,
// and writes the summaries it recomputed.
func (j *Job) healthSteps(ctx context.Context, ids []int64, from transform.Day, asOf time.Time, version uint64, sum *Summary, tl *timeline) ([]load.StepSummary, error) {
	w := newHealthWindow(asOf, j.Zone)
	days, err := j.Sink.HealthDays(ctx, ids, from)
	if err != nil {
		return nil, err
	}
	tl.mark("days_read")
	scripts := make(map[int64]*healthScript, len(ids))
	for _, id := range ids {
		scripts[id] = &healthScript{id: id, write: map[transform.Day]uint64{}, next: map[int32]time.Time{}}
	}
	var reads []transform.GroupKey
	for i := range days {
		d := &days[i]
		s := scripts[d.Key.ScriptID]
		if s == nil {
			continue
		}
		sm := d.Summary
		switch {
		case sm == nil:
			s.read = append(s.read, d.Key)
			s.write[d.Key.Day] = d.GroupVersion
			reads = append(reads, d.Key)
		case sm.Runs == 0 || sm.Last.OrderedAtUS < w.fromUS:
			// Nothing in the window.
		case sm.First.OrderedAtUS > w.asOfUS:
			for _, st := range sm.Steps {
				s.enters(st.Index, st.Segment.FirstAt)
			}
		case sm.First.OrderedAtUS >= w.fromUS && sm.Last.OrderedAtUS <= w.asOfUS:
			s.whole = append(s.whole, d)
		default:
			s.read = append(s.read, d.Key)
			reads = append(reads, d.Key)
		}
	}
	var (
		out     []load.StepSummary
		writes  []load.HealthDayRow
		pending = slices.Clone(ids) // scripts not yet finished, in id order
		again   []*healthScript     // scripts with days to read again
	)
	slices.Sort(pending)
	flushWrites := func(force bool) error {
		if len(writes) == 0 || (!force && len(writes) < healthWriteBatch) {
			return nil
		}
		if err := j.Sink.WriteHealthDays(ctx, writes, version); err != nil {
			return err
		}
		sum.Detect.HealthDaysWritten += int64(len(writes))
		writes = writes[:0]
		return nil
	}
	// finish composes a script whose reads are all in, or keeps it for
	// another read when a stored day turns out not to be contiguous.
	finish := func(s *healthScript) {
		for day, gv := range s.write {
			// A day with no counted run with steps: an empty summary.
			writes = append(writes, load.HealthDayRow{Key: transform.GroupKey{ScriptID: s.id, Day: day}, GroupVersion: gv})
		}
		clear(s.write)
		if more := s.notContiguous(); len(more) > 0 {
			s.read = more
			again = append(again, s)
			return
		}
		sum.Detect.HealthDaysSummarized += int64(len(s.whole))
		out = s.compose(out, w.loc)
		s.done = true
	}
	finishBefore := func(id int64) {
		for len(pending) > 0 && pending[0] < id {
			finish(scripts[pending[0]])
			pending = pending[1:]
		}
	}
	// Groups come in (script, day) order: a script is complete when the
	// next one starts.
	onDay := func(key transform.GroupKey, runs []load.HealthRun) error {
		finishBefore(key.ScriptID)
		s := scripts[key.ScriptID]
		sum.Detect.HealthDaysRead++
		sum.Detect.HealthRunsRead += int64(len(runs))
		slices.SortFunc(runs, func(a, b load.HealthRun) int {
			return cmp.Or(cmp.Compare(a.Key.OrderedAtUS, b.Key.OrderedAtUS), cmp.Compare(a.Key.RunID, b.Key.RunID))
		})
		if gv, ok := s.write[key.Day]; ok {
			delete(s.write, key.Day)
			if row, ok := summarizeDay(key, gv, runs, w.loc); ok {
				writes = append(writes, row)
			}
		}
		s.addRuns(runs, w)
		return flushWrites(false)
	}
	if err := j.Sink.HealthDayRuns(ctx, reads, onDay); err != nil {
		return nil, err
	}
	finishBefore(math.MaxInt64)
	if err := flushWrites(true); err != nil {
		return nil, err
	}
	tl.mark("day_runs_read_compose_write")
	// Days whose summary is current but not a contiguous segment, read run
	// by run (a zone whose clocks went back over midnight); reading them
	// can show more such days, hence the loop.
	for len(again) > 0 {
		var keys []transform.GroupKey
		for _, s := range again {
			keys = append(keys, s.read...)
		}
		slices.SortFunc(keys, func(a, b transform.GroupKey) int {
			return cmp.Or(cmp.Compare(a.ScriptID, b.ScriptID), cmp.Compare(a.Day, b.Day))
		})
		err := j.Sink.HealthDayRuns(ctx, keys, func(key transform.GroupKey, runs []load.HealthRun) error {
			sum.Detect.HealthDaysRead++
			sum.Detect.HealthRunsRead += int64(len(runs))
			scripts[key.ScriptID].addRuns(runs, w)
			return nil
		})
		if err != nil {
			return nil, err
		}
		batch := again
		again = nil
		for _, s := range batch {
			finish(s)
		}
	}
	return out, nil
}

// enters records an execution of step idx after as-of.
func (s *healthScript) enters(idx int32, at time.Time) {
	if t, ok := s.next[idx]; !ok || at.Before(t) {
		s.next[idx] = at
	}
}

// addRuns keeps the runs in the window and notes those after it.
func (s *healthScript) addRuns(runs []load.HealthRun, w healthWindow) {
	for _, r := range runs {
		switch at := r.Key.OrderedAtUS; {
		case at < w.fromUS:
		case at > w.asOfUS:
			t := time.UnixMicro(at).UTC()
			for _, a := range r.Attempts {
				s.enters(a.Index, t)
			}
		default:
			s.runs = append(s.runs, r)
		}
	}
}

// notContiguous moves out of s.whole the days whose span holds a run read
// or overlaps another whole day's span, and returns them.
func (s *healthScript) notContiguous() []transform.GroupKey {
	slices.SortFunc(s.runs, func(a, b load.HealthRun) int {
		return cmp.Or(cmp.Compare(a.Key.OrderedAtUS, b.Key.OrderedAtUS), cmp.Compare(a.Key.RunID, b.Key.RunID))
	})
	slices.SortFunc(s.whole, func(a, b *load.HealthDay) int {
		return cmp.Or(cmp.Compare(a.Summary.First.OrderedAtUS, b.Summary.First.OrderedAtUS), cmp.Compare(a.Summary.First.RunID, b.Summary.First.RunID))
	})
	bad := make([]bool, len(s.whole))
	for i, d := range s.whole {
		first, last := d.Summary.First, d.Summary.Last
		// The first run read at or after first: inside the span?
		k, _ := slices.BinarySearchFunc(s.runs, first, func(r load.HealthRun, key load.RunKey) int {
			if r.Key.Less(key) {
				return -1
			}
			if key.Less(r.Key) {
				return 1
			}
			return 0
		})
		if k < len(s.runs) && !last.Less(s.runs[k].Key) {
			bad[i] = true
		}
		// Spans sorted by start: any overlap shows between neighbours
		// once the greatest end so far is carried along.
		for k := i + 1; k < len(s.whole) && !last.Less(s.whole[k].Summary.First); k++ {
			bad[i], bad[k] = true, true
		}
	}
	var more []transform.GroupKey
	kept := s.whole[:0]
	for i, d := range s.whole {
		if bad[i] {
			more = append(more, d.Key)
		} else {
			kept = append(kept, d)
		}
	}
	s.whole = kept
	return more
}

// compose combines the script's segments in series order into one summary
// per step, appended to out in step order.
func (s *healthScript) compose(out []load.StepSummary, loc *time.Location) []load.StepSummary {
	segs := stepSegments{}
	// s.whole and s.runs are in series order (notContiguous sorted them)
	// and no run falls inside a whole day's span.
	i, k := 0, 0
	for i < len(s.whole) || k < len(s.runs) {
		if k == len(s.runs) || (i < len(s.whole) && s.whole[i].Summary.First.Less(s.runs[k].Key)) {
			for _, st := range s.whole[i].Summary.Steps {
				g := segs.at(st.Index)
				*g = transform.CombineSegments(*g, st.Segment)
			}
			i++
			continue
		}
		segs.add(&s.runs[k], loc)
		k++
	}
	first := len(out)
	for idx, g := range segs {
		st := load.StepSummary{Step: load.SeriesKey{ScriptID: s.id, StepIndex: idx}}
		st.Summary, st.OldestAt = g.Summary()
		st.StepName, st.LastError = g.Name, g.LastFailure.Error
		if g.LastFailure.Valid {
			st.LastFailureAt = load.StorableTime(g.LastFailure.At)
		}
		if t, ok := s.next[idx]; ok {
			st.NextAt = transform.NullTime{Time: t, Valid: true}
		}
		out = append(out, st)
	}
	for idx, t := range s.next {
		if segs[idx] == nil {
			out = append(out, load.StepSummary{Step: load.SeriesKey{ScriptID: s.id, StepIndex: idx},
				Summary: transform.ExecutionSummary{FirstFailure: -1}, NextAt: transform.NullTime{Time: t, Valid: true}})
		}
	}
	slices.SortFunc(out[first:], func(x, y load.StepSummary) int { return cmp.Compare(x.Step.StepIndex, y.Step.StepIndex) })
	return out
}

// stepSegments are the segments of a script's steps being built, by step
// index.
type stepSegments map[int32]*transform.StepSegment

// at is the segment of step idx, made on first use.
func (m stepSegments) at(idx int32) *transform.StepSegment {
	g := m[idx]
	if g == nil {
		g = &transform.StepSegment{}
		m[idx] = g
	}
	return g
}

// add appends a run's attempts to their steps' segments (days of loc).
func (m stepSegments) add(r *load.HealthRun, loc *time.Location) {
	at := time.UnixMicro(r.Key.OrderedAtUS).UTC()
	failureAt := time.UnixMicro(r.FailureAtUS).UTC()
	day := transform.DayOf(at, loc)
	for _, a := range r.Attempts {
		m.at(a.Index).Add(transform.StepAttempt{At: at, RunID: r.Key.RunID, Day: day, Failed: a.Failed,
			Name: a.Name, FailureAt: failureAt, Error: a.Error})
	}
}

// healthFromDay is the first day step health reads as of asOf: the day
// before the window's first (a zone whose clocks go back over midnight
// puts a later time on an earlier date).
func healthFromDay(asOf time.Time, loc *time.Location) transform.Day {
	return transform.DayOf(asOf.Add(-transform.HealthWindow), loc) - 1
}

// healthRunsOf is what step health reads of a group's runs (in any order):
// the counted runs with steps, in series order, their skipped steps left
// out.
func healthRunsOf(runs []transform.Run) []load.HealthRun {
	out := make([]load.HealthRun, 0, len(runs))
	for i := range runs {
		r := &runs[i]
		if !r.Counted() || len(r.Steps) == 0 {
			continue
		}
		hr := load.HealthRun{Key: load.RunKey{OrderedAtUS: r.OrderedAt.UnixMicro(), RunID: r.ID}, FailureAtUS: r.FailureAt.UnixMicro()}
		for _, st := range r.Steps {
			if st.Status != transform.StepSuccess && st.Status != transform.StepFailed {
				continue
			}
			a := load.HealthAttempt{Index: st.Index, Failed: st.Status == transform.StepFailed, Name: st.Name}
			if a.Failed {
				a.Error = st.Error
			}
			hr.Attempts = append(hr.Attempts, a)
		}
		out = append(out, hr)
	}
	slices.SortFunc(out, func(a, b load.HealthRun) int {
		return cmp.Or(cmp.Compare(a.Key.OrderedAtUS, b.Key.OrderedAtUS), cmp.Compare(a.Key.RunID, b.Key.RunID))
	})
	return out
}

// summarizeDay is the summary of a group's runs (in series order) to
// store against the group's version gv; ok is false when a run is not on
// the group's day in loc (then the day is never taken from a summary).
func summarizeDay(key transform.GroupKey, gv uint64, runs []load.HealthRun, loc *time.Location) (load.HealthDayRow, bool) {
	row := load.HealthDayRow{Key: key, GroupVersion: gv}
	if len(runs) == 0 {
		return row, true
	}
	segs := stepSegments{}
	for i := range runs {
		if transform.DayOf(time.UnixMicro(runs[i].Key.OrderedAtUS), loc) != key.Day {
			return row, false
		}
		segs.add(&runs[i], loc)
	}
	sm := &row.Summary
	sm.Runs, sm.First, sm.Last = len(runs), runs[0].Key, runs[len(runs)-1].Key
	for idx, g := range segs {
		sm.Steps = append(sm.Steps, load.DayStep{Index: idx, Segment: *g})
	}
	slices.SortFunc(sm.Steps, func(a, b load.DayStep) int { return cmp.Compare(a.Index, b.Index) })
	return row, true
}
