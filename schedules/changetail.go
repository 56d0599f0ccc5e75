package schedules

import (
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// Change tails (load/changetail.go, migration 0017): what lets an
// incremental pass read only the runs of its changed days.
//
// Every pass that recomputes a script's change points writes, in the same
// insert as the script's change points and marks, its tail:
//   - the cut day: the day of the script's last run, or the pass's day when
//     that is earlier (a run dated in the future). The next pass's new runs
//     are on or after it, and the runs of that day are read again. The tail
//     ends before the first run from which on every run is on or after the
//     cut day (in the zone and stored);
//   - for each series, its last values before that run — 2r, what the
//     bounded recompute after a failing quiet check needs — and those of
//     the day before the cut on top (a pass
//     that changes that day takes the tail cut before it), with their runs'
//     keys and days, and the passing scan tests of those values that the
//     pass computed (the scan's cache: tailScan, and
//     transform/changepoint_scancache.go), with the options they were
//     computed with;
//   - MaxDay, the greatest day of the runs from the tail's first to the
//     cut; Last, the last run before the cut; and the pass's version.
//
// A pass uses a script's tail instead of reading 2r values back when
//   - its first changed day (the journal's, as for the change points) is
//     after MaxDay: every run of the tail, and every run between them, is in
//     a group of a day before it, so none changed since the tail was
//     written — a run added, moved, deleted or rewritten journals its
//     group's day, and the journal holds every change since the last
//     completed pass (a killed pass's too); and a pass that completed after
//     the tail was written and changed the script wrote a newer tail, or
//     left this one as it was because it used it whole (its changes were
//     all after MaxDay too) and the new tail had the same cut
//     (unchangedTail, detect_changes.go: ~50 KB a script not written again
//     in most passes);
//   - no live group of a day ≤ MaxDay has a version above the tail's (the
//     check of that argument against the stored groups: a group rewritten
//     after the tail was written has a greater version, versions being
//     unique and increasing — health_days_state's group_version, the same
//     way);
//   - the method is local, the zone brings no date back (there the series
//     order and the days disagree; the runs are read as before) and no
//     retention drops runs (a tail would keep values the runs have lost).
//
// Then the series are the tail's values followed by the runs read from the
// cut day on that come after Last: exactly the series' values from the
// tail's first on, since every run after the cut is stored on a day on or
// after it. The change points and marks are computed as from a read; a
// series whose tail holds fewer than 2r values before its first changed one
// (and not its first value), or a change point whose samples reach a run of
// the tail (its figures need the runs' steps: the top step, the step's
// name), sends the script back to the read of 2r values (counted in
// rereads).

// tailsApply says the job writes and uses change tails: not where the
// zone brings a date back or retention drops runs (above).
func (j *Job) tailsApply() bool {
	return j.KeepRunsDays <= 0 && !transform.DatesComeBack(j.Zone)
}

// tailUsable returns what a pass whose first changed day is first may take
// from the script's tail t (the method is local), and the stored day to
// read the runs from: t whole, read from its cut, when first is after
// MaxDay; else, when t is Plain, its runs before first, read from first;
// nil when neither (above).
func tailUsable(t *load.ChangeTail, first transform.Day, counts []load.DayCounts) (*load.ChangeTail, transform.Day) {
	if t == nil {
		return nil, 0
	}
	use, from, upTo := t, t.Cut, t.MaxDay
	if first <= t.MaxDay {
		if !t.Plain {
			return nil, 0
		}
		if use = t.Before(first); use == nil {
			return nil, 0
		}
		from, upTo = first, first-1
	}
	for _, c := range counts {
		if c.Day > upTo {
			break
		}
		if c.Version > t.Version {
			return nil, 0
		}
	}
	return use, from
}

// addTail puts t's runs and values first in sr (before any run read).
func (sr *scriptRuns) addTail(t *load.ChangeTail) {
	for i, k := range t.Runs {
		sr.id, sr.orderedUS = append(sr.id, k.RunID), append(sr.orderedUS, k.OrderedAtUS)
		sr.day, sr.groupDay = append(sr.day, t.Days[i]), append(sr.groupDay, t.Days[i])
	}
	sr.tailRuns = len(t.Runs)
	for i := range t.Series {
		ts := &t.Series[i]
		s := sr.series[ts.Step]
		if s == nil {
			s = &series{step: ts.Step}
			sr.series[ts.Step] = s
			sr.slot(ts.Step).series = s
		}
		s.values, s.runs = append(s.values, ts.Values...), append(s.runs, ts.Runs...)
	}
}

// tailBefore is the series with values before t's first (the others' tails
// start at their first value).
func tailBefore(t *load.ChangeTail) map[int32]bool {
	out := map[int32]bool{}
	for _, s := range t.Series {
		if !s.Whole {
			out[s.Step] = true
		}
	}
	return out
}

// newTail is the tail of the script's series as sr holds them, cut at day
// cut (above); nil when no value comes before the cut. before names the
// series with values before sr's first run; keep says how many values a
// series keeps, given the last run before the cut; scans holds the
// passing scan tests of the series the pass scanned (positions in their
// values), of which each keeps those of its kept values.
func newTail(sr *scriptRuns, before map[int32]bool, old *load.ChangeTail, cut transform.Day, keep func(step int32, last load.RunKey) int,
	scans map[int32]transform.ScanTests, version uint64) *load.ChangeTail {
	// c: every run from c on is on or after the cut day.
	c := 0
	for i := len(sr.id) - 1; i >= 0; i-- {
		if min(sr.day[i], sr.groupDay[i]) < cut {
			c = i + 1
			break
		}
	}
	if c == 0 {
		return nil
	}
	t := &load.ChangeTail{Version: version, Cut: cut, Last: sr.key(int32(c - 1))}
	// slot[i]: the index in t.Runs of run i (−1: no value of it kept),
	// set once the series have marked the runs they keep.
	slot := make([]int32, c)
	for i := range slot {
		slot[i] = -1
	}
	first := c
	for _, k := range slices.Sorted(maps.Keys(sr.series)) {
		s := sr.series[k]
		n := sort.Search(len(s.runs), func(i int) bool { return s.runs[i] >= int32(c) })
		if n == 0 {
			continue
		}
		// Also the values of the day before the cut: a pass that changes
		// that day (a run of yesterday finished or updated after midnight)
		// takes the tail cut before it and still has what it needs.
		d := 0
		for d < n && max(sr.day[s.runs[n-1-d]], sr.groupDay[s.runs[n-1-d]]) >= cut-1 {
			d++
		}
		a := max(0, n-d-keep(k, t.Last))
		t.Series = append(t.Series, load.TailSeries{Step: k, Whole: a == 0 && !before[k],
			Runs: slices.Clone(s.runs[a:n]), Values: slices.Clone(s.values[a:n]), Scan: scans[k].Within(a, n).Shift(-a)})
		for _, r := range s.runs[a:n] {
			slot[r] = 0
		}
		first = min(first, int(s.runs[a]))
	}
	if len(t.Series) == 0 {
		return nil
	}
	for i := first; i < c; i++ {
		if slot[i] == 0 {
			slot[i] = int32(len(t.Runs))
			t.Runs, t.Days = append(t.Runs, sr.key(int32(i))), append(t.Days, sr.day[i])
		}
	}
	for i := range t.Series {
		for j, r := range t.Series[i].Runs {
			t.Series[i].Runs[j] = slot[r]
		}
	}
	// MaxDay and Plain: over the runs from the tail's first to the cut;
	// those that came from the old tail are bounded by its (their stored
	// day is not kept).
	t.MaxDay, t.Plain = transform.MinDay, true
	for i := first; i < c; i++ {
		t.MaxDay = max(t.MaxDay, sr.day[i], sr.groupDay[i])
		t.Plain = t.Plain && sr.day[i] == sr.groupDay[i]
	}
	if old != nil && first < sr.tailRuns {
		t.MaxDay, t.Plain = max(t.MaxDay, old.MaxDay), t.Plain && old.Plain
	}
	return t
}

// tailCut is the cut day of a new tail: the day of the script's last run,
// or the pass's day when that is earlier (a run dated in the future).
func tailCut(sr *scriptRuns, today transform.Day) transform.Day {
	last := transform.MinDay
	for i := range sr.id {
		last = max(last, sr.day[i], sr.groupDay[i])
	}
	if last == transform.MinDay {
		return today
	}
	return min(last, today)
}

// reachesTail says a change point's samples, which start at position lo
// of s, include a run that came from the tail.
func (sr *scriptRuns) reachesTail(s *series, lo int) bool {
	return sr.tailRuns > 0 && int(s.runs[lo]) < sr.tailRuns
}

// tailScan is the scan tests of ts, a series of the script's tail t, with
// positions in s.values (none when ts is nil or its values are not found
// there). first says t's values come first in s.values (the pass uses
// t). Else (a reread from further back left t aside) they are where the
// read has them: the series' values up to t.Last, as t's series values
// end at its last run before the cut; the tests are taken only when those
// values are t's, bit for bit — a scan test is a function of its values
// alone, so equal values make them the series' tests whatever was read.
func tailScan(sr *scriptRuns, s *series, ts *load.TailSeries, first bool, t *load.ChangeTail) transform.ScanTests {
	if ts == nil || ts.Scan.From >= ts.Scan.To {
		return transform.ScanTests{}
	}
	if first {
		return ts.Scan
	}
	c := sort.Search(len(s.runs), func(i int) bool { return t.Last.Less(sr.key(s.runs[i])) })
	at := c - len(ts.Values) // the tail's first value's position (< 0: before the read)
	lo := max(0, at)
	for i := lo; i < c; i++ {
		if math.Float64bits(s.values[i]) != math.Float64bits(ts.Values[i-at]) {
			return transform.ScanTests{}
		}
	}
	return ts.Scan.Shift(at).Within(lo, c)
}
