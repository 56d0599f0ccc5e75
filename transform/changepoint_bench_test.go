package transform

import (
	"math"
	"math/rand/v2"
	"testing"
)

// benchDurations is a realistic duration series of n runs: 24 runs a day,
// lognormal noise (σ = 0.1 around 60 s, rounded to the millisecond) and
// one +20 % shift at two thirds of the series.
func benchDurations(n int) ([]float64, []Day) {
	r := rand.New(rand.NewPCG(uint64(n), 12))
	values := make([]float64, n)
	days := make([]Day, n)
	for i := range values {
		level := 60.0
		if i >= 2*n/3 {
			level *= 1.2
		}
		values[i] = math.Round(level*math.Exp(0.1*r.NormFloat64())*1000) / 1000
		days[i] = Day(20000 + i/24)
	}
	return values, days
}

// benchManyShifts is a 10,000-run series (10 runs a day, lognormal noise
// of 10 %, a 30 % shift every 500 runs).
func benchManyShifts() ([]float64, []Day) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 10000)
	days := make([]Day, len(x))
	level := 60.0
	for i := range x {
		if i > 0 && i%500 == 0 {
			if (i/500)%2 == 1 {
				level *= 1.3
			} else {
				level /= 1.3
			}
		}
		x[i] = level * math.Exp(0.1*r.NormFloat64())
		days[i] = Day(20000 + i/10)
	}
	return x, days
}

// benchStable is a stable 10,000-run series (30 runs a day): noisy
// (lognormal σ = 0.35, a fifth of the runs twice as slow, 0.1 s), or of
// integer seconds 3–6 (heavy ties).
func benchStable(ties bool) ([]float64, []Day) {
	r := rand.New(rand.NewPCG(3, 3))
	v := make([]float64, 10000)
	d := make([]Day, len(v))
	for i := range v {
		d[i] = Day(20000 + i/30)
		if ties {
			v[i] = float64(3 + r.IntN(4))
			continue
		}
		v[i] = math.Round(60*math.Exp(0.35*r.NormFloat64())*10) / 10
		if r.IntN(5) == 0 {
			v[i] *= 2
		}
	}
	return v, d
}

func benchmarkDetect(b *testing.B, detect func([]float64, []Day, ChangeOptions) ([]ChangePoint, error)) {
	type series struct {
		name    string
		values  []float64
		days    []Day
		changes bool // planted shifts, at least one found
	}
	var all []series
	for _, c := range []struct {
		name string
		n    int
	}{{"n=5000", 5_000}, {"n=20000", 20_000}} {
		v, d := benchDurations(c.n)
		all = append(all, series{c.name, v, d, true})
	}
	v, d := benchManyShifts()
	all = append(all, series{"n=10000/shifts=19", v, d, true})
	v, d = benchStable(false)
	all = append(all, series{"n=10000/stable-noisy", v, d, false})
	v, d = benchStable(true)
	all = append(all, series{"n=10000/stable-ties", v, d, false})
	for _, s := range all {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				cps, err := detect(s.values, s.days, DefaultChangeOptions())
				if err != nil || (s.changes && len(cps) == 0) {
					b.Fatalf("change points %v, error %v; want the planted shifts", cps, err)
				}
			}
			if cpu1, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// BenchmarkDetectChanges is DetectChanges at the defaults on realistic
// series: 5,000 and 20,000 runs with one shift, 10,000 with 19, and two
// stable series of 10,000 (noisy; heavy ties).
func BenchmarkDetectChanges(b *testing.B) { benchmarkDetect(b, DetectChanges) }

// BenchmarkDetectChangesReference is the same on the reference
// implementation (changepoint_reference_test.go), for a ratio measured in
// the same run.
func BenchmarkDetectChangesReference(b *testing.B) { benchmarkDetect(b, refDetectChanges) }

// BenchmarkIncrementalRecompute is the recompute of an incremental pass:
// the 2r + 5 values before a series' end (r = 517 at the defaults) with
// a shift within them, computed plain ("full scan") and given the
// passing scan tests of the first 2r values ("scan's cache"), as the job
// does with a change tail.
func BenchmarkIncrementalRecompute(b *testing.B) {
	opt := DefaultChangeOptions()
	r, _ := opt.Radius()
	all, days := benchDurations(3 * r)
	values, days := all[len(all)-2*r-5:], days[len(all)-2*r-5:]
	det, err := DetectChangesWithScan(values[:2*r], days[:2*r], opt, ScanTests{})
	prev := det.Tests
	if err != nil || len(prev.Tests) == 0 {
		b.Fatalf("%d passing tests, error %v; want the shift's", len(prev.Tests), err)
	}
	for _, c := range []struct {
		name  string
		known ScanTests
	}{{"full scan", ScanTests{}}, {"scan's cache", prev}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DetectChangesWithScan(values, days, opt, c.known); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
