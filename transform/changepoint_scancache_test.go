package transform

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sameScanTests says a and b are the same stretch with the same tests, p
// bit for bit.
func sameScanTests(a, b ScanTests) bool {
	return a.From == b.From && a.To == b.To && slices.EqualFunc(a.Tests, b.Tests, func(x, y ScanTest) bool {
		return x.Index == y.Index && x.Scale == y.Scale && x.U2 == y.U2 && math.Float64bits(x.P) == math.Float64bits(y.P)
	})
}

// scanPass is one pass of the property test: a series whose values before
// p are those of the series the previous pass computed, a tail stretch of
// them with the previous pass's tests, and the slice this pass computes.
type scanPass struct {
	cur   []float64
	days  []Day
	known ScanTests // positions in cur[a:]
	a     int
}

// drawScanPass draws the previous pass's series (cur's first p values,
// then other values: a shift, values spread out, or none), computes it
// from a0 on keeping its tests, cuts them to a tail stretch [t0, t1) with
// t1 ≤ p + extra (extra > 0 is the mutation: a stretch that takes in
// values the pass changed), and a slice start a for this pass.
func drawScanPass(t *testing.T, r *rand.Rand, opt ChangeOptions, minN, maxN, extra int) scanPass {
	t.Helper()
	n := minN + r.IntN(maxN-minN+1)
	var cur []float64
	var days []Day
	if r.IntN(3) == 0 {
		cur, days = tiedSeries(r, n)
		if days == nil {
			days = make([]Day, n)
			for i := range days {
				days[i] = Day(20000 + i/7)
			}
		}
		if r.IntN(4) != 0 { // −0 sends the scan back to the plain one: keep a few
			for i, v := range cur {
				if isNegativeZero(v) {
					cur[i] = 0
				}
			}
		}
	} else {
		cur, days = randomSeries(r, n)
	}
	p := r.IntN(n + 1)
	if r.IntN(4) == 0 {
		p = max(0, n-r.IntN(12)) // a pass that appends a few values
	}
	// The previous pass's series: cur[:p], then other values.
	old := slices.Clone(cur[:p])
	oldDays := slices.Clone(days[:p])
	switch more := r.IntN(n - p + 1); r.IntN(3) {
	case 0: // the same values shifted (a change the pass took back)
		f := []float64{0.5, 1.6, 3}[r.IntN(3)]
		for i := p; i < p+more; i++ {
			old, oldDays = append(old, cur[i]*f), append(oldDays, days[i])
		}
	case 1: // values spread out
		for i := p; i < p+more; i++ {
			old, oldDays = append(old, cur[i]*math.Exp(r.NormFloat64())), append(oldDays, days[i])
		}
	}
	a0 := r.IntN(p + 1)
	prevDet, err := DetectChangesWithScan(old[a0:], oldDays[a0:], opt, ScanTests{})
	if err != nil {
		t.Fatal(err)
	}
	prev := prevDet.Tests
	t0 := a0 + r.IntN(p-a0+1)
	t1 := t0 + r.IntN(p-t0+1)
	if r.IntN(3) == 0 {
		t0, t1 = a0, p
	}
	known := prev.Shift(a0).Within(t0, min(len(old), t1+extra))
	a := r.IntN(p + 1)
	if r.IntN(2) == 0 {
		a = max(0, t0-r.IntN(30))
	}
	return scanPass{cur: cur, days: days, known: known.Shift(-a).Within(0, n-a), a: a}
}

// scanCacheCheck draws passes and compares DetectChangesWithScan given the
// previous pass's tests with DetectChangesAndLastPass and with the plain
// scan's tests: the passes that differ in anything.
func scanCacheCheck(t *testing.T, r *rand.Rand, opt ChangeOptions, passes, minN, maxN, extra int) (differing, knownTests, changes int) {
	t.Helper()
	for range passes {
		ps := drawScanPass(t, r, opt, minN, maxN, extra)
		values, days := ps.cur[ps.a:], ps.days[ps.a:]
		want, wantLast, err := DetectChangesAndLastPass(values, days, opt)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := DetectChangesWithScan(values, days, opt, ScanTests{})
		if err != nil {
			t.Fatal(err)
		}
		wantTests := plain.Tests
		det, err := DetectChangesWithScan(values, days, opt, ps.known)
		if err != nil {
			t.Fatal(err)
		}
		got, gotLast, gotTests := det.Changes, det.LastPass, det.Tests
		knownTests += det.Taken
		if plain.Taken != 0 || !sameChangePoints(plain.Changes, want) || plain.LastPass != wantLast {
			t.Fatalf("given no tests, DetectChangesWithScan differs from DetectChangesAndLastPass (taken %d)", plain.Taken)
		}
		changes += len(want)
		if !sameChangePoints(want, got) || wantLast != gotLast || !sameScanTests(wantTests, gotTests) {
			differing++
			if differing <= 2 && extra == 0 {
				t.Logf("n %d, slice from %d, known [%d, %d) with %d tests:\nplain  %+v last %d\ncached %+v last %d",
					len(ps.cur), ps.a, ps.known.From, ps.known.To, len(ps.known.Tests), want, wantLast, got, gotLast)
			}
		}
	}
	return differing, knownTests, changes
}

