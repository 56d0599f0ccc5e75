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
	// ConfirmWindow is the persistence check: the scan also runs with
	// windows 2w, 4w, … up to it, and each candidate is tested again on up
	// to ConfirmWindow values on each side, bounded by neighbouring
	// candidates, with the same three thresholds and p < MaxP/10; it stays
	// only if it passes (see DetectChanges). It also sets the dependency
	// radius (Radius). 0 turns the check off (the reference method alone);
	// otherwise it is at least Window.
	ConfirmWindow int
}

// DefaultChangeOptions are the defaults of contract section 2b, with the
// persistence check on up to 8·w values (chosen on the tuning seeds of
// deploy/detecteval: 4·w let two chance fluctuations of noisy series
// through, 8·w none, at the same recall). Their radius is 517.
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
	med    []float64       // the medians of one scale's windows (passingAt)
	win    scanWindows     // the scan's samples at one scale
	sum    windowSummaries // order statistics of the after windows (passingAt)
	dayBuf []float64       // one day's values, sorted for its median
	restA  []float64       // the after sample less its most extreme day
	restB  []float64       // the before sample less its most extreme day
	// sampleB and sampleA are the positions of the samples of the one-day
	// rule and of round 3 (holdsBetweenChanges); skipBuf the days they
	// leave out.
	sampleB, sampleA []int
	skipBuf          []Day
	// lastPass is the last position whose scan test passed at some scale
	// (−1: none), set by scan.
	lastPass int
	// tests are the passing scan tests, when scan is asked to keep them;
	// taken the number of known tests it took.
	tests []ScanTest
	taken int
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
	return s.judge(before, after, s.mw.testSorted(after, before))
}

