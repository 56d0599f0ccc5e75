package transform

import "math"

// durationStats are the statistics of one set of valid durations, sorted
// ascending. With no values every field is NULL (contract section 3:
// "Statistics over no values are NULL, never 0").
type durationStats struct {
	avg, min, max, p50, p90, p95, p99 NullFloat
}

func statsOf(sorted []float64) durationStats {
	if len(sorted) == 0 {
		return durationStats{}
	}
	valid := func(f float64) NullFloat { return NullFloat{Float64: f, Valid: true} }
	return durationStats{
		avg: valid(meanSorted(sorted)),
		min: valid(sorted[0]),
		max: valid(sorted[len(sorted)-1]),
		p50: valid(nearestRank(sorted, 50)),
		p90: valid(nearestRank(sorted, 90)),
		p95: valid(nearestRank(sorted, 95)),
		p99: valid(nearestRank(sorted, 99)),
	}
}

// nearestRank is the exact nearest-rank percentile of sorted (non-empty,
// ascending): the smallest d such that at least pct/100·n values are ≤ d,
// PostgreSQL's percentile_disc. That d is the k-th smallest value with
// k = ceil(pct·n/100), computed in integers so that no float rounding can
// move it by one rank.
func nearestRank(sorted []float64, pct int) float64 {
	n := len(sorted)
	k := (pct*n + 99) / 100
	if k < 1 {
		k = 1
	}
	return sorted[k-1]
}

// meanSorted is the mean of sorted (non-empty, ascending, finite values).
// Summing in sorted order makes it independent of the input order;
// Neumaier's compensated summation keeps it accurate over millions of
// values. When the sum overflows (values near MaxFloat64), the mean is the
// compensated sum of value/n instead. The result is clamped to [min, max],
// where the true mean lies, so rounding cannot put it outside (the mean of
// equal values is that value).
func meanSorted(sorted []float64) float64 {
	n := float64(len(sorted))
	m := neumaier(sorted, 1) / n
	if math.IsInf(m, 0) || math.IsNaN(m) {
		m = neumaier(sorted, n)
	}
	return min(max(m, sorted[0]), sorted[len(sorted)-1])
}

// neumaier returns the sum of x/div over xs, compensated (Neumaier's
// variant of Kahan summation).
func neumaier(xs []float64, div float64) float64 {
	var sum, c float64
	for _, x := range xs {
		if div != 1 {
			x /= div
		}
		t := sum + x
		if math.Abs(sum) >= math.Abs(x) {
			c += (sum - t) + x
		} else {
			c += (x - t) + sum
		}
		sum = t
	}
	return sum + c
}