func smallChangeOptions(w, W int) ChangeOptions {
	o := DefaultChangeOptions()
	o.Window, o.ConfirmWindow = w, W
	o.MaxP = 0.05 // more passing tests on short windows
	return o
}

// TestDetectChangesWithScanMatchesPlain: on thousands of random series
// (shifts, spikes of a run and of a day, ties, −0, days) whose values
// before a random p are those of a previous pass's series (after p:
// shifted, spread out or gone), the previous pass's passing tests of a
// random stretch before p, given to DetectChangesWithScan on a random
// slice, give the plain detection's change points (every figure), last
// passing position and passing tests.
func TestDetectChangesWithScanMatchesPlain(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 2026))
	type setup struct {
		opt              ChangeOptions
		passes, min, max int
	}
	setups := []setup{
		{DefaultChangeOptions(), 60, 600, 1600},
		{smallChangeOptions(3, 12), 1500, 20, 300},
		{smallChangeOptions(4, 16), 1500, 40, 400},
		{smallChangeOptions(5, 40), 800, 60, 500},
		{smallChangeOptions(6, 6), 500, 20, 300},
		{smallChangeOptions(6, 0), 300, 20, 300},
	}
	for _, s := range setups {
		differing, known, changes := scanCacheCheck(t, r, s.opt, s.passes, s.min, s.max, 0)
		t.Logf("w %d, confirm window %d: %d passes, %d known tests, %d change points", s.opt.Window, s.opt.ConfirmWindow, s.passes, known, changes)
		if differing > 0 {
			t.Errorf("options %+v: %d of %d passes differ from the plain detection", s.opt, differing, s.passes)
		}
		if s.opt.ConfirmWindow > 0 && (known < s.passes || changes < s.passes/10) {
			t.Errorf("options %+v: %d known tests, %d change points over %d passes: the series show too little", s.opt, known, changes, s.passes)
		}
	}
}

// TestScanCacheCheckCanFail: the same check given a stretch one value too
// long — it takes in the first value the pass changed, so a known test may
// read it (i + s = p + 1) — finds passes that differ.
func TestScanCacheCheckCanFail(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 2026))
	differing, _, _ := scanCacheCheck(t, r, smallChangeOptions(4, 16), 1500, 40, 400, 1)
	if differing == 0 {
		t.Error("a stretch that takes in a changed value passes the check; the check shows nothing")
	}
	t.Logf("%d of 1500 passes differ", differing)
}

// TestPassingWithComputesAroundKnown: the tests the scan computes around
// a known stretch are those of the plain scan. Known tests that are not
// the series' (one dropped, one added) change the result: the scan takes
// them as they are and computes none of the stretch's.
func TestScanTakesKnownTestsAsTheyAre(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 2026))
	opt := smallChangeOptions(4, 16)
	dropped, added := 0, 0
	for range 300 {
		values, days := randomSeries(r, 200+r.IntN(200))
		det, err := DetectChangesWithScan(values, days, opt, ScanTests{})
		if err != nil {
			t.Fatal(err)
		}
		all := det.Tests
		if len(all.Tests) == 0 {
			continue
		}
		drop := all
		k := r.IntN(len(all.Tests))
		drop.Tests = slices.Delete(slices.Clone(all.Tests), k, k+1)
		det, err = DetectChangesWithScan(values, days, opt, drop)
		if err != nil {
			t.Fatal(err)
		}
		if !sameScanTests(det.Tests, all) {
			dropped++
		}
		if len(drop.Tests) == 0 {
			continue
		}
		add := drop
		add.Tests = slices.Clone(drop.Tests)
		add.Tests[0].P /= 2
		det, err = DetectChangesWithScan(values, days, opt, add)
		if err != nil {
			t.Fatal(err)
		}
		if !sameScanTests(det.Tests, add) || det.Taken != len(add.Tests) {
			t.Fatalf("a changed known test did not come back as given")
		}
		added++
	}
	if dropped == 0 || added == 0 {
		t.Errorf("dropped %d, changed %d: the scan recomputed known tests", dropped, added)
	}
}

// TestScanTestsCheck: known tests that cannot be a series' are refused.
func TestScanTestsCheck(t *testing.T) {
	opt := smallChangeOptions(4, 16)
	values := make([]float64, 100)
	for i := range values {
		values[i] = float64(1 + i%7)
	}
	for _, bad := range []ScanTests{
		{From: 0, To: 101},
		{From: -1, To: 50},
		{From: 0, To: 50, Tests: []ScanTest{{Index: 10, Scale: 5, P: 1e-4}}},                              // no such scale
		{From: 0, To: 50, Tests: []ScanTest{{Index: 47, Scale: 4, P: 1e-4}}},                              // past To
		{From: 0, To: 50, Tests: []ScanTest{{Index: 20, Scale: 4}, {Index: 10, Scale: 4}}},                // out of order
		{From: 0, To: 50, Tests: []ScanTest{{Index: 20, Scale: 8}, {Index: 10, Scale: 4}}},                // scales out of order
		{From: 0, To: 50, Tests: []ScanTest{{Index: 20, Scale: 4, U2: 33}}},                               // 2U above 2·s²
		{From: 10, To: 50, Tests: []ScanTest{{Index: 12, Scale: 4, U2: 3}, {Index: 20, Scale: 4, U2: 1}}}, // before From
	} {
		if _, err := DetectChangesWithScan(values, nil, opt, bad); err == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}
