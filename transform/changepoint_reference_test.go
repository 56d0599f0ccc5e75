package transform

// The implementation of DetectChanges as of 499b3b9 (before the scan was
// made incremental), kept unchanged but for the ref prefix of its names
// and the definition's two changes of method version 2 (round 3 of the
// persistence check, the one-day rule's direction: refConfirm,
// refHoldsBetweenChanges, refWithoutExtremeDays), written here the plain
// way: TestDetectChangesMatchesReference checks the current
// implementation gives exactly its output. Test-only; never called by the
// product.

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
	// bounds returns the bounding positions and the candidates there (−1:
	// none).
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
	type tried struct {
		j, lo, hi, kLo, kHi int
		t                   refWindowTest
		dayRule             refDayRule
	}
	first := make([]tried, len(cands))
	for k := range cands {
		lo, hi, kLo, kHi := bounds(k, func(l int) bool { return refBetterCandidate(&cands[l], &cands[k]) })
		j, t, dr := s.confirmOne(values, days, cands[k].i, lo, hi)
		first[k] = tried{j, lo, hi, kLo, kHi, t, dr}
	}
	final := make([]tried, len(cands))
	for k := range cands {
		cur := first[k]
		lo, hi, kLo, kHi := bounds(k, func(l int) bool { return first[l].t.pass || refBetterCandidate(&cands[l], &cands[k]) })
		if lo != first[k].lo || hi != first[k].hi {
			if j2, t2, dr := s.confirmOne(values, days, cands[k].i, lo, hi); t2.pass {
				cur = tried{j2, lo, hi, kLo, kHi, t2, dr}
			}
		}
		if !cur.t.pass {
			lo, hi, kLo, kHi := bounds(k, func(int) bool { return true })
			if lo != first[k].lo || hi != first[k].hi {
				j, t, dr := s.confirmOne(values, days, cands[k].i, lo, hi)
				cur = tried{j, lo, hi, kLo, kHi, t, dr}
			}
		}
		final[k] = cur
	}
	var found []refChange
	for k := range cands {
		c := final[k]
		if !c.t.pass {
			continue
		}
		notHeld := func(l int) bool { return l >= 0 && !final[l].t.pass }
		if notHeld(c.kLo) || notHeld(c.kHi) {
			lo, hi, _, _ := bounds(k, func(l int) bool { return final[l].t.pass })
			var skip []Day
			for l := range cands {
				if l != k && lo < cands[l].i && cands[l].i < hi && !final[l].t.pass && first[l].dayRule.failed {
					skip = append(skip, first[l].dayRule.left...)
				}
			}
			if !s.holdsBetweenChanges(values, days, c.j, lo, hi, c.t.mw.Delta > 0, skip) {
				continue
			}
		}
		found = append(found, refChange{index: c.j, from: cands[k].i, t: c.t})
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

// refDayRule is what the one-day rule did: the days it left out, and
// whether the test failed only because of it.
type refDayRule struct {
	left   []Day
	failed bool
}

func (s *refScanner) confirmOne(values []float64, days []Day, i, lo, hi int) (int, refWindowTest, refDayRule) {
	W, w := s.opt.ConfirmWindow, s.opt.Window
	j := s.place(values, max(lo, i-W), min(hi, i+W), i, w)
	b0, a1 := max(lo, j-W), min(hi, j+W)
	strict := func(b0, a1 int) refWindowTest {
		t := s.test(values[b0:j], values[j:a1])
		if t.pass && t.mw.P >= s.opt.MaxP/refConfirmStricter {
			t.pass = false
		}
		return t
	}
	t := strict(b0, a1)
	// The near level: a side cut by a bounding candidate (lo > 0, hi < n)
	// to w…W−1 values caps the other side at its size.
	if cutB, cutA := lo > 0 && j-b0 >= w && j-b0 < W, hi < len(values) && a1-j >= w && a1-j < W; !t.pass && (cutB || cutA) {
		nb, na := j-b0, a1-j
		if cutB && na > nb {
			a1 = j + nb
		}
		if cutA && nb > na {
			b0 = j - na
		}
		if j-b0 != nb || a1-j != na {
			t = strict(b0, a1)
		}
	}
	var dr refDayRule
	if t.pass && days != nil {
		reach := refDayReach(W)
		bv, bd := slices.Clone(values[b0:j]), slices.Clone(days[b0:j])
		av, ad := slices.Clone(values[j:a1]), slices.Clone(days[j:a1])
		var dB, dA Day
		rlo, rhi := max(0, j-reach), min(len(values), j+reach)
		t.pass, dB, dA = s.withoutExtremeDays(t.mw.Delta > 0, values, days, rlo, max(lo, rlo), j, min(hi, rhi), rhi, bv, bd, av, ad, nil)
		dr = refDayRule{left: []Day{dB, dA}, failed: !t.pass}
	}
	return j, t, dr
}

// holdsBetweenChanges: W values each side of j within lo..hi and ±3W,
// leaving out the days in skip; the test, the same direction, the
// one-day rule.
func (s *refScanner) holdsBetweenChanges(values []float64, days []Day, j, lo, hi int, up bool, skip []Day) bool {
	W := s.opt.ConfirmWindow
	reach := refDayReach(W)
	lo, hi = max(lo, j-reach), min(hi, j+reach)
	out := func(k int) bool { return days != nil && slices.Contains(skip, days[k]) }
	var bv, av []float64
	var bd, ad []Day
	for k := j - 1; k >= lo && len(bv) < W; k-- {
		if !out(k) {
			bv = append(bv, values[k])
			if days != nil {
				bd = append(bd, days[k])
			}
		}
	}
	for k := j; k < hi && len(av) < W; k++ {
		if !out(k) {
			av = append(av, values[k])
			if days != nil {
				ad = append(ad, days[k])
			}
		}
	}
	if len(bv) == 0 || len(av) == 0 {
		return false
	}
	t := s.test(bv, av)
	if !t.pass || t.mw.P >= s.opt.MaxP/refConfirmStricter || (t.mw.Delta > 0) != up {
		return false
	}
	if days == nil {
		return true
	}
	slices.Reverse(bv)
	slices.Reverse(bd)
	rlo, rhi := max(0, j-reach), min(len(values), j+reach)
	pass, _, _ := s.withoutExtremeDays(up, values, days, rlo, rlo, j, rhi, rhi, bv, bd, av, ad, skip)
	return pass
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

// withoutExtremeDays: the samples bv (ascending) and av with their days;
// refilled without their extreme days and the days in skip from
// values[blo:j] and values[j:bhi] to their sizes, then from
// values[rlo:blo] and values[bhi:rhi] up to w values.
func (s *refScanner) withoutExtremeDays(up bool, values []float64, days []Day, rlo, blo, j, bhi, rhi int, bv []float64, bd []Day, av []float64, ad []Day, skip []Day) (bool, Day, Day) {
	dB := s.extremeDay(bv, bd, !up)
	dA := s.extremeDay(av, ad, up)
	w := s.opt.Window
	s.restB = s.restB[:0]
	for k := j - 1; k >= rlo; k-- {
		if k < blo && len(s.restB) >= min(len(bv), w) || len(s.restB) >= len(bv) {
			break
		}
		if days[k] != dB && !slices.Contains(skip, days[k]) {
			s.restB = append(s.restB, values[k])
		}
	}
	s.restA = s.restA[:0]
	for k := j; k < rhi; k++ {
		if k >= bhi && len(s.restA) >= min(len(av), w) || len(s.restA) >= len(av) {
			break
		}
		if days[k] != dA && !slices.Contains(skip, days[k]) {
			s.restA = append(s.restA, values[k])
		}
	}
	if len(s.restB) == 0 || len(s.restA) == 0 {
		return false, dB, dA
	}
	rt := s.test(s.restB, s.restA)
	return rt.pass && rt.mw.P < s.opt.MaxP/refConfirmStricter && (rt.mw.Delta > 0) == up, dB, dA
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
