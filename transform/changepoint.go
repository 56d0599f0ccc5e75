package transform

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Direction says which way a duration changed.
type Direction string

// Directions of a change point (the duration_changes.direction values).
const (
	Slower Direction = "slower"
	Faster Direction = "faster"
)

// ChangeOptions are the parameters of DetectChanges.
type ChangeOptions struct {
	// Window is w: the scan compares the w values before each position with
	// the w values from it (contract 2b; flag --change-window).
	Window int
	// MaxP: a position passes when the Mann–Whitney p-value is below it.
	MaxP float64
	// MinRatio: … and |median(after)/median(before) − 1| is at least it.
	MinRatio float64
	// MinEffect: … and |Cliff's δ| is at least it.
	MinEffect float64
	// ConfirmWindow is the persistence check: each change found by the
	// scan is tested again on up to ConfirmWindow values on each side,
	// bounded by the neighbouring changes, with the same three thresholds;
	// it stays only if it passes. 0 turns the check off (the reference
	// method alone); otherwise it is at least Window.
	ConfirmWindow int
}

// DefaultChangeOptions are the defaults of contract section 2b, with the
// persistence check on up to 8·w values (chosen on the tuning seeds of
// deploy/detecteval: 4·w let two chance fluctuations of noisy series
// through, 8·w none, at the same recall).
func DefaultChangeOptions() ChangeOptions {
	return ChangeOptions{Window: 12, MaxP: 0.001, MinRatio: 0.10, MinEffect: 0.5, ConfirmWindow: 96}
}

// ratioSlack absorbs float rounding in |ratio − 1| ≥ MinRatio: 90/100 − 1
// is −0.09999999999999998, and a 10 % drop must meet a 10 % threshold.
const ratioSlack = 1e-12

// ErrChangeOptions is returned for options no detection can run with.
var ErrChangeOptions = errors.New("change detection: invalid options")

// ChangePoint is one change of a duration series.
type ChangePoint struct {
	// Index is the position of the first value after the change.
	Index int
	// RunsBefore and RunsAfter are the sizes of the two samples the figures
	// below are computed on (the confirmation windows; the scan windows
	// when the check is off).
	RunsBefore, RunsAfter int
	// MedianBefore and MedianAfter are their medians (Median).
	MedianBefore, MedianAfter float64
	// Ratio is MedianAfter / MedianBefore (+Inf when MedianBefore is 0 and
	// MedianAfter is not).
	Ratio float64
	// P is the two-sided Mann–Whitney p-value of after against before.
	P float64
	// Effect is Cliff's δ of after against before, in [−1, 1].
	Effect float64
	// Direction is Slower when the durations went up, else Faster.
	Direction Direction
}

// windowTest is the test of one split: after = x[i:i+na], before =
// x[i−nb:i].
type windowTest struct {
	pass        bool
	mw          MannWhitney
	medB, medA  float64
	ratio       float64
	nBefore, nA int
}

// changeScanner holds the buffers of one detection.
type changeScanner struct {
	opt    ChangeOptions
	mw     mwTester
	dayBuf []float64 // one day's values, sorted for its median
	restA  []float64 // the after sample less its most extreme day
	restB  []float64 // the before sample less its most extreme day
}

// test runs the three tests on the samples before and after a split (both
// non-empty, finite).
func (s *changeScanner) test(before, after []float64) windowTest {
	sa, sb, err := s.mw.sortCopies(after, before)
	if err != nil { // only non-finite values, which the caller excluded
		return windowTest{}
	}
	return s.testSorted(sb, sa)
}

// testSorted is test on sorted samples.
func (s *changeScanner) testSorted(before, after []float64) windowTest {
	r := s.mw.testSorted(after, before)
	t := windowTest{mw: r, medB: medianSorted(before), medA: medianSorted(after),
		nBefore: len(before), nA: len(after)}
	switch {
	case t.medB != 0:
		t.ratio = t.medA / t.medB
	case t.medA > 0:
		t.ratio = math.Inf(1)
	default:
		t.ratio = 1
	}
	// The median and δ must agree on the direction: a split where the
	// medians move one way and most pairs the other is no level shift.
	agree := (t.ratio > 1) == (r.Delta > 0)
	t.pass = r.P < s.opt.MaxP &&
		math.Abs(t.ratio-1) >= s.opt.MinRatio-ratioSlack &&
		math.Abs(r.Delta) >= s.opt.MinEffect &&
		agree
	return t
}

// slidingSorted is a window of a series kept sorted as it slides.
type slidingSorted []float64

// slide removes out and inserts in (out is in the window).
func (w *slidingSorted) slide(out, in float64) {
	s := *w
	k, _ := slices.BinarySearch(s, out)
	s = slices.Delete(s, k, k+1)
	k, _ = slices.BinarySearch(s, in)
	*w = slices.Insert(s, k, in)
}