// judge is testSorted given the Mann–Whitney test r of after against
// before.
func (s *changeScanner) judge(before, after []float64, r MannWhitney) windowTest {
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

// slidingSorted is a window of a series kept sorted as it slides (see
// scanWindows).
type slidingSorted []float64

// DetectChanges returns the change points of a duration series (values in
// order; finite, non-negative — contract 2b's duration series), ascending
// by Index. days, when not nil, is the day of each value (non-decreasing);
// it enables the one-day rule below.
//
// Every step reads a bounded stretch of the series around the position it
// decides, and each rule compares a thing only with its neighbours (no
// chain, no loop over the whole series), so the result at a position
// depends only on the values within Radius of it: a pass can recompute a
// window of a series, not the whole.
//
// 1. Scan. The reference method of contract 2b: position i (w ≤ i ≤ n − w)
// is tested with B = the w values before i and A = the w values from i; it
// passes when the two-sided Mann–Whitney test of A against B gives
// p < MaxP, |median(A)/median(B) − 1| ≥ MinRatio and |δ| ≥ MinEffect (and
// the medians and δ agree in sign), and it is a candidate when its p is
// the smallest of the passing positions within ±w (ties: the larger |δ|,
// then the earlier). With the persistence check on, the scan also runs
// with windows s = 2w, 4w, … up to ConfirmWindow (positions s ≤ i ≤ n − s,
// a candidate being the best passing position within ±s at its scale): a
// long segment shifted by less than the noise of 12 runs shows in wider
// windows. A candidate of any scale stays one when no candidate of any
// scale closer than w is better (smaller p, then larger |δ|, then the
// finer scale, then the earlier).
//
// 2. Persistence check (ConfirmWindow = W > 0). A candidate is placed
// again within ±w by the split of its neighbourhood — up to W values on
// each side, not crossing the bounding candidates — with the largest
// standardized U, and tested on that neighbourhood with the same three
// thresholds and p < MaxP/10. If that fails and a side was cut by a
// bounding candidate to w … W − 1 values (a short level), it is
// tested again with the other side limited to as many values, the nearest
// (the near level: a level beyond, a shift too small to be a candidate or
// the next step of a staircase, does not dilute the other side). With
// days, it must also pass them when its most extreme day on each side is
// left out (the slowest day after a slower change, the fastest before it)
// and each sample is refilled to its size with the nearest values of
// other days, from at most 3·W positions away, first between the bounding
// candidates and past them only up to w values: a day of runs, however
// many, is not a shift, while a shift goes on the next day, and a plateau
// of several days keeps its other days. The bounding candidates are the
// nearest ones closer than W that are, in turn: (round 2) better than it
// or held in round 1; (round 1) better than it; any. The first that
// passes counts. So a chance
// candidate next to a real shift does not cut the shift's sample (it is
// not better and did not hold), while two real shifts closer than W bound
// each other (the weaker holds in round 1 between the better one and its
// other neighbour, then bounds the better one in round 2). The one-day
// rule's test must pass the same way as the change (a window inside a
// spike day passes the other way once the spike day is left out). Round
// 3: a change whose neighbourhood was cut by a candidate that did not
// hold (no change, so no end of a level) must also pass, at the same
// place, on up to W values each side between the nearest candidates that
// held, leaving out the days the one-day rule left out of the candidates
// that did not hold (a spike day's two ends are such candidates, and that
// day is what they left out), from at most 3·W positions away, with the
// same thresholds, p < MaxP/10, the same direction and the one-day rule.
// A chance move next to a spike passes on the few values between it and
// the spike's end and fails on the level beyond; a short plateau whose
// other end does not hold is not reported as a lasting change either.
// Of the changes that hold closer than w, the best (smallest p, then
// larger |δ|, then the earlier) is kept. A spike — a run, a day of runs —
// that the scan picks up is diluted in the wider samples or sits on one
// day, and fails; a real shift holds over its segment and passes, usually
// with a much smaller p.
// The reported figures are those of the final test (the neighbourhood of
// the try that passed, without a day left out; at most W values each
// side; the near level's when it passed): round 3 is a check and changes
// no figure.
func DetectChanges(values []float64, days []Day, opt ChangeOptions) ([]ChangePoint, error) {
	cps, _, err := detectChanges(values, days, opt)
	return cps, err
}

// detectChanges is DetectChanges, also returning the last position whose
// scan test passed at some scale (−1: none).
func detectChanges(values []float64, days []Day, opt ChangeOptions) ([]ChangePoint, int, error) {
	cps, last, _, _, err := detectChangesScan(values, days, opt, nil, false)
	return cps, last, err
}

// detectChangesScan is detectChanges with the scan's cache
// (changepoint_scancache.go): known, when not nil, holds passing scan
// tests the scan takes instead of computing them (it returns how many it
// took), and keep has it return every passing test of values.
func detectChangesScan(values []float64, days []Day, opt ChangeOptions, known *ScanTests, keep bool) ([]ChangePoint, int, []ScanTest, int, error) {
	w := opt.Window
	if w < 2 || opt.ConfirmWindow < 0 || (opt.ConfirmWindow > 0 && opt.ConfirmWindow < w) || !(opt.MaxP > 0 && opt.MaxP <= 1) || opt.MinRatio < 0 || opt.MinEffect < 0 || opt.MinEffect > 1 {
		return nil, -1, nil, 0, fmt.Errorf("%w: window %d, confirm window %d, max p %v, min ratio %v, min effect %v",
			ErrChangeOptions, w, opt.ConfirmWindow, opt.MaxP, opt.MinRatio, opt.MinEffect)
	}
	if days != nil && len(days) != len(values) {
		return nil, -1, nil, 0, fmt.Errorf("change detection: %d days for %d values", len(days), len(values))
	}
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, -1, nil, 0, fmt.Errorf("change detection: value %d is %v; a duration series holds finite, non-negative values", i, v)
		}
		if days != nil && i > 0 && days[i] < days[i-1] {
			return nil, -1, nil, 0, fmt.Errorf("change detection: day of value %d is before the day of value %d; the series must be in time order", i, i-1)
		}
	}
	if len(values) < 2*w {
		return nil, -1, nil, 0, nil
	}
	s := &changeScanner{opt: opt}
	cands, err := s.scan(values, known, keep)
	if err != nil {
		return nil, -1, nil, 0, err
	}
	var changes []change
	if opt.ConfirmWindow == 0 {
		changes = make([]change, len(cands))
		for k, c := range cands {
			changes[k] = change{index: c.i, from: c.i, t: c.t}
		}
	} else {
		changes = s.confirm(values, days, cands)
	}
	out := make([]ChangePoint, len(changes))
	for k, c := range changes {
		t := c.t
		dir := Faster
		if t.mw.Delta > 0 {
			dir = Slower
		}
		out[k] = ChangePoint{Index: c.index, RunsBefore: t.nBefore, RunsAfter: t.nA,
			MedianBefore: t.medB, MedianAfter: t.medA, Ratio: t.ratio,
			P: t.mw.P, Effect: t.mw.Delta, Direction: dir}
	}
	return out, s.lastPass, s.tests, s.taken, nil
}

