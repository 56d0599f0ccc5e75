package transform

// The implementation of DetectChanges as of 499b3b9 (before the scan was
// made incremental), kept unchanged but for the ref prefix of its names:
// TestDetectChangesMatchesReference checks the current implementation
// gives exactly its output. Test-only; never called by the product.

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

const refRatioSlack = 1e-12

type refWindowTest struct {
	pass        bool
	mw          MannWhitney
	medB, medA  float64
	ratio       float64
	nBefore, nA int
}

type refScanner struct {
	opt    ChangeOptions
	mw     mwTester
	dayBuf []float64
	restA  []float64
	restB  []float64
}

func (s *refScanner) test(before, after []float64) refWindowTest {
	sa, sb, err := s.mw.sortCopies(after, before)
	if err != nil {
		return refWindowTest{}
	}
	return s.testSorted(sb, sa)
}

func (s *refScanner) testSorted(before, after []float64) refWindowTest {
	r := s.mw.testSorted(after, before)
	t := refWindowTest{mw: r, medB: medianSorted(before), medA: medianSorted(after),
		nBefore: len(before), nA: len(after)}
	switch {
	case t.medB != 0:
		t.ratio = t.medA / t.medB
	case t.medA > 0:
		t.ratio = math.Inf(1)
	default:
		t.ratio = 1
	}
	agree := (t.ratio > 1) == (r.Delta > 0)
	t.pass = r.P < s.opt.MaxP &&
		math.Abs(t.ratio-1) >= s.opt.MinRatio-refRatioSlack &&
		math.Abs(r.Delta) >= s.opt.MinEffect &&
		agree
	return t
}

type refSlidingSorted []float64

func (w *refSlidingSorted) slide(out, in float64) {
	s := *w
	k, _ := slices.BinarySearch(s, out)
	s = slices.Delete(s, k, k+1)
	k, _ = slices.BinarySearch(s, in)
	*w = slices.Insert(s, k, in)
}

