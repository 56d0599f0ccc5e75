package transform

import (
	"math"
	"math/bits"
	"slices"
)

// The scan tests every split i of a series at each scale s: before =
// values[i−s:i] against after = values[i:i+s] (testSorted). Done as it
// reads, that is a merge of 2s values for U, both medians and a p-value
// per split and scale, most of a detection's cost. A split passes only
// when all of p < MaxP, |ratio − 1| ≥ MinRatio, |δ| ≥ MinEffect and
// sign(ratio − 1) = sign(δ) hold, so passingAt checks the cheap ones
// first, each computed exactly as testSorted computes it:
//
//   - the ratio of the medians. Before at split i is after at split i − s,
//     so the after window alone, sorted as it slides (one removal and one
//     insertion per position), gives both medians of every split.
//   - δ and its sign, from U. Where the ratio passes, the before window
//     is held sorted too, and U is updated as the windows slide in
//     O(log s) per position; where the ratio fails for a while, both are
//     dropped and started again (sorted, merged) when it passes.
//
// Only where both pass is the p-value computed, from the same U and a tie
// term kept with it (resultFromU, no merge), and the split judged as
// testSorted judges it: the figures are those of the previous
// implementation bit for bit (TestDetectChangesMatchesReference). The
// splits that fail are dropped: the scan never reads a test that does not
// pass.
//
// A median read from a window sorted in another way is the same value
// bit for bit, equal values having equal bits — except −0 and +0, which
// compare equal: which one a median picks depends on how the window was
// built. So a series holding a −0 is scanned as the previous
// implementation did: before from values[:s], after from values[s:2s],
// both slid along every split.

// passingAt appends to passing the splits of values that pass at scale
// sw (sw ≤ i ≤ n − sw), ascending, each with its test.
func (s *changeScanner) passingAt(values []float64, sw int, negZero bool, passing []candidate) []candidate {
	n := len(values)
	win := &s.win
	var med []float64 // med[j] is the median of values[j:j+sw]
	sum := &s.sum
	lastRatio := -2*sw - 1 // the last split whose ratio passed
	if negZero {
		win.startBoth(values, sw)
	} else {
		s.med = slices.Grow(s.med[:0], n-sw+1)[:n-sw+1]
		med = s.med
		sum.start(sw)
		win.startAfter(values[:sw])
		med[0] = medianSorted(win.after)
		sum.record(0, win.after)
		for j := 1; j <= sw; j++ {
			win.slide(values[j-1], values[j-1+sw])
			med[j] = medianSorted(win.after)
			sum.record(j, win.after)
		}
	}
	for i := sw; i <= n-sw; i++ {
		if i > sw {
			win.slideSplit(values[i-1-sw], values[i-1], values[i-1+sw])
		}
		medA := medianSorted(win.after)
		var medB float64
		if negZero {
			medB = medianSorted(win.before)
		} else {
			med[i] = medA
			medB = med[i-sw]
			if i > sw && i-lastRatio <= 4*sw {
				sum.record(i, win.after)
			}
		}
		ratio := medianRatio(medB, medA)
		if !s.ratioPasses(ratio) {
			continue
		}
		lastRatio = i
		// The before window at i is the after window at i − s, of which
		// sum kept a few order statistics (when the ratio passed at a
		// split less than 4s before it: where it passes seldom, the
		// statistics cost more than they save): with after they bound U,
		// and a split whose δ fails at the bound fails at U. Where U is
		// kept up to date (it was read lately) it costs less than the
		// bound.
		if !negZero && !win.uValid && sum.has(i-sw) && !s.effectMayPass(i-sw, win.after, ratio) {
			continue
		}
		if !win.hasBefore {
			win.startBefore(values[i-sw : i])
		}
		if t := s.testAfterRatio(win, ratio); t.pass {
			passing = append(passing, candidate{i: i, scale: sw, t: t})
		}
	}
	return passing
}

// medianRatio is testSorted's ratio of the medians after/before.
func medianRatio(medB, medA float64) float64 {
	switch {
	case medB != 0:
		return medA / medB
	case medA > 0:
		return math.Inf(1)
	default:
		return 1
	}
}

// ratioPasses is testSorted's condition on the ratio of the medians.
func (s *changeScanner) ratioPasses(ratio float64) bool {
	return math.Abs(ratio-1) >= s.opt.MinRatio-ratioSlack
}

