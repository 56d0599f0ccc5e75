package transform

import "slices"

// scanWindows are the two samples of the scan at one scale, kept sorted
// as the split slides, with the Mann–Whitney statistic of after against
// before kept up to date: the scan reads the medians and U at every
// position in O(log s) instead of merging 2s values (the merge and the
// p-value are left to the few positions that pass the cheap conditions;
// see changeScanner.scanAt).
type scanWindows struct {
	before, after slidingSorted
	// u2 is 2U = 2·#(a > b) + #(a = b) over a in after, b in before: an
	// integer, so U = u2/2 is exactly the sum uSorted computes.
	u2 int
}

// newScanWindows starts the windows at split s of values: before =
// values[:s], after = values[s:2s].
func newScanWindows(values []float64, s int) scanWindows {
	w := scanWindows{
		before: slidingSorted(slices.Sorted(slices.Values(values[:s]))),
		after:  slidingSorted(slices.Sorted(slices.Values(values[s : 2*s]))),
	}
	u, _ := uSorted(w.after, w.before)
	w.u2 = int(2 * u)
	return w
}

// slide moves the split one position on: out leaves before, x moves from
// after to before, in enters after (out = values[i−1−s], x = values[i−1],
// in = values[i−1+s] for the split i). The windows end up exactly as
// slidingSorted.slide(out, x) and slide(x, in) leave them (the same
// positions, so the same values bit for bit, −0 included).
func (w *scanWindows) slide(out, x, in float64) {
	// out leaves before: each a in after loses its pairs with out.
	k, e := equalRun(w.after, out)
	w.u2 -= 2*(len(w.after)-k) - e
	w.before.removeAt(lowerBound(w.before, out))
	// x leaves after: it loses its pairs with each b in before.
	k, e = equalRun(w.before, x)
	w.u2 -= 2*k + e
	// x enters before: each a left in after gains its pair with x.
	w.before.insertAt(k, x)
	w.after.removeAt(lowerBound(w.after, x))
	k, e = equalRun(w.after, x)
	w.u2 += 2*(len(w.after)-k) - e
	// in enters after: it gains its pairs with each b in before.
	k, e = equalRun(w.before, in)
	w.u2 += 2*k + e
	w.after.insertAt(lowerBound(w.after, in), in)
}

// lowerBound is the first position of sorted s whose value is not below v:
// slices.BinarySearch's position for values that are not NaN.
func lowerBound(s []float64, v float64) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// equalRun returns k = #(s < v) and e = #(s = v) for sorted s.
func equalRun(s []float64, v float64) (k, e int) {
	k = lowerBound(s, v)
	for k+e < len(s) && s[k+e] == v {
		e++
	}
	return k, e
}

// removeAt deletes the value at position k.
func (w *slidingSorted) removeAt(k int) {
	s := *w
	copy(s[k:], s[k+1:])
	*w = s[:len(s)-1]
}

// insertAt inserts v at position k (within the capacity a removeAt freed).
func (w *slidingSorted) insertAt(k int, v float64) {
	s := (*w)[:len(*w)+1]
	copy(s[k+1:], s[k:])
	s[k] = v
	*w = s
}
