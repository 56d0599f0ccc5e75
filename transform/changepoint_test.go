package transform

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// jitter is a small distinct non-monotone noise: 0.001·((7i) mod 13) +
// 0.00001·i (no ties, so the exact test applies).
func jitter(i int) float64 { return 0.001*float64((i*7)%13) + 0.00001*float64(i) }

// stepSeries is 10 + jitter before index at and 15 + jitter from it (or
// the levels given), n values.
func stepSeries(n int, levels map[int]float64) []float64 {
	out := make([]float64, n)
	level := 10.0
	for i := range out {
		if l, ok := levels[i]; ok {
			level = l
		}
		out[i] = level + jitter(i)
	}
	return out
}

func nearly(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestDetectChangesStep: a step from 10 to 15 at index 30 of 60 values.
// Expected figures by hand (medians and ratio of the jittered values, in
// Python): the persistence check tests the 30 values on each side (the
// series' ends are closer than 48): medians 10.006185 and 15.006445, ratio
// 1.4997169, every after value above every before value so δ = 1, U = 900
// and the exact p = 2/C(60, 30) = 1.6911e-17. The reference method alone
// reports its 12-value windows: medians 10.00676 and 15.00587,
// p = 2/C(24, 12) = 7.3960e-7.
func TestDetectChangesStep(t *testing.T) {
	x := stepSeries(60, map[int]float64{30: 15})
	got, err := DetectChanges(x, nil, DefaultChangeOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %+v, want one change at 30", got)
	}
	c := got[0]
	if c.Index != 30 || c.RunsBefore != 30 || c.RunsAfter != 30 || c.Direction != Slower || c.Effect != 1 ||
		!nearly(c.MedianBefore, 10.006185) || !nearly(c.MedianAfter, 15.006445) ||
		!nearly(c.Ratio, 1.499716925081837) || !nearly(c.P, 1.6911233892144735e-17) {
		t.Errorf("change = %+v", c)
	}

	ref := DefaultChangeOptions()
	ref.ConfirmWindow = 0
	got, _ = DetectChanges(x, nil, ref)
	if len(got) != 1 {
		t.Fatalf("reference: got %+v, want one change at 30", got)
	}
	c = got[0]
	if c.Index != 30 || c.RunsBefore != 12 || c.RunsAfter != 12 || !nearly(c.MedianBefore, 10.00676) ||
		!nearly(c.MedianAfter, 15.00587) || !nearly(c.P, 7.39602301050679e-07) || c.Effect != 1 {
		t.Errorf("reference change = %+v", c)
	}
}

// TestDetectChangesUpAndDown: up at 30, back down at 60 of 90; each change
// is tested on the 30 values between its neighbours (medians by hand:
// 15.006445 then 10.006705 after the second).
func TestDetectChangesUpAndDown(t *testing.T) {
	x := stepSeries(90, map[int]float64{30: 15, 60: 10})
	got, err := DetectChanges(x, nil, DefaultChangeOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Index != 30 || got[1].Index != 60 {
		t.Fatalf("got %+v, want changes at 30 and 60", got)
	}
	if d := got[1]; d.Direction != Faster || d.Effect != -1 || d.RunsBefore != 30 || d.RunsAfter != 30 ||
		!nearly(d.MedianBefore, 15.006445) || !nearly(d.MedianAfter, 10.006705) {
		t.Errorf("second change = %+v", d)
	}
}

// A single run ten times slower is never a change: it moves U by at most
// w, far from p < 0.001.
func TestDetectChangesSpikeRun(t *testing.T) {
	x := stepSeries(60, nil)
	x[30] *= 10
	for _, confirm := range []int{0, 48} {
		opt := DefaultChangeOptions()
		opt.ConfirmWindow = confirm
		if got, _ := DetectChanges(x, nil, opt); len(got) != 0 {
			t.Errorf("confirm window %d: %+v, want none", confirm, got)
		}
	}
}

// A day of 10 runs five times slower, among 6 days of 10 runs: the
// reference scan flags it (10 of the 12 values after its start are high:
// U = 120 + …), which is why the persistence check exists; with it, and
// with the days, nothing is flagged.
func TestDetectChangesSpikeDay(t *testing.T) {
	x := stepSeries(60, nil)
	days := make([]Day, 60)
	for i := range x {
		days[i] = Day(100 + i/10)
		if i/10 == 3 {
			x[i] *= 5
		}
	}
	ref := DefaultChangeOptions()
	ref.ConfirmWindow = 0
	if got, _ := DetectChanges(x, days, ref); len(got) == 0 {
		t.Errorf("reference method: no change; the spike day should fool it (else this test shows nothing)")
	}
	if got, _ := DetectChanges(x, days, DefaultChangeOptions()); len(got) != 0 {
		t.Errorf("with the persistence check: %+v, want none", got)
	}
}

// A shift that shows on one day only at the end of the series is not yet
// a change; a day later it is.
func TestDetectChangesOneDayRule(t *testing.T) {
	x := stepSeries(72, map[int]float64{48: 15})
	days := make([]Day, 72)
	for i := range days {
		days[i] = Day(100 + i/12) // 12 runs a day; the shift starts day 104
	}
	if got, _ := DetectChanges(x[:60], days[:60], DefaultChangeOptions()); len(got) != 0 {
		t.Errorf("shift on one day: %+v, want none yet", got)
	}
	if got, _ := DetectChanges(x, days, DefaultChangeOptions()); len(got) != 1 || got[0].Index != 48 {
		t.Errorf("shift on two days: %+v, want one change at 48", got)
	}
}

func TestDetectChangesEdges(t *testing.T) {
	// Fewer than 2w values: nothing to test.
	if got, err := DetectChanges(stepSeries(23, map[int]float64{12: 15}), nil, DefaultChangeOptions()); err != nil || got != nil {
		t.Errorf("23 values: %+v, %v; want none", got, err)
	}
	// A 10 % step of flat values: every value tied, so the normal
	// approximation; U = 144, σ² = 144/12·(25 − (1716·2)/552) = 225.391…
	// with two tie groups of 12 (t³ − t = 1716 each), z = 71.5/15.0130 =
	// 4.76253, p = 1.91183e-6 < 0.001; ratio 1.1 exactly meets MinRatio,
	// and so does 0.9 the other way (0.9 − 1 is −0.0999…98 in floats).
	x := make([]float64, 24)
	for i := range x {
		x[i] = 100
		if i >= 12 {
			x[i] = 110
		}
	}
	got, _ := DetectChanges(x, nil, DefaultChangeOptions())
	if len(got) != 1 || got[0].Index != 12 || got[0].Ratio != 1.1 || math.Abs(got[0].P-1.91183477115451e-06)/1.91183e-6 > 1e-9 {
		t.Errorf("flat 10 %% step: %+v, want one change at 12, ratio 1.1, p 1.91183e-6", got)
	}
	for i := 12; i < 24; i++ {
		x[i] = 90
	}
	if got, _ := DetectChanges(x, nil, DefaultChangeOptions()); len(got) != 1 || got[0].Direction != Faster || got[0].Ratio != 0.9 {
		t.Errorf("flat 10 %% drop: %+v, want one faster change, ratio 0.9", got)
	}
	// 9 %: below MinRatio.
	for i := 12; i < 24; i++ {
		x[i] = 109
	}
	if got, _ := DetectChanges(x, nil, DefaultChangeOptions()); len(got) != 0 {
		t.Errorf("flat 9 %% step: %+v, want none", got)
	}
}

func TestDetectChangesBadInput(t *testing.T) {
	x := stepSeries(30, nil)
	bad := DefaultChangeOptions()
	bad.Window = 1
	if _, err := DetectChanges(x, nil, bad); !errors.Is(err, ErrChangeOptions) {
		t.Errorf("window 1: %v, want ErrChangeOptions", err)
	}
	bad = DefaultChangeOptions()
	bad.ConfirmWindow = 5 // narrower than the scan
	if _, err := DetectChanges(x, nil, bad); !errors.Is(err, ErrChangeOptions) {
		t.Errorf("confirm window 5 < w: %v, want ErrChangeOptions", err)
	}
	bad = DefaultChangeOptions()
	bad.MaxP = 0
	if _, err := DetectChanges(x, nil, bad); !errors.Is(err, ErrChangeOptions) {
		t.Errorf("max p 0: %v, want ErrChangeOptions", err)
	}
	y := append([]float64(nil), x...)
	y[3] = -1
	if _, err := DetectChanges(y, nil, DefaultChangeOptions()); err == nil {
		t.Error("negative duration: no error")
	}
	y[3] = math.NaN()
	if _, err := DetectChanges(y, nil, DefaultChangeOptions()); err == nil {
		t.Error("NaN duration: no error")
	}
	if _, err := DetectChanges(x, make([]Day, 3), DefaultChangeOptions()); err == nil {
		t.Error("3 days for 30 values: no error")
	}
	days := make([]Day, 30)
	days[0] = 5
	if _, err := DetectChanges(x, days, DefaultChangeOptions()); err == nil {
		t.Error("days out of order: no error")
	}
}

// The detection is invariant under a change of unit: every test is on
// ranks or on ratios of medians. Seconds and milliseconds give the same
// change points (a property that fails if a threshold is absolute).
func TestDetectChangesUnitInvariant(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	x := make([]float64, 200)
	days := make([]Day, len(x))
	for i := range x {
		level := 20.0
		if i >= 80 && i < 150 {
			level = 26
		}
		x[i] = level * math.Exp(0.08*r.NormFloat64())
		days[i] = Day(i / 7)
	}
	ms := make([]float64, len(x))
	for i, v := range x {
		ms[i] = v * 1024 // a power of two: the scaling is exact in floats
	}
	a, _ := DetectChanges(x, days, DefaultChangeOptions())
	b, _ := DetectChanges(ms, days, DefaultChangeOptions())
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("seconds: %+v\nmilliseconds: %+v", a, b)
	}
	for k := range a {
		if a[k].Index != b[k].Index || a[k].P != b[k].P || a[k].Ratio != b[k].Ratio || a[k].MedianAfter*1024 != b[k].MedianAfter {
			t.Errorf("change %d: seconds %+v, milliseconds %+v", k, a[k], b[k])
		}
	}
}

// perDayDays gives n values perDay runs a day from day 100.
func perDayDays(n, perDay int) []Day {
	days := make([]Day, n)
	for i := range days {
		days[i] = Day(100 + i/perDay)
	}
	return days
}

// TestDetectChangesHighFrequencyShift: 80 runs a day (a 96-value window is
// about a day), a step from 10 to 15 at index 200, in the middle of day 2.
// Figures by hand (Python over the same jittered values): the check tests
// values[104:200] against values[200:296], medians 10.007485 and
// 15.008525, ratio 1.4997300; every after value above every before value,
// U = 9216 = 96·96, δ = 1, and with 96 + 96 values the normal
// approximation: z = (4608 − ½)/sqrt(96·96·193/12), p = 5.2543270e-33.
func TestDetectChangesHighFrequencyShift(t *testing.T) {
	x := stepSeries(480, map[int]float64{200: 15})
	got, err := DetectChanges(x, perDayDays(480, 80), DefaultChangeOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %+v, want one change at 200", got)
	}
	c := got[0]
	if c.Index != 200 || c.RunsBefore != 96 || c.RunsAfter != 96 || c.Effect != 1 || c.Direction != Slower ||
		!nearly(c.MedianBefore, 10.007485) || !nearly(c.MedianAfter, 15.008525) ||
		!nearly(c.Ratio, 1.49972995213083) || math.Abs(c.P-5.2543269939955386e-33)/5.2543e-33 > 1e-9 {
		t.Errorf("change = %+v", c)
	}
}

// A whole day of runs three times slower, at 80 and at 200 runs a day, is
// no change: the scan flags both ends of the day (else this test shows
// nothing), the one-day rule refills the samples with the runs of the
// days around it and the shift is gone.
func TestDetectChangesHighFrequencySpikeDay(t *testing.T) {
	for _, perDay := range []int{80, 200} {
		n := 7 * perDay
		x := stepSeries(n, nil)
		days := perDayDays(n, perDay)
		for i := 3 * perDay; i < 4*perDay; i++ {
			x[i] *= 3
		}
		ref := DefaultChangeOptions()
		ref.ConfirmWindow = 0
		if got, _ := DetectChanges(x, days, ref); len(got) != 2 {
			t.Errorf("%d a day, the scan alone: %+v, want the two ends of the day", perDay, got)
		}
		if got, _ := DetectChanges(x, days, DefaultChangeOptions()); len(got) != 0 {
			t.Errorf("%d a day: %+v, want none", perDay, got)
		}
	}
}

// At 200 runs a day a shift from the start of the last day is not a change
// yet (the day may be a spike); once the next day shows it, it is, at its
// first run.
func TestDetectChangesHighFrequencyOneDayRule(t *testing.T) {
	x := stepSeries(1200, map[int]float64{800: 15})
	days := perDayDays(1200, 200)
	if got, _ := DetectChanges(x[:1000], days[:1000], DefaultChangeOptions()); len(got) != 0 {
		t.Errorf("shift on the last day only: %+v, want none yet", got)
	}
	if got, _ := DetectChanges(x, days, DefaultChangeOptions()); len(got) != 1 || got[0].Index != 800 || got[0].Direction != Slower {
		t.Errorf("shift on two days: %+v, want one slower change at 800", got)
	}
}

// The declared radius, by hand from Radius's sum: with w = 12 and W = 96
// (scales 12, 24, 48, 96; one-day reach 3·96 = 288),
// 2·12 + 2·96 + max(96 + 2·96 + 12, 12 + 288) + 1 = 517; the scan alone:
// 2w = 24.
func TestChangeOptionsRadius(t *testing.T) {
	if r, local := DefaultChangeOptions().Radius(); r != 517 || !local {
		t.Errorf("defaults: radius %d, local %v; want 517, true", r, local)
	}
	ref := DefaultChangeOptions()
	ref.ConfirmWindow = 0
	if r, local := ref.Radius(); r != 24 || !local {
		t.Errorf("scan alone: radius %d, local %v; want 24, true", r, local)
	}
}
