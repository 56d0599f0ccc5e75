package transform

import (
	"math"
	"slices"
)

// scanWindows are the two samples of the scan at one scale, kept sorted
// as the split slides, with the Mann–Whitney statistic of after against
// before: the scan reads the medians at every position in O(1) and U in
// O(log s) instead of merging 2s values (the merge and the p-value are
// left to the few positions that pass the cheap conditions; see
// changeScanner.scanAt).
type scanWindows struct {
	before, after slidingSorted
	// u2 is 2U = 2·#(a > b) + #(a = b) over a in after, b in before (an
	// integer, so U = u2/2 is exactly the sum uSorted computes), when
	// uValid. Keeping it up to date costs two more searches per slide;
	// where the medians rule a stretch out it is dropped and merged
	// again when needed (u).
	u2     int
	uValid bool
	// idle counts the positions since U was last read.
	idle int
}

// newScanWindows starts the windows at split s of values: before =
// values[:s], after = values[s:2s].
func newScanWindows(values []float64, s int) scanWindows {
	return scanWindows{
		before: slidingSorted(slices.Sorted(slices.Values(values[:s]))),
		after:  slidingSorted(slices.Sorted(slices.Values(values[s : 2*s]))),
	}
}

// u returns U of after against before (u2/2), merging the windows when it
// was not kept up to date.
func (w *scanWindows) u() float64 {
	if !w.uValid {
		u, _ := uSorted(w.after, w.before)
		w.u2, w.uValid = int(2*u), true
	}
	w.idle = 0
	return float64(w.u2) / 2
}

// slide moves the split one position on: out leaves before, x moves from
// after to before, in enters after (out = values[i−1−s], x = values[i−1],
// in = values[i−1+s] for the split i). The windows end up exactly as
// slidingSorted.slide(out, x) and slide(x, in) of the implementation
// before leave them: the same positions, so the same values bit for bit
// (−0 included).
func (w *scanWindows) slide(out, x, in float64) {
	// U is dropped after a quarter of the window without a read (a merge
	// costs about what that many updates do).
	w.idle++
	track := w.uValid && w.idle <= max(2, len(w.after)/4)
	w.uValid = track
	if track {
		// out leaves before: each a in after loses its pairs with out.
		k, e := equalRun(w.after, out)
		w.u2 -= 2*(len(w.after)-k) - e
	}
	k := w.before.replace(lowerBound(w.before, out), out, x)
	if track {
		// x leaves after: it loses its pairs with each b in before but
		// itself (x now at k, the values equal to it after).
		w.u2 -= 2*k + countEqual(w.before, k+1, x)
	}
	k = lowerBound(w.after, x)
	if track {
		// x enters before: each a in after but x gains its pair with x.
		w.u2 += 2*(len(w.after)-1-k) - countEqual(w.after, k+1, x)
	}
	w.after.replace(k, x, in)
	if track {
		// in enters after: it gains its pairs with each b in before.
		k, e := equalRun(w.before, in)
		w.u2 += 2*k + e
	}
}

// replace removes the value at position k (equal to out, the first such)
// and inserts in where slices.Insert at slices.BinarySearch's position
// would after the removal, moving the values between the two positions
// once. It returns the position of in.
func (w *slidingSorted) replace(k int, out, in float64) int {
	s := *w
	switch {
	case in < out: // the values from k on are ≥ out > in: in goes before k
		j := lowerBound(s[:k], in)
		copy(s[j+1:k+1], s[j:k])
		s[j] = in
		return j
	case in > out: // the values before k are < out < in: in goes after them
		j := k + lowerBound(s[k+1:], in)
		copy(s[k:j], s[k+1:j+1])
		s[j] = in
		return j
	default: // the values before k are < in, the others ≥ in
		s[k] = in
		return k
	}
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

// equalRun returns k = #(s < v) and e = #(s = v) for sorted s.
func equalRun(s []float64, v float64) (k, e int) {
	k = lowerBound(s, v)
	return k, countEqual(s, k, v)
}

// countEqual is the number of values equal to v from position k of s.
func countEqual(s []float64, k int, v float64) int {
	e := 0
	for k+e < len(s) && s[k+e] == v {
		e++
	}
	return e
}
