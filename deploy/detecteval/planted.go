package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// A planted series: durations in run order, the day of each run (days of
// one script-month) and the positions of the planted level shifts.
type plantedSeries struct {
	kind    string
	values  []float64
	days    []int
	changes []int // first run after each planted shift
	factors []float64
	sigma   float64 // log sd of the durations' noise
	perDay  int     // runs a day of a high-frequency series (0: 1–10)
	// spikeAt is the spiked run (spike-run) or the first run of the spiked
	// day (spike-day), −1 for the other kinds; spikeFactor its factor.
	spikeAt     int
	spikeDay    bool
	spikeFactor float64
}

// Kinds of series the evaluation plants. Each is one script-month.
//
//   - shift±X: one or two level shifts by the factor 1+X (up) or 1−X
//     (down), each segment ≥ 12 runs, on lognormal durations; with
//     "/bimodal", on bimodal durations;
//
//   - spike-run: one run × 3–20; spike-day: every run of one day × 2–10
//     (the day has up to 10 runs);
//
//   - stable-lognormal, stable-bimodal: no change; stable-step: step-like
//     durations (short, rounded to 0.1 s so that ties are common, heavier
//     noise, 2 % retried runs at twice the duration).
//
//   - staircase/low, staircase/moderate: 3–6 level shifts of ±10–20 %
//     each (up or down at random), plateaus of 12–40 runs between them and
//     24–96 runs before the first and after the last, about 2–6 runs a
//     day (so a plateau spans several days), lognormal noise σ 0.01–0.04
//     (low) or 0.04–0.08 (moderate). They are drawn after every other
//     kind, so the other kinds' series are those drawn before they were
//     added (staircase.go).
//
// Kinds ending in "@N/d" are high-frequency script-months: about N runs a
// day (each day 0.5–1.5 N) over 30 days, 300–9,000 values; every segment
// between planted shifts spans at least two days' runs (a level that
// returns within the day is a spike day, which must not be flagged).
var kinds = append([]string{
	"shift+5%", "shift+10%", "shift+20%", "shift+50%",
	"shift-5%", "shift-10%", "shift-20%", "shift-50%",
	"shift+20%/bimodal", "shift+50%/bimodal", "shift-20%/bimodal", "shift-50%/bimodal",
	"spike-run", "spike-day",
	"stable-lognormal", "stable-bimodal", "stable-step",
}, append(highFrequencyKinds(20, 80, 200), staircaseKinds...)...)

// highFrequencyKinds are the kinds planted at each of the given runs a day.
func highFrequencyKinds(perDay ...int) []string {
	var out []string
	for _, n := range perDay {
		for _, k := range []string{"shift+10%", "shift+20%", "shift-20%", "shift+50%", "shift-50%",
			"shift+20%/bimodal", "shift-20%/bimodal", "spike-run", "spike-day", "stable-lognormal", "stable-bimodal"} {
			out = append(out, fmt.Sprintf("%s@%d/d", k, n))
		}
	}
	return out
}

// baseKind is a kind without its "@N/d" suffix, and N (0 for none).
func baseKind(kind string) (string, int) {
	base, freq, ok := strings.Cut(kind, "@")
	if !ok {
		return kind, 0
	}
	var n int
	fmt.Sscanf(freq, "%d/d", &n)
	return base, n
}

// shiftOf returns the planted relative shift of a kind (0 for the others).
func shiftOf(kind string) float64 {
	base, _ := baseKind(kind)
	switch strings.TrimSuffix(base, "/bimodal") {
	case "shift+5%":
		return 0.05
	case "shift+10%":
		return 0.10
	case "shift+20%":
		return 0.20
	case "shift+50%":
		return 0.50
	case "shift-5%":
		return -0.05
	case "shift-10%":
		return -0.10
	case "shift-20%":
		return -0.20
	case "shift-50%":
		return -0.50
	}
	return 0
}

// durationModel draws the durations of one stable regime.
type durationModel struct {
	median  float64 // of the first mode
	sigma   float64 // of log duration
	bimodal float64 // share of runs in the second mode (0: lognormal)
	second  float64 // second mode's median ÷ first's
	round   float64 // durations rounded to this (0: not)
	retry   float64 // share of runs retried (duration × 2)
}

func (m durationModel) draw(r *rand.Rand) float64 {
	med := m.median
	if m.bimodal > 0 && r.Float64() < m.bimodal {
		med *= m.second
	}
	v := med * math.Exp(m.sigma*r.NormFloat64())
	if m.retry > 0 && r.Float64() < m.retry {
		v *= 2
	}
	if m.round > 0 {
		v = math.Round(v/m.round) * m.round
	}
	return v
}

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