// DetectChanges returns the change points of a duration series (values in
// order; finite, non-negative — contract 2b's duration series), ascending
// by Index. days, when not nil, is the day of each value (non-decreasing);
// it enables the one-day rule below.
//
// 1. Scan. The reference method of contract 2b: position i (w ≤ i ≤ n − w)
// is tested with B = the w values before i and A = the w values from i; it
// passes when the two-sided Mann–Whitney test of A against B gives
// p < MaxP, |median(A)/median(B) − 1| ≥ MinRatio and |δ| ≥ MinEffect (and
// the medians and δ agree in sign), and it is a candidate when its p is
// the smallest of the passing positions within ±w (ties: the larger |δ|,
// then the earlier). With the persistence check on, the scan also runs
// with windows 2w, 4w, … up to ConfirmWindow and n/2: a long segment
// shifted by less than the noise of 12 runs shows in wider windows.
// Candidates of all scales closer than w are one candidate (the smallest
// p at its scale).
//
// 2. Persistence check (ConfirmWindow > 0). Each candidate is placed again
// within ±w by the split of its whole neighbourhood — up to ConfirmWindow
// values on each side, not crossing the neighbouring candidates — with the
// largest standardized U, and tested on that neighbourhood with the same
// three thresholds. With days, it must also pass them without its most
// extreme day on each side (a shift is not one day's spike). A candidate
// that fails is dropped (the weakest first) and its neighbours are placed
// and tested again without it, until none fails. A
// spike — a run, a day of runs — that the scan picks up is diluted in the
// wider samples or sits on one day, and fails; a real shift holds over its
// segment and passes, usually with a much smaller p. The reported figures
// are those of the final test.
func DetectChanges(values []float64, days []Day, opt ChangeOptions) ([]ChangePoint, error) {
	w := opt.Window
	if w < 2 || opt.ConfirmWindow < 0 || (opt.ConfirmWindow > 0 && opt.ConfirmWindow < w) || !(opt.MaxP > 0 && opt.MaxP <= 1) || opt.MinRatio < 0 || opt.MinEffect < 0 || opt.MinEffect > 1 {
		return nil, fmt.Errorf("%w: window %d, confirm window %d, max p %v, min ratio %v, min effect %v",
			ErrChangeOptions, w, opt.ConfirmWindow, opt.MaxP, opt.MinRatio, opt.MinEffect)
	}
	if days != nil && len(days) != len(values) {
		return nil, fmt.Errorf("change detection: %d days for %d values", len(days), len(values))
	}
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("change detection: value %d is %v; a duration series holds finite, non-negative values", i, v)
		}
		if days != nil && i > 0 && days[i] < days[i-1] {
			return nil, fmt.Errorf("change detection: day of value %d is before the day of value %d; the series must be in time order", i, i-1)
		}
	}
	n := len(values)
	if n < 2*w {
		return nil, nil
	}
	s := &changeScanner{opt: opt}

	type candidate struct {
		i int
		t windowTest
	}
	var cands []candidate
	scales := []int{w}
	if opt.ConfirmWindow > 0 {
		for sc := 2 * w; sc <= opt.ConfirmWindow && 2*sc <= n; sc *= 2 {
			scales = append(scales, sc)
		}
	}
	tests := make([]windowTest, n+1)
	for _, sw := range scales {
		before := slidingSorted(slices.Sorted(slices.Values(values[:sw])))
		after := slidingSorted(slices.Sorted(slices.Values(values[sw : 2*sw])))
		for i := sw; i <= n-sw; i++ {
			if i > sw {
				// Window i−1 → i: values[i−1] moves from after to before.
				before.slide(values[i-1-sw], values[i-1])
				after.slide(values[i-1], values[i-1+sw])
			}
			tests[i] = s.testSorted(before, after)
		}
		better := func(a, b int) bool { // a is preferred to b
			ta, tb := &tests[a], &tests[b]
			if ta.mw.P != tb.mw.P {
				return ta.mw.P < tb.mw.P
			}
			if da, db := math.Abs(ta.mw.Delta), math.Abs(tb.mw.Delta); da != db {
				return da > db
			}
			return a < b
		}
		for i := sw; i <= n-sw; i++ {
			if !tests[i].pass {
				continue
			}
			best := true
			for j := max(sw, i-sw); j <= min(n-sw, i+sw) && best; j++ {
				if j != i && tests[j].pass && better(j, i) {
					best = false
				}
			}
			if best {
				cands = append(cands, candidate{i, tests[i]})
			}
		}
	}
	// Candidates closer than w are one: the smallest p (then the finer
	// scale, which came first, then the earlier).
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(a.i, b.i) })
	var merged []candidate
	for _, c := range cands {
		if k := len(merged) - 1; k >= 0 && c.i-merged[k].i < w {
			if c.t.mw.P < merged[k].t.mw.P {
				merged[k] = c
			}
			continue
		}
		merged = append(merged, c)
	}
	changes := make([]int, len(merged))
	final := make([]windowTest, len(merged))
	for k, c := range merged {
		changes[k], final[k] = c.i, c.t
	}
	if opt.ConfirmWindow > 0 {
		changes, final = s.confirm(values, days, changes)
	}
	out := make([]ChangePoint, len(changes))
	for k, i := range changes {
		t := final[k]
		dir := Faster
		if t.mw.Delta > 0 {
			dir = Slower
		}
		out[k] = ChangePoint{Index: i, RunsBefore: t.nBefore, RunsAfter: t.nA,
			MedianBefore: t.medB, MedianAfter: t.medA, Ratio: t.ratio,
			P: t.mw.P, Effect: t.mw.Delta, Direction: dir}
	}
	return out, nil
}