// candidate is a position the scan flags, at one scale.
type candidate struct {
	i, scale int
	t        windowTest
}

// betterCandidate says a is preferred to b: the smaller p, then the larger
// |δ|, then the finer scale, then the earlier.
func betterCandidate(a, b *candidate) bool {
	if a.t.mw.P != b.t.mw.P {
		return a.t.mw.P < b.t.mw.P
	}
	if da, db := math.Abs(a.t.mw.Delta), math.Abs(b.t.mw.Delta); da != db {
		return da > db
	}
	if a.scale != b.scale {
		return a.scale < b.scale
	}
	return a.i < b.i
}

// scales are the scan's window sizes: w, then 2w, 4w, … up to
// ConfirmWindow when the persistence check is on.
func (o ChangeOptions) scales() []int {
	sc := []int{o.Window}
	if o.ConfirmWindow > 0 {
		for s := 2 * o.Window; s <= o.ConfirmWindow; s *= 2 {
			sc = append(sc, s)
		}
	}
	return sc
}

// scan returns the candidates of all scales, ascending by position, after
// the rule between scales (none closer than w is better).
func (s *changeScanner) scan(values []float64, known *ScanTests, keep bool) ([]candidate, error) {
	w, n := s.opt.Window, len(values)
	s.lastPass = -1
	var cands, passing []candidate
	negZero := slices.ContainsFunc(values, isNegativeZero)
	scales := s.opt.scales()
	if known != nil {
		if err := known.check(n, scales); err != nil {
			return nil, err
		}
		if !known.usable(s.opt, negZero) {
			known = nil
		} else {
			s.taken = len(known.Tests)
		}
	}
	for _, sw := range scales {
		if 2*sw > n {
			break
		}
		// The positions that pass at this scale, ascending. Only they
		// are read below: a position that does not pass is neither a
		// candidate nor compared with one.
		if known != nil {
			passing = s.passingWith(values, sw, known, passing[:0])
		} else {
			passing = s.passingAt(values, sw, negZero, passing[:0])
		}
		if keep {
			s.keepTests(passing)
		}
		if len(passing) > 0 {
			s.lastPass = max(s.lastPass, passing[len(passing)-1].i)
		}
		// A candidate is the best passing position within ±sw.
		for k := range passing {
			c := &passing[k]
			best := true
			for l := k - 1; l >= 0 && c.i-passing[l].i <= sw && best; l-- {
				best = !betterCandidate(&passing[l], c)
			}
			for l := k + 1; l < len(passing) && passing[l].i-c.i <= sw && best; l++ {
				best = !betterCandidate(&passing[l], c)
			}
			if best {
				cands = append(cands, *c)
			}
		}
	}
	if len(scales) == 1 {
		return cands, nil // ascending already; one per ±w
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.i, b.i), cmp.Compare(a.scale, b.scale))
	})
	var kept []candidate
	for k := range cands {
		best := true
		for l := k - 1; l >= 0 && cands[k].i-cands[l].i < w && best; l-- {
			best = !betterCandidate(&cands[l], &cands[k])
		}
		for l := k + 1; l < len(cands) && cands[l].i-cands[k].i < w && best; l++ {
			best = !betterCandidate(&cands[l], &cands[k])
		}
		if best {
			kept = append(kept, cands[k])
		}
	}
	return kept, nil
}

// change is a confirmed change point: its index, the candidate it comes
// from and its final test.
type change struct {
	index, from int
	t           windowTest
}

// confirmStricter divides MaxP for the persistence check: a change must
// give p < MaxP/10 on its neighbourhood. The scan tests every position, so
// chance fluctuations of noisy long series pass p < MaxP somewhere; on
// the tuning seeds the stricter check removed every change point raised
// on spike series (chance dips next to them) at no cost in recall.
const confirmStricter = 10