// testAfterRatio is testSorted(win.before, win.after) for a split whose
// ratio passes: δ from the U the windows keep, and its sign against the
// ratio's, computed as testSorted computes them, decide first; a test
// that does not pass has its other fields unset.
func (s *changeScanner) testAfterRatio(win *scanWindows, ratio float64) windowTest {
	u := win.u()
	if !s.effectPasses(effectOf(u, len(win.after), len(win.before)), ratio) {
		return windowTest{}
	}
	r := s.mw.resultFromU(u, float64(win.ties), len(win.after), len(win.before))
	return s.judge(win.before, win.after, r)
}

// effectOf is Cliff's δ of samples of m and n values from U, computed as
// resultFromU computes it (2U/(mn) − 1): for fixed m and n it does not
// decrease as U grows (each step is a rounded monotone operation).
func effectOf(u float64, m, n int) float64 {
	return 2*u/(float64(m)*float64(n)) - 1
}

// effectPasses is testSorted's conditions on δ for a split whose medians'
// ratio is ratio: |δ| ≥ MinEffect and δ of the ratio's sign. For a ratio
// above 1 they hold on an upward-closed set of δ (δ > 0 and δ ≥ MinEffect),
// otherwise on a downward-closed one (δ ≤ 0 and δ ≤ −MinEffect).
func (s *changeScanner) effectPasses(delta, ratio float64) bool {
	return math.Abs(delta) >= s.opt.MinEffect && (ratio > 1) == (delta > 0)
}

// resultFromU is mwTester.testSorted(a, b) for samples of m and n values
// whose U and tie term Σ(t³ − t) are known: the same p-value, computed
// the same way, without the merge. TestResultFromUMatchesTestSorted
// holds it to testSorted bit for bit.
func (t *mwTester) resultFromU(u, tieTerm float64, m, n int) MannWhitney {
	mf, nf := float64(m), float64(n)
	res := MannWhitney{U: u, Delta: 2*u/(mf*nf) - 1}
	if tieTerm == 0 && m < exactMaxSize && n < exactMaxSize {
		cdf := t.exactCDF(m, n)
		lower := min(u, mf*nf-u) // an integer without ties
		res.P = min(1, 2*cdf[int(lower)])
		res.Exact = true
		return res
	}
	N := mf + nf
	sigma := math.Sqrt(mf * nf / 12 * ((N + 1) - tieTerm/(N*(N-1))))
	dev := math.Abs(u-mf*nf/2) - 0.5
	if sigma == 0 || dev <= 0 {
		res.P = 1
		return res
	}
	res.P = min(1, math.Erfc(dev/sigma/math.Sqrt2))
	return res
}

func isNegativeZero(v float64) bool { return v == 0 && math.Signbit(v) }

// scanWindows are the two samples of the scan at one scale, kept sorted
// as the split slides: after always, before while needed (hasBefore),
// with the Mann–Whitney statistic of after against before (uValid).
type scanWindows struct {
	before, after slidingSorted
	// hasBefore says before holds the values before the split; keepBefore
	// that it is never dropped.
	hasBefore, keepBefore bool
	// u2 is 2U = 2·#(a > b) + #(a = b) over a in after, b in before (an
	// integer, so U = u2/2 is exactly the sum uSorted computes), when
	// uValid.
	u2 int
	// ties is the tie term Σ(t³ − t) over the groups of equal values of
	// both windows (an integer, as uSorted sums it), kept with u2.
	ties   int
	uValid bool
	// idle counts the positions since U was last read. Keeping before
	// and U up to date costs a second window's searches and moves per
	// position; after a quarter of the window without a read they are
	// dropped (sorting and merging them again costs about what that many
	// updates do).
	idle int
}

// startAfter sets after to the sorted values (the split at their start,
// before dropped).
func (w *scanWindows) startAfter(values []float64) {
	w.after = append(w.after[:0], values...)
	slices.Sort(w.after)
	w.hasBefore, w.keepBefore, w.uValid = false, false, false
}

// startBefore sets before to the sorted values (those before the split);
// U is to be merged.
func (w *scanWindows) startBefore(values []float64) {
	w.before = append(w.before[:0], values...)
	slices.Sort(w.before)
	w.hasBefore, w.uValid, w.idle = true, false, 0
}

