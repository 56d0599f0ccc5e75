package main

import (
	"math"
	"math/rand/v2"
)

// staircaseKinds are series of several short plateaus: 3–6 shifts of
// ±10–20 %, 12–40 runs apart (the literature's classic, the well log, is
// such a series: TCPD's well_log has segments of 9–76 values with shifts
// of 7–15 % under ~2 % noise). The contract's targets (shifts ≥ 20 %) do
// not count them; they are scored beside (recall of all their shifts and
// of those ≥ 15 %).
var staircaseKinds = []string{"staircase/low", "staircase/moderate"}

// staircaseBigShift is the smallest shift counted in the second recall
// figure of the staircase kinds.
const staircaseBigShift = 0.15

// plantStaircase draws one staircase series: k = 3–6 shifts, each by a
// factor 1 ± (0.10–0.20), plateaus of 12–40 runs between shifts, 24–96
// runs before the first and after the last; days of about perDay = 2–6
// runs (each day 0.5–1.5 perDay, at least one).
func plantStaircase(r *rand.Rand, kind string) plantedSeries {
	s := plantedSeries{kind: kind, spikeAt: -1}
	s.sigma = 0.01 + 0.03*r.Float64()
	if kind == "staircase/moderate" {
		s.sigma = 0.04 + 0.04*r.Float64()
	}
	median := logUniform(r, 5, 600)
	k := 3 + r.IntN(4)
	n := 24 + r.IntN(73)
	for j := range k {
		if j > 0 {
			n += 12 + r.IntN(29)
		}
		s.changes = append(s.changes, n)
		x := 0.10 + 0.10*r.Float64()
		if r.IntN(2) == 0 {
			x = -x
		}
		s.factors = append(s.factors, 1+x)
	}
	n += 24 + r.IntN(73)
	s.values = make([]float64, n)
	level, next := 1.0, 0
	for i := range s.values {
		if next < k && i == s.changes[next] {
			level *= s.factors[next]
			next++
		}
		s.values[i] = median * level * math.Exp(s.sigma*r.NormFloat64())
	}
	perDay := 2 + r.IntN(5)
	for d := 0; len(s.days) < n; d++ {
		for range max(1, perDay/2+r.IntN(perDay+1)) {
			if len(s.days) < n {
				s.days = append(s.days, d)
			}
		}
	}
	return s
}