// dayReach is how far (in positions) the one-day rule refills a sample
// whose most extreme day it left out: 3·W, so that days of up to about
// 2·W runs (192 at the defaults) can be left out with a full sample left.
func dayReach(confirmWindow int) int { return 3 * confirmWindow }

// confirm runs the persistence check over the scan's candidates
// (ascending) and returns the changes that hold, ascending by index.
func (s *changeScanner) confirm(values []float64, days []Day, cands []candidate) []change {
	W, n := s.opt.ConfirmWindow, len(values)
	// bounds returns the nearest candidates closer than W on each side
	// that keep accepts: their positions (0 and n when none) and indices
	// (−1 when none).
	bounds := func(k int, keep func(l int) bool) (lo, hi, kLo, kHi int) {
		lo, hi, kLo, kHi = 0, n, -1, -1
		for l := k - 1; l >= 0 && cands[k].i-cands[l].i < W; l-- {
			if keep(l) {
				lo, kLo = cands[l].i, l
				break
			}
		}
		for l := k + 1; l < len(cands) && cands[l].i-cands[k].i < W; l++ {
			if keep(l) {
				hi, kHi = cands[l].i, l
				break
			}
		}
		return lo, hi, kLo, kHi
	}
	// A try is one test of a candidate between bounds.
	type try struct {
		j, lo, hi, kLo, kHi int
		t                   windowTest
		left                leftDays
	}
	tryAt := func(k, lo, hi, kLo, kHi int) try {
		j, t, left := s.confirmOne(values, days, cands[k].i, lo, hi)
		return try{j, lo, hi, kLo, kHi, t, left}
	}
	// Round 1: each candidate between its nearest better candidates.
	first := make([]try, len(cands))
	for k := range cands {
		lo, hi, kLo, kHi := bounds(k, func(l int) bool { return betterCandidate(&cands[l], &cands[k]) })
		first[k] = tryAt(k, lo, hi, kLo, kHi)
	}
	// Round 2: between its nearest better candidates or candidates that
	// held in round 1 (two real changes closer than W bound each other;
	// a chance candidate that did not hold bounds nothing). A candidate
	// holds when it passes in round 2, else in round 1, else between its
	// nearest candidates.
	held := make([]try, len(cands))
	for k := range cands {
		h := first[k]
		if lo, hi, kLo, kHi := bounds(k, func(l int) bool { return first[l].t.pass || betterCandidate(&cands[l], &cands[k]) }); lo != h.lo || hi != h.hi {
			if t2 := tryAt(k, lo, hi, kLo, kHi); t2.t.pass {
				h = t2
			}
		}
		if !h.t.pass {
			if lo, hi, kLo, kHi := bounds(k, func(int) bool { return true }); lo != first[k].lo || hi != first[k].hi {
				h = tryAt(k, lo, hi, kLo, kHi)
			}
		}
		held[k] = h
	}
	// Round 3: a change whose sample was cut by a candidate that did not
	// hold must also hold between the candidates that did, without the
	// days the one-day rule left out of the ones that did not
	// (holdsBetweenChanges).
	var found []change
	var skip []Day
	for k := range cands {
		h := held[k]
		if !h.t.pass {
			continue
		}
		cutLo := h.kLo >= 0 && !held[h.kLo].t.pass
		cutHi := h.kHi >= 0 && !held[h.kHi].t.pass
		if cutLo || cutHi {
			lo, hi, _, _ := bounds(k, func(l int) bool { return held[l].t.pass })
			skip = skip[:0]
			for l := k - 1; l >= 0 && cands[l].i > lo; l-- {
				if !held[l].t.pass && first[l].left.failed {
					skip = append(skip, first[l].left.before, first[l].left.after)
				}
			}
			for l := k + 1; l < len(cands) && cands[l].i < hi; l++ {
				if !held[l].t.pass && first[l].left.failed {
					skip = append(skip, first[l].left.before, first[l].left.after)
				}
			}
			if !s.holdsBetweenChanges(values, days, h.j, lo, h.t.mw.Delta > 0, hi, skip) {
				continue
			}
		}
		found = append(found, change{index: h.j, from: cands[k].i, t: h.t})
	}
	// Of confirmed changes closer than w, the best.
	better := func(a, b *change) bool {
		if a.t.mw.P != b.t.mw.P {
			return a.t.mw.P < b.t.mw.P
		}
		if da, db := math.Abs(a.t.mw.Delta), math.Abs(b.t.mw.Delta); da != db {
			return da > db
		}
		return a.index < b.index || (a.index == b.index && a.from < b.from)
	}
	slices.SortFunc(found, func(a, b change) int {
		return cmp.Or(cmp.Compare(a.index, b.index), cmp.Compare(a.from, b.from))
	})
	w := s.opt.Window
	var kept []change
	for k := range found {
		best := true
		for l := k - 1; l >= 0 && found[k].index-found[l].index < w && best; l-- {
			best = !better(&found[l], &found[k])
		}
		for l := k + 1; l < len(found) && found[l].index-found[k].index < w && best; l++ {
			best = !better(&found[l], &found[k])
		}
		if best {
			kept = append(kept, found[k])
		}
	}
	return kept
}