// startBoth sets the windows to split s of values as the previous
// implementation did (before = values[:s], after = values[s:2s], each
// sorted by slices.Sorted) and keeps both along every split.
func (w *scanWindows) startBoth(values []float64, s int) {
	w.before = append(w.before[:0], slices.Sorted(slices.Values(values[:s]))...)
	w.after = append(w.after[:0], slices.Sorted(slices.Values(values[s:2*s]))...)
	w.hasBefore, w.keepBefore, w.uValid, w.idle = true, true, false, 0
}

// newScanWindows is a scanWindows started with startBoth.
func newScanWindows(values []float64, s int) scanWindows {
	var w scanWindows
	w.startBoth(values, s)
	return w
}

// u returns U of after against before (u2/2), merging the windows when it
// was not kept up to date.
func (w *scanWindows) u() float64 {
	if !w.uValid {
		u, ties := uSorted(w.after, w.before)
		w.u2, w.ties, w.uValid = int(2*u), int(ties), true
	}
	w.idle = 0
	return float64(w.u2) / 2
}

// slide moves after alone one position on: out leaves it, in enters.
func (w *scanWindows) slide(out, in float64) {
	kOut, kIn := lowerBound2(w.after, out, in)
	w.after.replaceAt(kOut, kIn, out, in)
}

// slideSplit moves the split one position on: out leaves before, x moves
// from after to before, in enters after (out = values[i−1−s], x =
// values[i−1], in = values[i−1+s] for the split i). The windows end up
// exactly as the previous implementation's slide left them (slices.Delete
// at slices.BinarySearch's position, then slices.Insert at its position):
// the same positions, so the same values bit for bit (−0 included). The positions are searched for in the
// windows as they were, together (the searches are most of the cost, and
// interleaved they overlap).
func (w *scanWindows) slideSplit(out, x, in float64) {
	w.idle++
	fresh := w.idle <= max(2, len(w.after)/4)
	w.hasBefore = w.hasBefore && (w.keepBefore || fresh)
	w.uValid = w.uValid && w.hasBefore && fresh
	if !w.hasBefore {
		w.slide(x, in)
		return
	}
	A, B := w.after, w.before
	aOut, aX, aIn := lowerBound3(A, out, x, in)
	bOut, bX, bIn := lowerBound3(B, out, x, in)
	if w.uValid {
		// With φ(a, b) = 2·[a > b] + [a = b], 2U = Σ φ(a, b) over a in
		// after, b in before; L = |A| = |B|.
		L := len(A)
		aOutEq, aXEq, aInEq := equalCounts3(A, aOut, aX, aIn, out, x, in)
		bOutEq, bXEq, bInEq := equalCounts3(B, bOut, bX, bIn, out, x, in)
		// out leaves before: each a in after loses φ(a, out);
		w.u2 -= 2*(L-aOut) - aOutEq
		// x leaves after: it loses φ(x, b) for each b in before but out;
		w.u2 -= 2*bX + bXEq - phi(x, out)
		// x enters before: each a in after but x gains φ(a, x);
		w.u2 += 2*(L-aX) - aXEq - 1
		// in enters after: it gains φ(in, b) for each b in before but
		// out, and φ(in, x).
		w.u2 += 2*bIn + bInEq - phi(in, out) + phi(in, x)
		// Both windows together lose out and gain in (x stays): a group
		// of c equal values goes from c³ − c to (c ∓ 1)³ − (c ∓ 1).
		c := aOutEq + bOutEq
		w.ties -= 3 * c * (c - 1)
		c = aInEq + bInEq
		if in == out {
			c--
		}
		w.ties += 3 * c * (c + 1)
	}
	B.replaceAt(bOut, bX, out, x)
	A.replaceAt(aX, aIn, x, in)
}

// phi is φ(a, b) = 2·[a > b] + [a = b].
func phi(a, b float64) int {
	switch {
	case a > b:
		return 2
	case a == b:
		return 1
	}
	return 0
}

// phiSum is Σ φ(x, b) over b in bs, for the values of a duration series
// (lowerBound's conditions), without a branch per value: on the keys k
// (the bits without the sign), 2·[x > b] + [x = b] = [kb < kx] +
// (1 − [kx < kb]), and [p < q] is the sign bit of p − q.
func phiSum(x float64, bs []float64) int {
	const sign = 1 << 63
	kx := math.Float64bits(x) &^ sign
	sum := 0
	for _, b := range bs {
		kb := math.Float64bits(b) &^ sign
		sum += 1 + int((kb-kx)>>63) - int((kx-kb)>>63)
	}
	return sum
}