func refDetectChanges(values []float64, days []Day, opt ChangeOptions) ([]ChangePoint, error) {
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
	if len(values) < 2*w {
		return nil, nil
	}
	s := &refScanner{opt: opt}
	cands := s.scan(values)
	var changes []refChange
	if opt.ConfirmWindow == 0 {
		changes = make([]refChange, len(cands))
		for k, c := range cands {
			changes[k] = refChange{index: c.i, from: c.i, t: c.t}
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
	return out, nil
}

type refCandidate struct {
	i, scale int
	t        refWindowTest
}

func refBetterCandidate(a, b *refCandidate) bool {
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

func refScales(o ChangeOptions) []int {
	sc := []int{o.Window}
	if o.ConfirmWindow > 0 {
		for s := 2 * o.Window; s <= o.ConfirmWindow; s *= 2 {
			sc = append(sc, s)
		}
	}
	return sc
}

func (s *refScanner) scan(values []float64) []refCandidate {
	w, n := s.opt.Window, len(values)
	tests := make([]refWindowTest, n+1)
	var cands []refCandidate
	scales := refScales(s.opt)
	for _, sw := range scales {
		if 2*sw > n {
			break
		}
		before := refSlidingSorted(slices.Sorted(slices.Values(values[:sw])))
		after := refSlidingSorted(slices.Sorted(slices.Values(values[sw : 2*sw])))
		for i := sw; i <= n-sw; i++ {
			if i > sw {
				before.slide(values[i-1-sw], values[i-1])
				after.slide(values[i-1], values[i-1+sw])
			}
			tests[i] = s.testSorted(before, after)
		}
		for i := sw; i <= n-sw; i++ {
			if !tests[i].pass {
				continue
			}
			c := refCandidate{i: i, scale: sw, t: tests[i]}
			best := true
			for j := max(sw, i-sw); j <= min(n-sw, i+sw) && best; j++ {
				if j != i && tests[j].pass && refBetterCandidate(&refCandidate{i: j, scale: sw, t: tests[j]}, &c) {
					best = false
				}
			}
			if best {
				cands = append(cands, c)
			}
		}
	}
	if len(scales) == 1 {
		return cands
	}
	slices.SortFunc(cands, func(a, b refCandidate) int {
		return cmp.Or(cmp.Compare(a.i, b.i), cmp.Compare(a.scale, b.scale))
	})
	var kept []refCandidate
	for k := range cands {
		best := true
		for l := k - 1; l >= 0 && cands[k].i-cands[l].i < w && best; l-- {
			best = !refBetterCandidate(&cands[l], &cands[k])
		}
		for l := k + 1; l < len(cands) && cands[l].i-cands[k].i < w && best; l++ {
			best = !refBetterCandidate(&cands[l], &cands[k])
		}
		if best {
			kept = append(kept, cands[k])
		}
	}
	return kept
}

type refChange struct {
	index, from int
	t           refWindowTest
}

const refConfirmStricter = 10

func refDayReach(confirmWindow int) int { return 3 * confirmWindow }

func (s *refScanner) confirm(values []float64, days []Day, cands []refCandidate) []refChange {
	W, n := s.opt.ConfirmWindow, len(values)
	bounds := func(k int, keep func(l int) bool) (lo, hi int) {
		lo, hi = 0, n
		for l := k - 1; l >= 0 && cands[k].i-cands[l].i < W; l-- {
			if keep(l) {
				lo = cands[l].i
				break
			}
		}
		for l := k + 1; l < len(cands) && cands[l].i-cands[k].i < W; l++ {
			if keep(l) {
				hi = cands[l].i
				break
			}
		}
		return lo, hi
	}
	type tried struct {
		j, lo, hi int
		t         refWindowTest
	}
	first := make([]tried, len(cands))
	for k := range cands {
		lo, hi := bounds(k, func(l int) bool { return refBetterCandidate(&cands[l], &cands[k]) })
		j, t := s.confirmOne(values, days, cands[k].i, lo, hi)
		first[k] = tried{j, lo, hi, t}
	}
	var found []refChange
	for k := range cands {
		lo, hi := bounds(k, func(l int) bool { return first[l].t.pass || refBetterCandidate(&cands[l], &cands[k]) })
		j, t := first[k].j, first[k].t
		if lo != first[k].lo || hi != first[k].hi {
			if j2, t2 := s.confirmOne(values, days, cands[k].i, lo, hi); t2.pass {
				j, t = j2, t2
			}
		}
		if !t.pass {
			lo, hi := bounds(k, func(int) bool { return true })
			if lo != first[k].lo || hi != first[k].hi {
				j, t = s.confirmOne(values, days, cands[k].i, lo, hi)
			}
		}
		if t.pass {
			found = append(found, refChange{index: j, from: cands[k].i, t: t})
		}
	}
	better := func(a, b *refChange) bool {
		if a.t.mw.P != b.t.mw.P {
			return a.t.mw.P < b.t.mw.P
		}
		if da, db := math.Abs(a.t.mw.Delta), math.Abs(b.t.mw.Delta); da != db {
			return da > db
		}
		return a.index < b.index || (a.index == b.index && a.from < b.from)
	}
	slices.SortFunc(found, func(a, b refChange) int {
		return cmp.Or(cmp.Compare(a.index, b.index), cmp.Compare(a.from, b.from))
	})
	w := s.opt.Window
	var kept []refChange
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

func (s *refScanner) confirmOne(values []float64, days []Day, i, lo, hi int) (int, refWindowTest) {
	W, w := s.opt.ConfirmWindow, s.opt.Window
	j := s.place(values, max(lo, i-W), min(hi, i+W), i, w)
	b0, a1 := max(lo, j-W), min(hi, j+W)
	t := s.test(values[b0:j], values[j:a1])
	if t.pass && t.mw.P >= s.opt.MaxP/refConfirmStricter {
		t.pass = false
	}
	if t.pass && days != nil {
		reach := refDayReach(W)
		t.pass = s.withoutExtremeDays(t, values, days, max(0, j-reach), b0, j, a1, min(len(values), j+reach))
	}
	return j, t
}

func (s *refScanner) place(values []float64, lo, hi, i, w int) int {
	j0, j1 := max(lo+1, i-w), min(hi-1, i+w)
	if j0 > j1 {
		return i
	}
	u, err := s.mw.statistic(values[j0:hi], values[lo:j0])
	if err != nil {
		return i
	}
	best, bestZ := i, -1.0
	for j := j0; ; j++ {
		m, n := float64(hi-j), float64(j-lo)
		z := math.Abs(u-m*n/2) / math.Sqrt(m*n*(m+n+1)/12)
		if z > bestZ || (z == bestZ && abs(j-i) < abs(best-i)) {
			best, bestZ = j, z
		}
		if j == j1 {
			return best
		}
		x := values[j]
		for _, b := range values[lo:j] {
			if x > b {
				u--
			} else if x == b {
				u -= 0.5
			}
		}
		for _, a := range values[j+1 : hi] {
			if a > x {
				u++
			} else if a == x {
				u += 0.5
			}
		}
	}
}

func (s *refScanner) withoutExtremeDays(t refWindowTest, values []float64, days []Day, rlo, b0, j, a1, rhi int) bool {
	up := t.mw.Delta > 0
	dB := s.extremeDay(values[b0:j], days[b0:j], !up)
	dA := s.extremeDay(values[j:a1], days[j:a1], up)
	s.restB = s.restB[:0]
	for k := j - 1; k >= rlo && len(s.restB) < j-b0; k-- {
		if days[k] != dB {
			s.restB = append(s.restB, values[k])
		}
	}
	s.restA = s.restA[:0]
	for k := j; k < rhi && len(s.restA) < a1-j; k++ {
		if days[k] != dA {
			s.restA = append(s.restA, values[k])
		}
	}
	if len(s.restB) == 0 || len(s.restA) == 0 {
		return false
	}
	rt := s.test(s.restB, s.restA)
	return rt.pass && rt.mw.P < s.opt.MaxP/refConfirmStricter
}

func (s *refScanner) extremeDay(vals []float64, days []Day, high bool) Day {
	var worstDay Day
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
			worst, worstDay = med, days[a]
		}
		a = b
	}
	return worstDay
}
