package transform

import "math"

// wilsonZ is the normal quantile of the contract's Wilson intervals (95 %).
const wilsonZ = 1.96

// Interval is a closed interval of proportions, [Low, High] ⊂ [0, 1].
type Interval struct {
	Low, High float64
}

// Wilson returns the Wilson score interval of k successes out of n trials
// with z = 1.96 (contract section 2b): centre (p + z²/2n) / (1 + z²/n),
// half-width z·sqrt(p(1−p)/n + z²/4n²) / (1 + z²/n), p = k/n, both ends
// clamped to [0, 1]. With n = 0 there is no interval (ok false: the
// columns are NULL). k outside [0, n] is a caller's bug and gives ok false
// too, never a made-up interval.
func Wilson(k, n int64) (iv Interval, ok bool) {
	if n <= 0 || k < 0 || k > n {
		return Interval{}, false
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := wilsonZ * wilsonZ
	denom := 1 + z2/nf
	centre := (p + z2/(2*nf)) / denom
	half := wilsonZ * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / denom
	iv = Interval{Low: clamp01(centre - half), High: clamp01(centre + half)}
	// At p = 0 the low end is exactly 0 and at p = 1 the high end exactly 1
	// (centre = half there); rounding would leave 5e-17 instead.
	if k == 0 {
		iv.Low = 0
	}
	if k == n {
		iv.High = 1
	}
	return iv, true
}

func clamp01(f float64) float64 { return min(max(f, 0), 1) }