// confirm runs the persistence check over the scan's candidates
// (ascending) and returns the changes that hold, with their final tests.
func (s *changeScanner) confirm(values []float64, days []Day, changes []int) ([]int, []windowTest) {
	W, w := s.opt.ConfirmWindow, s.opt.Window
	changes = slices.Clone(changes)
	for { // each round keeps all or drops one: at most len(changes)+1 rounds
		tests := make([]windowTest, len(changes))
		failing := 0
		for k, i := range changes {
			lo, hi := 0, len(values)
			if k > 0 {
				lo = changes[k-1]
			}
			if k+1 < len(changes) {
				hi = changes[k+1]
			}
			i = s.place(values, max(lo, i-W), min(hi, i+W), i, w)
			changes[k] = i
			before, after := values[max(lo, i-W):i], values[i:min(hi, i+W)]
			tests[k] = s.test(before, after)
			if tests[k].pass && days != nil {
				tests[k].pass = s.withoutExtremeDays(tests[k], before, after, days[max(lo, i-W):i], days[i:min(hi, i+W)])
			}
			if !tests[k].pass {
				failing++
			}
		}
		if failing == 0 {
			return changes, tests
		}
		// Drop only the weakest failing change per round: its neighbours'
		// samples grow once it is gone and may then pass.
		worst := -1
		for k := range changes {
			if !tests[k].pass && (worst < 0 || tests[k].mw.P > tests[worst].mw.P) {
				worst = k
			}
		}
		changes = slices.Delete(changes, worst, worst+1)
	}
}

// place returns the split j of values[lo:hi] within ±w of i (each side
// keeping at least one value) with the largest standardized
// |U − mn/2| / sqrt(mn(m+n+1)/12) of values[lo:j] against values[j:hi]
// (ties: the nearest to i, then the earlier).
func (s *changeScanner) place(values []float64, lo, hi, i, w int) int {
	best, bestZ := i, -1.0
	for j := max(lo+1, i-w); j <= min(hi-1, i+w); j++ {
		r, err := s.mw.statistic(values[j:hi], values[lo:j])
		if err != nil {
			continue
		}
		m, n := float64(hi-j), float64(j-lo)
		z := math.Abs(r-m*n/2) / math.Sqrt(m*n*(m+n+1)/12)
		if z > bestZ || (z == bestZ && abs(j-i) < abs(best-i)) {
			best, bestZ = j, z
		}
	}
	return best
}

// withoutExtremeDays is the one-day rule: the change must still pass its
// tests when the runs of the after sample's most extreme day (the highest
// median for a slower change, the lowest for a faster one) and of the
// before sample's most extreme day the other way are left out. A spike
// day, or a shift seen on one day only, fails.
func (s *changeScanner) withoutExtremeDays(t windowTest, before, after []float64, daysBefore, daysAfter []Day) bool {
	up := t.mw.Delta > 0
	before = s.dropExtremeDay(before, daysBefore, !up, &s.restB)
	after = s.dropExtremeDay(after, daysAfter, up, &s.restA)
	if len(before) == 0 || len(after) == 0 {
		return false
	}
	return s.test(before, after).pass
}

// dropExtremeDay returns vals without the runs of the day with the highest
// (high) or lowest median, in buf.
func (s *changeScanner) dropExtremeDay(vals []float64, days []Day, high bool, buf *[]float64) []float64 {
	worstA, worstB := 0, 0
	var worst float64
	for a := 0; a < len(vals); {
		b := a + 1
		for b < len(vals) && days[b] == days[a] {
			b++
		}
		s.dayBuf = append(s.dayBuf[:0], vals[a:b]...)
		slices.Sort(s.dayBuf)
		med := medianSorted(s.dayBuf)
		if a == 0 || (high && med > worst) || (!high && med < worst) {
			worst, worstA, worstB = med, a, b
		}
		a = b
	}
	*buf = append(append((*buf)[:0], vals[:worstA]...), vals[worstB:]...)
	return *buf
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// Radius says how far the result at one position of a series reaches:
// when local is true, whether position i is a change point, and every
// figure of its ChangePoint (including RunsBefore and RunsAfter, which
// never exceed r), depend only on values[max(0, i−r):min(n, i+r)] and
// their days. So DetectChanges on a slice values[a:b] finds exactly the
// change points of the whole series at the positions i with
// (a == 0 || i ≥ a+r) and (b == n || i < b−r), shifted by a. The job uses
// it to recompute only the part of a series that a pass can have changed.
// When local is false no radius holds and a series must be recomputed
// whole.
func (o ChangeOptions) Radius() (r int, local bool) {
	if o.ConfirmWindow == 0 {
		// The scan alone: the test at i reads [i−w, i+w); a candidate
		// compares the tests within ±w.
		return 2 * o.Window, true
	}
	return 0, false
}