// leftDays are the days the one-day rule left out of a test (the most
// extreme day of each sample), with failed set when the test passed on
// its samples and failed without those days: the candidate is a day of
// runs (a spike day, or a level seen on one day), not a change.
type leftDays struct {
	before, after Day
	failed        bool
}

// confirmOne places candidate i between the bounds lo < i < hi and tests
// it there (and, with days, without its most extreme days); it returns
// the placed index, the test and the days the one-day rule left out.
func (s *changeScanner) confirmOne(values []float64, days []Day, i, lo, hi int) (int, windowTest, leftDays) {
	W, w, n := s.opt.ConfirmWindow, s.opt.Window, len(values)
	j := s.place(values, max(lo, i-W), min(hi, i+W), i, w)
	b0, a1 := max(lo, j-W), min(hi, j+W)
	t := s.strictTest(values[b0:j], values[j:a1])
	if !t.pass {
		// The near level (method version 3): a side cut short by a
		// bounding candidate, to w … W − 1 values, is a level of
		// its own; the other side is tested on as many values, the
		// nearest, so that a level beyond it (a shift too small to be a
		// candidate, the start of a staircase) does not dilute it.
		nb, na := j-b0, a1-j
		if lo > 0 && nb >= w && nb < W {
			a1 = j + min(na, nb)
		}
		if hi < n && na >= w && na < W {
			b0 = j - min(nb, na)
		}
		if b0 != j-nb || a1 != j+na {
			t = s.strictTest(values[b0:j], values[j:a1])
		}
	}
	var left leftDays
	if t.pass && days != nil {
		reach := dayReach(W)
		s.sampleB = gatherUpTo(s.sampleB[:0], days, j-1, b0-1, -1, j-b0, nil)
		s.sampleA = gatherUpTo(s.sampleA[:0], days, j, a1, 1, a1-j, nil)
		rlo, rhi := max(0, j-reach), min(n, j+reach)
		t.pass, left = s.withoutExtremeDays(t.mw.Delta > 0, values, days, rlo, max(lo, rlo), j, min(hi, rhi), rhi, nil)
		left.failed = !t.pass
	}
	return j, t, left
}

// strictTest is test with p < MaxP/10 (the persistence check's p).
func (s *changeScanner) strictTest(before, after []float64) windowTest {
	t := s.test(before, after)
	if t.pass && t.mw.P >= s.opt.MaxP/confirmStricter {
		t.pass = false
	}
	return t
}

