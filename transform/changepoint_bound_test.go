package transform

import (
	"math"
	"math/rand/v2"
	"testing"
)

// noisySeries draws a stable, noisy series (lognormal σ 0.2–0.5, a slow
// mode, rounded or not), optionally with a shift: the medians of small
// windows differ by 10 % at many splits while δ stays small, the splits
// the bound on U (effectMayPass) decides.
func noisySeries(r *rand.Rand, n int) []float64 {
	values := make([]float64, n)
	sigma := 0.2 + 0.3*r.Float64()
	round := []float64{0, 0.1, 1}[r.IntN(3)]
	level, shiftAt := 60.0, n
	if r.IntN(2) == 0 {
		shiftAt = r.IntN(n)
	}
	for i := range values {
		if i == shiftAt {
			level *= 1 + 0.6*(r.Float64()-0.3)
		}
		v := level * math.Exp(sigma*r.NormFloat64())
		if r.IntN(5) == 0 {
			v *= 2
		}
		if round > 0 {
			v = math.Round(v/round) * round
		}
		values[i] = v
	}
	return values
}

// TestScanTestsMatchPlainTests: the passing scan tests DetectChangesWithScan
// returns — every position and scale, p bit for bit, 2U — are exactly the
// splits whose plain test passes: both windows copied, sorted and merged
// (refScanner.test, which computes every figure of every split), on
// thousands of random series (noisy and stable, shifts, spikes, ties,
// zeros and −0, short ones) under several option sets. The scan skips
// the splits whose δ provably fails (a bound on U from order statistics
// of the before window); a bound that is not one drops a passing test
// here.
func TestScanTestsMatchPlainTests(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 2811))
	opts := func(w, W int, maxP, minRatio, minEffect float64) ChangeOptions {
		return ChangeOptions{Window: w, ConfirmWindow: W, MaxP: maxP, MinRatio: minRatio, MinEffect: minEffect}
	}
	sets := []struct {
		opt         ChangeOptions
		series, max int
	}{
		{DefaultChangeOptions(), 60, 1500},
		{opts(12, 0, 0.001, 0.1, 0.5), 50, 1000},
		{smallChangeOptions(3, 12), 200, 300},
		{smallChangeOptions(4, 16), 150, 400},
		{smallChangeOptions(5, 40), 100, 500},
		{opts(6, 24, 0.5, 0.05, 0.3), 100, 400},
		{opts(8, 32, 1, 0.1, 0), 100, 400}, // δ's sign alone
		{opts(8, 32, 1, 0.1, 1), 100, 400}, // |δ| = 1 only
		{opts(2, 8, 1, 0, 0.5), 100, 200},  // no ratio threshold
		{opts(7, 28, 0.2, 0.1, 0.6), 100, 600},
	}
	series, splits, excludable, passing := 0, 0, 0, 0
	for _, set := range sets {
		var ref refScanner
		ref.opt = set.opt
		for k := range set.series {
			n := 2*set.opt.Window + r.IntN(set.max)
			var values []float64
			switch k % 4 {
			case 0, 1:
				values = noisySeries(r, n)
			case 2:
				values, _ = randomSeries(r, n)
			default:
				values, _ = tiedSeries(r, n)
			}
			if k%50 == 7 {
				values = zeroSeries(r, n)
			}
			det, err := DetectChangesWithScan(values, nil, set.opt, ScanTests{})
			if err != nil {
				t.Fatal(err)
			}
			var want []ScanTest
			for _, sw := range set.opt.scales() {
				if 2*sw > n {
					break
				}
				for i := sw; i <= n-sw; i++ {
					pt := ref.test(values[i-sw:i], values[i:i+sw])
					splits++
					ratioOK := math.Abs(pt.ratio-1) >= set.opt.MinRatio-refRatioSlack
					effectOK := math.Abs(pt.mw.Delta) >= set.opt.MinEffect && (pt.ratio > 1) == (pt.mw.Delta > 0)
					if ratioOK && !effectOK {
						excludable++
					}
					if pt.pass {
						want = append(want, ScanTest{Index: i, Scale: sw, P: pt.mw.P, U2: int(2 * pt.mw.U)})
					}
				}
			}
			got := det.Tests.Tests
			for j := range max(len(got), len(want)) {
				var g, w ScanTest
				if j < len(got) {
					g = got[j]
				}
				if j < len(want) {
					w = want[j]
				}
				if g.Index != w.Index || g.Scale != w.Scale || g.U2 != w.U2 || math.Float64bits(g.P) != math.Float64bits(w.P) {
					t.Fatalf("options %+v, %d values: passing test %d of %d is %+v; the plain tests' %d of %d is %+v",
						set.opt, n, j, len(got), g, j, len(want), w)
				}
			}
			series++
			passing += len(want)
		}
	}
	t.Logf("%d series, %d splits, %d passing, %d whose ratio passes and δ fails", series, splits, passing, excludable)
	if passing < splits/100 || excludable < splits/10 {
		t.Errorf("%d passing and %d excludable splits of %d: the series show too little", passing, excludable, splits)
	}
}
