package transform

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// quietSeries is a random duration series with days: lognormal noise
// around levels that shift now and then, spikes, ties, and n/day values a
// day.
func quietSeries(r *rand.Rand, n, perDay, shiftEvery int) ([]float64, []Day) {
	values, days := make([]float64, n), make([]Day, n)
	level := 10.0
	for i := range n {
		if r.IntN(shiftEvery) == 0 {
			level *= 1 + (0.2+0.6*r.Float64())*float64(1-2*r.IntN(2))
		}
		v := level * math.Exp(0.1*r.NormFloat64())
		switch r.IntN(60) {
		case 0:
			v *= 4 // a spike
		case 1:
			v = math.Round(v) // ties
		}
		values[i], days[i] = v, Day(i/perDay)
	}
	return values, days
}

// TestQuietEndKeepsChangePoints checks the argument of changepoint_quiet.go
// against DetectChanges itself: for random series, a random first changed
// position p and random new values from p on, whenever (a) the old
// series' last passing scan test is before p − QuietMargin and (b) the new
// values' tail from p − 2S has no passing test, DetectChanges over the
// whole new series equals DetectChanges over the whole old one, every
// field. It also shows the conditions matter: without them the results
// differ for some series.
func TestQuietEndKeepsChangePoints(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for name, opt := range map[string]ChangeOptions{
		"defaults":   DefaultChangeOptions(),
		"scan alone": {Window: 12, MaxP: 0.001, MinRatio: 0.1, MinEffect: 0.5},
		"short scan": {Window: 4, MaxP: 0.05, MinRatio: 0.1, MinEffect: 0.5},
	} {
		t.Run(name, func(t *testing.T) {
			m := opt.QuietMargin()
			s2 := 2 * opt.LargestScale()
			held, differed := 0, 0
			for trial := range 300 {
				n, shiftEvery := 200+r.IntN(1400), 300
				if m > 100 {
					n, shiftEvery = 600+r.IntN(2400), 1000
				}
				perDay := 1 + r.IntN(40)
				old, oldDays := quietSeries(r, n, perDay, shiftEvery)
				lastOld, err := LastScanPass(old, opt)
				if err != nil {
					t.Fatal(err)
				}
				p := max(s2, n-r.IntN(60)) // values before p stay
				if trial%3 == 0 {
					p = s2 + r.IntN(n-s2) // sometimes far back
				}
				k := r.IntN(80)
				next, nextDays := append([]float64(nil), old[:p]...), append([]Day(nil), oldDays[:p]...)
				scale := 1.0
				if r.IntN(3) == 0 {
					scale = 1.5 // a shift in the new values
				}
				last := oldDays[p-1]
				for range k {
					if r.IntN(3) == 0 {
						last++
					}
					next = append(next, scale*old[r.IntN(p)])
					nextDays = append(nextDays, last)
				}
				tail, err := LastScanPass(next[p-s2:], opt)
				if err != nil {
					t.Fatal(err)
				}
				// With (a), the tests that reach p are the only ones of the
				// tail that can pass: the job's check runs those alone.
				reaching, err := LastScanPassReaching(next[p-s2:], s2, opt)
				if err != nil {
					t.Fatal(err)
				}
				if lastOld < p-m && (reaching == -1) != (tail == -1) {
					t.Fatalf("trial %d (n %d, p %d): the tail's last passing test %d, of those reaching p %d", trial, n, p, tail, reaching)
				}
				want, err := DetectChanges(old, oldDays, opt)
				if err != nil {
					t.Fatal(err)
				}
				got, err := DetectChanges(next, nextDays, opt)
				if err != nil {
					t.Fatal(err)
				}
				same := reflect.DeepEqual(got, want)
				if lastOld < p-m && tail == -1 {
					held++
					if !same {
						t.Fatalf("trial %d (n %d, p %d, %d new): quiet by the marks, but the change points differ:\n old %+v\n new %+v", trial, n, p, k, want, got)
					}
				} else if !same {
					differed++
				}
			}
			t.Logf("%s: quiet %d of 300, differed without the conditions %d", name, held, differed)
			if held < 20 || differed == 0 {
				t.Fatalf("quiet %d, differed %d: the trials do not exercise both sides", held, differed)
			}
		})
	}
}

// TestLastScanPassMatchesEveryTest: LastScanPass is the last position
// whose scan test passes at some scale, found here by testing every split
// of every scale with the reference scan's test (the scan itself skips
// most of them); LastScanPassReaching the same among the splits whose
// windows reach a random position.
func TestLastScanPassMatchesEveryTest(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	found, reachingFound := 0, 0
	for trial := range 200 {
		opt := DefaultChangeOptions()
		if trial%2 == 1 {
			opt = ChangeOptions{Window: 4 + r.IntN(10), MaxP: 0.05, MinRatio: 0.1, MinEffect: 0.5}
		}
		n := 20 + r.IntN(900)
		values, _ := quietSeries(r, n, 1+r.IntN(30), 100+r.IntN(400))
		ref := &refScanner{opt: opt}
		want := -1
		for _, s := range refScales(opt) {
			for i := s; i <= n-s; i++ {
				if ref.test(values[i-s:i], values[i:i+s]).pass {
					want = max(want, i)
				}
			}
		}
		got, err := LastScanPass(values, opt)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("trial %d (n %d, %+v): last passing test %d, want %d", trial, n, opt, got, want)
		}
		// The tests whose windows reach a random position from.
		from := r.IntN(n + 1)
		wantReaching := -1
		for _, s := range refScales(opt) {
			for i := max(s, from-s+1); i <= n-s; i++ {
				if ref.test(values[i-s:i], values[i:i+s]).pass {
					wantReaching = max(wantReaching, i)
				}
			}
		}
		if got, err := LastScanPassReaching(values, from, opt); err != nil || got != wantReaching {
			t.Fatalf("trial %d (n %d, from %d, %+v): last passing test reaching it %d (%v), want %d", trial, n, from, opt, got, err, wantReaching)
		}
		if wantReaching >= 0 {
			reachingFound++
		}
		if want >= 0 {
			found++
		}
	}
	if found < 50 || reachingFound < 20 {
		t.Fatalf("only %d series with a passing test, %d with one reaching the position", found, reachingFound)
	}
}