// holdsBetweenChanges is round 3 of the persistence check, for a change
// placed at j whose sample was cut by a candidate that did not hold: it
// must pass the same tests (p < MaxP/10, the same direction, then the
// one-day rule) on up to W values each side of j between lo and hi, the
// nearest candidates that held, from at most 3·W positions away, the
// values of the days in skip left out. A candidate that did not hold is
// no change, so the level does not end there; the days left out are the
// spike days the one-day rule found in the candidates that did not hold
// (a spike day's two ends are such candidates), so the sample runs past a
// spike without taking it in. A change placed past a candidate that held
// (between it and its own candidate) has no sample on that side and does
// not hold. The test reads no further than the one-day rule does.
func (s *changeScanner) holdsBetweenChanges(values []float64, days []Day, j, lo int, up bool, hi int, skip []Day) bool {
	W, n := s.opt.ConfirmWindow, len(values)
	reach := dayReach(W)
	lo, hi = max(lo, j-reach), min(hi, j+reach)
	if days == nil {
		skip = nil
	}
	s.sampleB = gatherUpTo(s.sampleB[:0], days, j-1, lo-1, -1, W, skip)
	s.sampleA = gatherUpTo(s.sampleA[:0], days, j, hi, 1, W, skip)
	if len(s.sampleB) == 0 || len(s.sampleA) == 0 {
		return false
	}
	t := s.testAt(values, s.sampleB, s.sampleA)
	if !t.pass || t.mw.P >= s.opt.MaxP/confirmStricter || (t.mw.Delta > 0) != up {
		return false
	}
	if days == nil {
		return true
	}
	rlo, rhi := max(0, j-reach), min(n, j+reach)
	pass, _ := s.withoutExtremeDays(up, values, days, rlo, rlo, j, rhi, rhi, skip)
	return pass
}

// place returns the split j of values[lo:hi] within ±w of i (each side
// keeping at least one value) with the largest standardized
// |U − mn/2| / sqrt(mn(m+n+1)/12) of values[j:hi] against values[lo:j]
// (ties: the nearest to i, then the earlier). U is computed once and
// updated as j moves (U counts halves, exact in floats).
func (s *changeScanner) place(values []float64, lo, hi, i, w int) int {
	j0, j1 := max(lo+1, i-w), min(hi-1, i+w)
	if j0 > j1 {
		return i
	}
	u, err := s.mw.statistic(values[j0:hi], values[lo:j0])
	if err != nil { // only non-finite values, which the caller excluded
		return i
	}
	u2 := int(2 * u) // 2U, an integer: U = u2/2 exactly at every step
	best, bestZ := i, -1.0
	for j := j0; ; j++ {
		m, n := float64(hi-j), float64(j-lo)
		u := float64(u2) / 2
		z := math.Abs(u-m*n/2) / math.Sqrt(m*n*(m+n+1)/12)
		if z > bestZ || (z == bestZ && abs(j-i) < abs(best-i)) {
			best, bestZ = j, z
		}
		if j == j1 {
			return best
		}
		// values[j] moves from the after sample to the before sample:
		// it loses φ(x, b) for each b before it and each a after it
		// gains φ(a, x).
		x := values[j]
		u2 -= phiSum(x, values[lo:j])
		u2 += phiSumOf(values[j+1:hi], x)
	}
}

// gatherUpTo appends to pos the positions from `from` by step (±1) while
// before end (excluded; none when from is past it), up to size of them,
// leaving out those whose day is in skip (days may be nil when skip is
// empty).
func gatherUpTo(pos []int, days []Day, from, end, step, size int, skip []Day) []int {
	for k := from; step*(end-k) > 0 && len(pos) < size; k += step {
		if len(skip) == 0 || !slices.Contains(skip, days[k]) {
			pos = append(pos, k)
		}
	}
	return pos
}

// testAt is test on the values at the positions before and after.
func (s *changeScanner) testAt(values []float64, before, after []int) windowTest {
	s.restB = s.restB[:0]
	for _, k := range before {
		s.restB = append(s.restB, values[k])
	}
	s.restA = s.restA[:0]
	for _, k := range after {
		s.restA = append(s.restA, values[k])
	}
	return s.test(s.restB, s.restA)
}