// phiSumOf is Σ φ(a, x) over a in as (phiSum's conditions).
func phiSumOf(as []float64, x float64) int {
	const sign = 1 << 63
	kx := math.Float64bits(x) &^ sign
	sum := 0
	for _, a := range as {
		ka := math.Float64bits(a) &^ sign
		sum += 1 + int((kx-ka)>>63) - int((ka-kx)>>63)
	}
	return sum
}

// replaceAt removes the value at position kOut (out, the first value
// equal to it) and inserts in where slices.Insert at
// slices.BinarySearch's position would after the removal, given kIn =
// lowerBound(s, in) before the removal: the values between the two
// positions move once.
func (s slidingSorted) replaceAt(kOut, kIn int, out, in float64) {
	if out < in {
		kIn-- // out, below in, is gone
	}
	switch {
	case kIn < kOut:
		copy(s[kIn+1:kOut+1], s[kIn:kOut])
	case kIn > kOut:
		copy(s[kOut:kIn], s[kOut+1:kIn+1])
	}
	s[kIn] = in
}

// lowerBound is the first position of sorted s whose value is not below v:
// slices.BinarySearch's position, for the values of a duration series
// (finite, non-negative; −0 allowed). On those the order of the floats is
// the order of their bits without the sign (−0 and +0 alike, as they
// compare equal), and comparing integers lets the search halve the
// window without a branch (a mask): the comparisons are unpredictable and
// the search is most of the scan's cost.
func lowerBound(s []float64, v float64) int {
	const sign = 1 << 63
	key := math.Float64bits(v) &^ sign
	base, n := 0, len(s)
	for n > 1 {
		half := n / 2
		// below is all ones when s[base+half−1] < v (both keys < 2^63).
		below := int(int64((math.Float64bits(s[base+half-1])&^sign)-key) >> 63)
		base += half & below
		n -= half
	}
	if n == 1 && math.Float64bits(s[base])&^sign < key {
		base++
	}
	return base
}

// lowerBound2 is lowerBound of v1 and of v2 in s, the two searches
// interleaved (independent, they overlap in the processor).
func lowerBound2(s []float64, v1, v2 float64) (k1, k2 int) {
	const sign = 1 << 63
	key1, key2 := math.Float64bits(v1)&^sign, math.Float64bits(v2)&^sign
	n := len(s)
	for n > 1 {
		half := n / 2
		k1 += half & int(int64((math.Float64bits(s[k1+half-1])&^sign)-key1)>>63)
		k2 += half & int(int64((math.Float64bits(s[k2+half-1])&^sign)-key2)>>63)
		n -= half
	}
	if n == 1 {
		if math.Float64bits(s[k1])&^sign < key1 {
			k1++
		}
		if math.Float64bits(s[k2])&^sign < key2 {
			k2++
		}
	}
	return k1, k2
}

// lowerBound3 is lowerBound of v1, v2 and v3 in s, the three searches
// interleaved.
func lowerBound3(s []float64, v1, v2, v3 float64) (k1, k2, k3 int) {
	const sign = 1 << 63
	key1, key2, key3 := math.Float64bits(v1)&^sign, math.Float64bits(v2)&^sign, math.Float64bits(v3)&^sign
	n := len(s)
	for n > 1 {
		half := n / 2
		k1 += half & int(int64((math.Float64bits(s[k1+half-1])&^sign)-key1)>>63)
		k2 += half & int(int64((math.Float64bits(s[k2+half-1])&^sign)-key2)>>63)
		k3 += half & int(int64((math.Float64bits(s[k3+half-1])&^sign)-key3)>>63)
		n -= half
	}
	if n == 1 {
		if math.Float64bits(s[k1])&^sign < key1 {
			k1++
		}
		if math.Float64bits(s[k2])&^sign < key2 {
			k2++
		}
		if math.Float64bits(s[k3])&^sign < key3 {
			k3++
		}
	}
	return k1, k2, k3
}

// equalCounts3 returns the numbers of values equal to v1, v2 and v3 in
// sorted s from their lowerBound positions k1, k2 and k3: a few values are
// looked at (most values have none or one equal); when a run is longer
// (a series of few distinct values), the ends of the three are searched
// for together.
func equalCounts3(s []float64, k1, k2, k3 int, v1, v2, v3 float64) (e1, e2, e3 int) {
	var long1, long2, long3 bool
	e1, long1 = shortRun(s, k1, v1)
	e2, long2 = shortRun(s, k2, v2)
	e3, long3 = shortRun(s, k3, v3)
	if long1 || long2 || long3 {
		u1, u2, u3 := upperBound3(s, v1, v2, v3)
		e1, e2, e3 = u1-k1, u2-k2, u3-k3
	}
	return e1, e2, e3
}

