package transform

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// randomSeries draws a duration series with its days for the locality
// test: 1–250 values a day, lognormal or bimodal noise, level shifts
// (some within a day), single-run and whole-day spikes, stretches of equal
// values and coarse rounding (ties).
func randomSeries(r *rand.Rand, n int) ([]float64, []Day) {
	values := make([]float64, n)
	days := make([]Day, n)
	perDay := 1 + r.IntN(250)
	if r.IntN(3) == 0 {
		perDay = 1 + r.IntN(15)
	}
	sigma := 0.02 + 0.3*r.Float64()
	bimodal := 0.0
	if r.IntN(3) == 0 {
		bimodal = 0.1 + 0.3*r.Float64()
	}
	round := 0.0
	if r.IntN(3) == 0 {
		round = []float64{0.1, 1, 5}[r.IntN(3)]
	}
	level, day, left := 10+50*r.Float64(), Day(19000+r.IntN(1000)), perDay
	spikeDay, spikeFactor := Day(-1), 1.0
	flat := 0
	for i := range values {
		if left == 0 {
			day += Day(1 + r.IntN(2))
			left = max(1, perDay/2+r.IntN(perDay+1))
			spikeDay = -1
			if r.IntN(12) == 0 {
				spikeDay, spikeFactor = day, 2+8*r.Float64()
			}
		}
		left--
		days[i] = day
		if r.IntN(max(30, n/6)) == 0 { // a level shift of ±10–80 %
			f := 1.1 + 0.7*r.Float64()
			if r.IntN(2) == 0 {
				f = 1 / f
			}
			level *= f
		}
		v := level * math.Exp(sigma*r.NormFloat64())
		if bimodal > 0 && r.Float64() < bimodal {
			v *= 2
		}
		if r.IntN(150) == 0 {
			v *= 3 + 10*r.Float64() // a single slow run
		}
		if day == spikeDay {
			v *= spikeFactor
		}
		if flat > 0 {
			v = values[i-1]
			flat--
		} else if r.IntN(200) == 0 {
			flat = 5 + r.IntN(40) // a stretch of equal values
		}
		if round > 0 {
			v = math.Round(v/round) * round
		}
		values[i] = v
	}
	return values, days
}

// localityCheck cuts series drawn by randomSeries at random a < b and
// compares DetectChanges on the slice with the whole series' result at
// the positions Radius names (r, claimed): same indexes, every figure
// equal. It returns the number of cuts, the change points compared and
// the cuts that differ.
func localityCheck(t *testing.T, r *rand.Rand, opt ChangeOptions, radius, series, cutsPer, minN, maxN int) (cuts, compared, differing int) {
	t.Helper()
	for range series {
		n := minN + r.IntN(maxN-minN+1)
		values, days := randomSeries(r, n)
		whole, err := DetectChanges(values, days, opt)
		if err != nil {
			t.Fatal(err)
		}
		for range cutsPer {
			a, b := 0, n
			switch r.IntN(4) {
			case 0: // a prefix (a pass that appends)
				b = r.IntN(n + 1)
			case 1: // a suffix
				a = r.IntN(n + 1)
			default:
				a, b = r.IntN(n+1), r.IntN(n+1)
				if a > b {
					a, b = b, a
				}
			}
			lo, hi := 0, n
			if a > 0 {
				lo = a + radius
			}
			if b < n {
				hi = b - radius
			}
			part, err := DetectChanges(values[a:b], days[a:b], opt)
			if err != nil {
				t.Fatal(err)
			}
			var want, got []ChangePoint
			for _, c := range whole {
				if c.Index >= lo && c.Index < hi {
					want = append(want, c)
				}
			}
			for _, c := range part {
				c.Index += a
				if c.Index >= lo && c.Index < hi {
					got = append(got, c)
				}
			}
			cuts++
			compared += len(want)
			same := len(want) == len(got)
			for k := 0; same && k < len(want); k++ {
				same = want[k] == got[k]
			}
			if !same {
				differing++
				if differing <= 3 && t.Failed() == false {
					t.Logf("n %d, cut [%d, %d), radius %d, positions [%d, %d):\nwhole %+v\nslice %+v", n, a, b, radius, lo, hi, want, got)
				}
			}
		}
	}
	return cuts, compared, differing
}

// TestDetectChangesLocal is the property the job's incremental detection
// rests on (Radius): on random series — shifts, spikes of a run and of a
// day, ties, 1–250 values a day — cut at random a < b, DetectChanges on
// values[a:b] finds exactly the whole series' change points at the
// positions i with (a == 0 || i ≥ a+r) and (b == n || i < b−r), with every
// figure equal. Small windows make most cases cheap (the property holds
// for every option set); the defaults run on longer series.
func TestDetectChangesLocal(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 2026))
	type setup struct {
		opt                         ChangeOptions
		series, cutsPer, minN, maxN int
	}
	small := func(w, W int) ChangeOptions {
		o := DefaultChangeOptions()
		o.Window, o.ConfirmWindow = w, W
		o.MaxP = 0.05 // more candidates on short windows (the check asks p < MaxP/10)
		return o
	}
	setups := []setup{
		{DefaultChangeOptions(), 5, 30, 900, 1500},
		{small(3, 12), 120, 20, 40, 400},
		{small(4, 16), 120, 20, 60, 500},
		{small(5, 20), 80, 20, 80, 600},
		{small(6, 6), 80, 20, 80, 600},
		{small(6, 0), 60, 20, 40, 300},
	}
	totalCuts, totalCompared := 0, 0
	for _, s := range setups {
		radius, local := s.opt.Radius()
		if !local {
			t.Fatalf("options %+v: not local", s.opt)
		}
		start := time.Now()
		cuts, compared, differing := localityCheck(t, r, s.opt, radius, s.series, s.cutsPer, s.minN, s.maxN)
		t.Logf("w %d, confirm window %d, radius %d: %d cuts, %d change points compared, %v", s.opt.Window, s.opt.ConfirmWindow, radius, cuts, compared, time.Since(start).Round(time.Millisecond))
		if differing > 0 {
			t.Errorf("options %+v, radius %d: %d of %d cuts differ from the whole series", s.opt, radius, differing, cuts)
		}
		if compared < cuts/10 {
			t.Errorf("options %+v: only %d change points compared over %d cuts; the series show too little", s.opt, compared, cuts)
		}
		totalCuts += cuts
		totalCompared += compared
	}
	t.Logf("%d cuts, %d change points compared", totalCuts, totalCompared)
}

// TestLocalityCheckCanFail: the same check with a radius smaller than the
// method's (the scan's 2w with the persistence check on) finds cuts that
// differ — the property test is able to fail.
func TestLocalityCheckCanFail(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 2026))
	opt := DefaultChangeOptions()
	opt.Window, opt.ConfirmWindow, opt.MaxP = 4, 16, 0.01
	_, _, differing := localityCheck(t, r, opt, 2*opt.Window, 100, 20, 60, 500)
	if differing == 0 {
		t.Error("a radius of 2w passes the locality check with the persistence check on; the check shows nothing")
	}
}
