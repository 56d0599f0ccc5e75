package schedules

import (
	"fmt"
	"sort"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// Quiet marks: how an incremental pass proves, from a short tail, that the
// change points of a long series stay (transform/changepoint_quiet.go has
// the argument).
//
// Every recomputed series gets a mark, written with its change points in
// the script's one insert: the run at position c + M + 1, c being the last
// position whose scan test passed (or, when the slice did not start at the
// series' start, the last position the slice could not test: the
// LargestScale-th value), M the method's QuietMargin. A later pass whose
// first changed position p comes after the mark (the mark is at or before
// the last unchanged value, p − 1) knows that no scan test passed at a
// position ≥ p − M; it reads 2S values before p (S the largest scale) and, when no
// scan test of that tail passes, the series' stored change points are
// exactly those of the new series: nothing is written. A series that
// fails either check goes the bounded recompute (2r values before p; the
// script is read again from further back when the quiet read holds fewer),
// which writes its new mark.
//
// Why the mark is exact after kills: a series' mark and change points are
// in the same table and the same insert, so the stored mark always speaks
// of the series the stored change points were computed from; the first
// changed position of a pass is never after that of a killed pass since
// the last completed one (the journal only grows until a pass completes),
// so the values before p are those of that series too.

// quietMarks are the stored quiet marks, by series.
type quietMarks map[load.SeriesKey]load.RunKey

// cover says a short read (2S values before the first changed day) may
// serve the script: every series with values before that day (by the
// counts) has a mark. Otherwise one series at least needs 2r values.
func (m quietMarks) cover(id int64, counts []load.DayCounts, first transform.Day) bool {
	if first <= transform.MinDay {
		return false
	}
	before := needBefore(counts, first, 1)
	if len(before) == 0 {
		return false // nothing before the first changed day: read from it
	}
	for k := range before {
		if _, ok := m[load.SeriesKey{ScriptID: id, StepIndex: k}]; !ok {
			return false
		}
	}
	return true
}

// quietTail is how many values before the first changed one the quiet
// check reads: 2S.
func quietTail(opt transform.ChangeOptions) int { return 2 * opt.LargestScale() }

// quiet says series s of script id is unchanged by the pass: it has a
// mark, 2S values before its first changed position p (in what was read),
// p comes after the mark, and no scan test of the 2S values before p and the values from p
// on passes. why says which condition failed (the pass's debug log).
func (m quietMarks) quiet(id int64, s *series, sr *scriptRuns, p int, opt transform.ChangeOptions) (ok bool, why string, err error) {
	mark, ok := m[load.SeriesKey{ScriptID: id, StepIndex: s.step}]
	tail := quietTail(opt)
	switch {
	case !ok:
		return false, "no mark", nil
	case p < tail:
		return false, "fewer than 2S values before p", nil
	case runKeyLess(sr.key(s.runs[p-1]), mark):
		return false, "mark after p", nil
	}
	// Of the tail's tests, those whose windows reach p: the others are old
	// ones, after the mark's last passing test (LastScanPassReaching).
	last, err := transform.LastScanPassReaching(s.values[p-tail:], tail, opt)
	if last != -1 {
		at := sort.Search(p, func(i int) bool { return !runKeyLess(sr.key(s.runs[i]), mark) })
		return false, fmt.Sprintf("a test passes (at %d of the %d values before p and after; the mark %d values before p)", last, len(s.values)-(p-tail), p-at), err
	}
	return err == nil, "", err
}

// quietMark is the mark of series s recomputed over s.values[a:], whose
// last passing scan test (relative to a) is last; none when the mark's
// run is not yet in the series.
func quietMark(id int64, s *series, sr *scriptRuns, a, last int, atStart bool, opt transform.ChangeOptions) (load.ChangeRow, bool) {
	c := last
	if !atStart {
		c = max(c, opt.LargestScale()-1) // tests before it are not seen
	}
	q := a + c + opt.QuietMargin() + 1
	if q >= len(s.values) {
		return load.ChangeRow{}, false
	}
	return load.ChangeRow{Key: load.QuietMarkKey(load.SeriesKey{ScriptID: id, StepIndex: s.step}),
		QuietFrom: sr.key(s.runs[q])}, true
}

// runKeyLess orders runs as the series does: by time, then run id.
func runKeyLess(a, b load.RunKey) bool {
	if a.OrderedAtUS != b.OrderedAtUS {
		return a.OrderedAtUS < b.OrderedAtUS
	}
	return a.RunID < b.RunID
}