// shortRun counts the values equal to v from position k of s, up to 3;
// long says there are more.
func shortRun(s []float64, k int, v float64) (e int, long bool) {
	for ; e < 3; e++ {
		if k+e == len(s) || s[k+e] != v {
			return e, false
		}
	}
	return e, k+e < len(s) && s[k+e] == v
}

// upperBound3 is the first position of sorted s whose value is above v1,
// v2, v3 in turn, the three searches interleaved (lowerBound's conditions
// and method).
func upperBound3(s []float64, v1, v2, v3 float64) (k1, k2, k3 int) {
	const sign = 1 << 63
	key1, key2, key3 := math.Float64bits(v1)&^sign, math.Float64bits(v2)&^sign, math.Float64bits(v3)&^sign
	n := len(s)
	for n > 1 {
		half := n / 2
		// The mask is all ones when s[k+half−1] > v.
		k1 += half &^ int(int64(key1-(math.Float64bits(s[k1+half-1])&^sign))>>63)
		k2 += half &^ int(int64(key2-(math.Float64bits(s[k2+half-1])&^sign))>>63)
		k3 += half &^ int(int64(key3-(math.Float64bits(s[k3+half-1])&^sign))>>63)
		n -= half
	}
	if n == 1 {
		if math.Float64bits(s[k1])&^sign <= key1 {
			k1++
		}
		if math.Float64bits(s[k2])&^sign <= key2 {
			k2++
		}
		if math.Float64bits(s[k3])&^sign <= key3 {
			k3++
		}
	}
	return k1, k2, k3
}

// summaryQ sets the order statistics windowSummaries keeps of each
// window of s values: those at ranks r_t = ⌊t(s − 1)/summaryQ⌋, t = 0 …
// summaryQ (repeated when s is smaller). A power of 2, at least 4
// (effectMayPass halves the stride from summaryQ/4).
const summaryQ = 8

// windowSummaries keeps, for each recent position j of one scale, order
// statistics of the sorted after window at j (values[j:j+s]), in a ring of
// more than s positions: the split at i reads the window at i − s.
type windowSummaries struct {
	mask  int // the ring's size (a power of 2 above s) − 1
	ranks [summaryQ + 1]int
	stats []float64 // summaryQ + 1 statistics for each position j at j & mask
	at    []int     // the position whose statistics each slot holds (−1: none)
}

// start sets the summaries up for windows of s values.
func (m *windowSummaries) start(s int) {
	m.mask = 1<<bits.Len(uint(s)) - 1
	for t := range m.ranks {
		m.ranks[t] = t * (s - 1) / summaryQ
	}
	k := (m.mask + 1) * (summaryQ + 1)
	m.stats = slices.Grow(m.stats[:0], k)[:k]
	m.at = slices.Grow(m.at[:0], m.mask+1)[:m.mask+1]
	for k := range m.at {
		m.at[k] = -1
	}
}

// has says the statistics of position j are kept.
func (m *windowSummaries) has(j int) bool { return m.at[j&m.mask] == j }

// of returns the statistics recorded for position j.
func (m *windowSummaries) of(j int) *[summaryQ + 1]float64 {
	return (*[summaryQ + 1]float64)(m.stats[(j&m.mask)*(summaryQ+1):])
}

// record keeps the statistics of the sorted window at position j.
func (m *windowSummaries) record(j int, sorted []float64) {
	m.at[j&m.mask] = j
	dst := m.of(j)
	for t, r := range m.ranks {
		dst[t] = sorted[r]
	}
}