// runModel is a script's run durations: median 5 s – 10 min, log sd
// 0.03–0.20 (coefficient of variation 3–20 %), a third bimodal (a slow
// path — cache miss, second attempt of a page — in 10–40 % of runs, 1.5–3×
// slower).
func runModel(r *rand.Rand, bimodal bool) durationModel {
	m := durationModel{median: logUniform(r, 5, 600), sigma: 0.03 + 0.17*r.Float64()}
	if bimodal {
		m.bimodal = 0.1 + 0.3*r.Float64()
		m.second = 1.5 + 1.5*r.Float64()
		m.sigma = 0.03 + 0.09*r.Float64()
	}
	return m
}

// stepModel is a step's durations: median 0.3–20 s, log sd 0.1–0.35,
// rounded to 0.1 s, 2 % retries.
func stepModel(r *rand.Rand) durationModel {
	return durationModel{median: logUniform(r, 0.3, 20), sigma: 0.1 + 0.25*r.Float64(), round: 0.1, retry: 0.02}
}

// runDays spreads n runs over 30 days in order (at least one a day when
// n ≥ 30; up to about 10 a day at n = 300).
func runDays(r *rand.Rand, n int) []int {
	days := make([]int, n)
	for i := range days {
		days[i] = i * 30 / n
	}
	_ = r
	return days
}

// highFrequencyDays spreads 30 days of about perDay runs (0.5–1.5·perDay
// each day) in order.
func highFrequencyDays(r *rand.Rand, perDay int) []int {
	var days []int
	for d := range 30 {
		for range max(1, perDay/2+r.IntN(perDay+1)) {
			days = append(days, d)
		}
	}
	return days
}

// plant draws one series of a kind.
func plant(r *rand.Rand, kind string) plantedSeries {
	base, perDay := baseKind(kind)
	if strings.HasPrefix(base, "staircase") {
		return plantStaircase(r, kind)
	}
	n := 30 + r.IntN(271) // 30–300 runs in the month
	s := plantedSeries{kind: kind, perDay: perDay, spikeAt: -1}
	if perDay > 0 {
		s.days = highFrequencyDays(r, perDay)
		n = len(s.days)
	} else {
		s.days = runDays(r, n)
	}
	s.values = make([]float64, n)
	// minSeg is the shortest segment between planted shifts: 12 runs, and
	// two days' runs on high-frequency series.
	minSeg := max(12, 2*perDay)
	var m durationModel
	switch base {
	case "stable-bimodal":
		m = runModel(r, true)
	case "stable-step":
		m = stepModel(r)
	default:
		m = runModel(r, strings.HasSuffix(base, "/bimodal"))
	}
	s.sigma = m.sigma
	factor := make([]float64, n)
	for i := range factor {
		factor[i] = 1
	}
	if x := shiftOf(kind); x != 0 {
		// One shift, or two (back and forth, or twice the same way) when the
		// series is long enough for three segments of ≥ 12 runs.
		k := 1
		if n >= 5*minSeg && r.IntN(2) == 0 {
			k = 2
		}
		for {
			s.changes = s.changes[:0]
			for range k {
				s.changes = append(s.changes, minSeg+r.IntN(n-2*minSeg+1)) // minSeg … n−minSeg
			}
			if k == 1 || (abs(s.changes[0]-s.changes[1]) >= minSeg) {
				break
			}
		}
		if k == 2 && s.changes[0] > s.changes[1] {
			s.changes[0], s.changes[1] = s.changes[1], s.changes[0]
		}
		level := 1.0
		for j, c := range s.changes {
			f := 1 + x
			if j == 1 && r.IntN(2) == 0 {
				f = 1 / f // back to where it was
			}
			level *= f
			s.factors = append(s.factors, f)
			for i := c; i < n; i++ {
				factor[i] = level
			}
		}
	}
	for i := range s.values {
		s.values[i] = m.draw(r) * factor[i]
	}
	switch base {
	case "spike-run":
		s.spikeAt = r.IntN(n)
		s.spikeFactor = 3 + 17*r.Float64()
		s.values[s.spikeAt] *= s.spikeFactor
	case "spike-day":
		day := r.IntN(30)
		f := 2 + 8*r.Float64()
		s.spikeDay, s.spikeFactor = true, f
		for i, d := range s.days {
			if d == day {
				if s.spikeAt < 0 {
					s.spikeAt = i
				}
				s.values[i] *= f
			}
		}
	}
	return s
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}