// withoutExtremeDays is the one-day rule for a change at j (up: slower)
// tested on the values at the positions s.sampleB (before j, descending)
// and s.sampleA (from j, ascending): it must still pass its tests, the
// same way (p < MaxP/10, the same direction), when the runs of the after
// sample's most extreme day (the highest median for a slower change, the
// lowest for a faster one) and of the before sample's most extreme day
// the other way are left out, each sample refilled to its size with the
// nearest values of other days (and of none of the days in skip) from
// values[blo:j] and values[j:bhi] — the try's bounds, within rlo ≤ blo
// and bhi ≤ rhi — and, when that leaves it with fewer than w values (or
// its size, if smaller), to w from values[rlo:blo] and values[bhi:rhi].
// A spike day, or a shift seen on one day only, fails: the refill is the
// level from before the spike (or from after it), or there is nothing to
// refill with yet. The refill crosses neighbouring candidates on purpose
// — the other end of a spike day is one — but only to make up w values
// (method version 3): a plateau of several days bounded by two changes
// keeps its other days, and is not refilled with the level beyond it
// (which, for a plateau that comes back, is the level on its other side).
// It returns whether the change passes and the days left out.
func (s *changeScanner) withoutExtremeDays(up bool, values []float64, days []Day, rlo, blo, j, bhi, rhi int, skip []Day) (bool, leftDays) {
	slices.Reverse(s.sampleB) // ascending: a tie goes to the earliest day
	left := leftDays{before: s.extremeDay(values, days, s.sampleB, !up), after: s.extremeDay(values, days, s.sampleA, up)}
	nB, nA := len(s.sampleB), len(s.sampleA)
	w := s.opt.Window
	s.skipBuf = append(append(s.skipBuf[:0], skip...), left.before)
	s.sampleB = gatherUpTo(s.sampleB[:0], days, j-1, blo-1, -1, nB, s.skipBuf)
	if short := min(nB, w); len(s.sampleB) < short {
		s.sampleB = gatherUpTo(s.sampleB, days, blo-1, rlo-1, -1, short, s.skipBuf)
	}
	s.skipBuf = append(append(s.skipBuf[:0], skip...), left.after)
	s.sampleA = gatherUpTo(s.sampleA[:0], days, j, bhi, 1, nA, s.skipBuf)
	if short := min(nA, w); len(s.sampleA) < short {
		s.sampleA = gatherUpTo(s.sampleA, days, bhi, rhi, 1, short, s.skipBuf)
	}
	if len(s.sampleB) == 0 || len(s.sampleA) == 0 {
		return false, left
	}
	rt := s.testAt(values, s.sampleB, s.sampleA)
	return rt.pass && rt.mw.P < s.opt.MaxP/confirmStricter && (rt.mw.Delta > 0) == up, left
}

// extremeDay returns the day with the highest (high) or lowest median of
// the values at the positions pos (ascending) (the first such day on a
// tie).
func (s *changeScanner) extremeDay(values []float64, days []Day, pos []int, high bool) Day {
	var worstDay Day
	var worst float64
	for a := 0; a < len(pos); {
		b := a + 1
		for b < len(pos) && days[pos[b]] == days[pos[a]] {
			b++
		}
		s.dayBuf = s.dayBuf[:0]
		for _, k := range pos[a:b] {
			s.dayBuf = append(s.dayBuf, values[k])
		}
		slices.Sort(s.dayBuf)
		med := medianSorted(s.dayBuf)
		if a == 0 || (high && med > worst) || (!high && med < worst) {
			worst, worstDay = med, days[pos[a]]
		}
		a = b
	}
	return worstDay
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
//
// Every option set DetectChanges accepts is local; the defaults give
// r = 517. How it adds up (w the window, W the confirm window, s the
// largest scan scale ≤ W, D = 3·W the one-day rule's reach): a scan test
// at scale s reads ±s and a candidate compares the tests within ±s at its
// scale and the candidates closer than w, so whether p is a candidate
// depends on ±(2s + w); round 1 of the check of a candidate at i reads the
// candidates closer than W and the values within ±(w + D) (placement
// within ±w, samples of ±W, the refill of ±D): E = max(W + 2s + w, w + D);
// round 2 reads the round-1 results of the candidates closer than W:
// W + E; round 3 reads whether the candidates closer than W held (round
// 2: W + E each), the round-1 results of those between the nearest that
// held, and values within ±(w + D): 2W + E; a change placed at j comes
// from a candidate within ±w and is compared with the changes closer than
// w: r = 2w + 2W + max(W + 2s + w, w + D) + 1 (the 1 for the half-open
// ends).
// TestDetectChangesLocal checks the property on random series.
func (o ChangeOptions) Radius() (r int, local bool) {
	w, W := o.Window, o.ConfirmWindow
	if W == 0 {
		// The scan alone: the test at i reads [i−w, i+w); a candidate
		// compares the tests within ±w.
		return 2 * w, true
	}
	sc := o.scales()
	s := sc[len(sc)-1]
	return 2*w + 2*W + max(W+2*s+w, w+dayReach(W)) + 1, true
}