// effectMayPass says whether δ can pass (effectPasses) at a split whose
// medians' ratio is ratio, after being the sorted after window and the
// before window the one recorded at position j of sum: false only when
// it cannot.
//
// With g(b) = #(a > b) + ½·#(a = b) over a in after, U = Σ g(b) over b
// in before, and g does not increase with b. Of the before window's
// statistics b_t (rank r_t), each value at ranks r_t … r_{t+k} − 1 is at
// least b_t, so its g is at most g(b_t) (at most |after| for t = 0), and
// each value at ranks r_{t−k} + 1 … r_t is at most b_t, so its g is at
// least g(b_t) (at least 0 for the largest statistic): summed, an
// upper and a lower bound of 2U, the closer the smaller k. δ grows with U
// (effectOf) and effectPasses holds on an upward-closed set of δ for a
// ratio above 1, a downward-closed one otherwise: if it fails at the upper
// bound (ratio above 1), or at the lower one, it fails at U. The bound is
// tried with k = summaryQ/4, then halved down to 1 (4 searches in after,
// then 4 more, … : 8 in all with summaryQ 8), the splits of a noisy series
// failing mostly at the first.
func (s *changeScanner) effectMayPass(j int, after []float64, ratio float64) bool {
	m := &s.sum
	b := m.of(j)
	r := &m.ranks
	L := len(after)
	upper := ratio > 1
	// g2[t] is 2·g(b_t), once searched.
	var g2 [summaryQ + 1]int
	for k := summaryQ / 4; k >= 1; k /= 2 {
		// The statistics new at this k: every k-th at the first, the odd
		// multiples of k after.
		first, step := k, 2*k
		if k == summaryQ/4 {
			first, step = 0, k
			if upper {
				first = k
			}
		}
		for t := first; t+3*step <= summaryQ; t += 4 * step {
			searchStatistics(after, b, &g2, t, step)
		}
		u2 := 0
		if upper {
			u2 = (r[k] - r[0]) * 2 * L
			for t := k; t < summaryQ; t += k {
				u2 += (r[t+k] - r[t]) * g2[t]
			}
			u2 += g2[summaryQ]
		} else {
			u2 = g2[0]
			for t := k; t < summaryQ; t += k {
				u2 += (r[t] - r[t-k]) * g2[t]
			}
		}
		if !s.effectPasses(effectOf(float64(u2)/2, L, L), ratio) {
			return false
		}
	}
	return true
}

// searchStatistics sets g2[t] to 2·g(b[t]) = 2·#(a > b[t]) + #(a = b[t])
// over a in after, and the same for t + step, t + 2·step and t + 3·step.
func searchStatistics(after []float64, b *[summaryQ + 1]float64, g2 *[summaryQ + 1]int, t, step int) {
	L := len(after)
	t1, t2, t3 := t+step, t+2*step, t+3*step
	k0, k1, k2, k3 := lowerBound4(after, b[t], b[t1], b[t2], b[t3])
	g2[t] = 2*(L-k0) - equalFrom(after, k0, b[t])
	g2[t1] = 2*(L-k1) - equalFrom(after, k1, b[t1])
	g2[t2] = 2*(L-k2) - equalFrom(after, k2, b[t2])
	g2[t3] = 2*(L-k3) - equalFrom(after, k3, b[t3])
}

// equalFrom counts the values equal to v in sorted s from position k
// (lowerBound(s, v)).
func equalFrom(s []float64, k int, v float64) int {
	e := k
	for e < len(s) && s[e] == v {
		e++
	}
	return e - k
}

// lowerBound4 is lowerBound of v1 … v4 in s, the four searches
// interleaved.
func lowerBound4(s []float64, v1, v2, v3, v4 float64) (k1, k2, k3, k4 int) {
	const sign = 1 << 63
	key1, key2 := math.Float64bits(v1)&^sign, math.Float64bits(v2)&^sign
	key3, key4 := math.Float64bits(v3)&^sign, math.Float64bits(v4)&^sign
	n := len(s)
	for n > 1 {
		half := n / 2
		k1 += half & int(int64((math.Float64bits(s[k1+half-1])&^sign)-key1)>>63)
		k2 += half & int(int64((math.Float64bits(s[k2+half-1])&^sign)-key2)>>63)
		k3 += half & int(int64((math.Float64bits(s[k3+half-1])&^sign)-key3)>>63)
		k4 += half & int(int64((math.Float64bits(s[k4+half-1])&^sign)-key4)>>63)
		n -= half
	}
	if n == 1 {
		if math.Float64bits(s[k1])&^sign < key1 {
			k1++
		}
		if math.Float64bits(s[k2])&^sign < key2 {
			k2++
		}
		if math.Float64bits(s[k3])&^sign < key3 {
			k3++
		}
		if math.Float64bits(s[k4])&^sign < key4 {
			k4++
		}
	}
	return k1, k2, k3, k4
}
