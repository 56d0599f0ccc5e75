package transform

import (
	"math"
	"testing"
)

const dropDay = Day(20600)

// baselineOf is `days` days before dropDay (dropDay−days … dropDay−1),
// each with total runs and success successes.
func baselineOf(days int, total, success int64) []DayCounts {
	var out []DayCounts
	for d := 1; d <= days; d++ {
		out = append(out, DayCounts{Day: dropDay - Day(d), Total: total, Success: success})
	}
	return out
}

func near4(a, b float64) bool { return math.Abs(a-b) < 0.00005 }

// Wilson values below by hand (z = 1.96): 280/280 → low 0.98647;
// 270/280 → low 0.93552; 8/10 → high 0.94332; 7/10 → high 0.89221;
// 20/20 → low 0.83887; 19/19 → low 0.83182; 0/10 → high 0.27753.
func TestSuccessRateDrops(t *testing.T) {
	// 28 perfect days of 10 runs, then 8/10: high 0.9433 < low 0.9865.
	days := append(baselineOf(28, 10, 10), DayCounts{Day: dropDay, Total: 10, Success: 8})
	got, err := SuccessRateDrops(days)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d drops, want 1: %+v", len(got), got)
	}
	d := got[0]
	if d.Day != dropDay || d.Total != 10 || d.SuccessRate != 0.8 || d.BaselineRuns != 280 || d.BaselineSuccess != 280 ||
		d.BaselineRate != 1 || !near4(d.Baseline.Low, 0.98647) || d.Baseline.High != 1 || !near4(d.Interval.High, 0.94332) {
		t.Errorf("drop = %+v", d)
	}

	// Baseline 270/280 (low 0.93552): 8/10 (high 0.94332) is no drop,
	// 7/10 (high 0.89221) is.
	base := baselineOf(27, 10, 10)
	base = append(base, DayCounts{Day: dropDay - 28, Total: 10, Success: 0})
	for _, c := range []struct {
		success int64
		drop    bool
	}{{8, false}, {7, true}} {
		got, _ := SuccessRateDrops(append(base[:28:28], DayCounts{Day: dropDay, Total: 10, Success: c.success}))
		if (len(got) == 1) != c.drop {
			t.Errorf("270/280 then %d/10: drops %+v, want drop %v", c.success, got, c.drop)
		}
		if c.drop && (got[0].BaselineSuccess != 270 || !near4(got[0].Baseline.Low, 0.93552)) {
			t.Errorf("baseline %+v, want 270/280, low 0.93552", got[0])
		}
	}
}

func TestSuccessRateDropBaselineEdges(t *testing.T) {
	bad := DayCounts{Day: dropDay, Total: 10, Success: 0} // high 0.2775
	// 19 baseline runs are too few; 20 are enough.
	if got, _ := SuccessRateDrops([]DayCounts{{Day: dropDay - 1, Total: 19, Success: 19}, bad}); len(got) != 0 {
		t.Errorf("baseline of 19 runs: %+v, want no drop", got)
	}
	if got, _ := SuccessRateDrops([]DayCounts{{Day: dropDay - 1, Total: 20, Success: 20}, bad}); len(got) != 1 {
		t.Errorf("baseline of 20 runs: %+v, want a drop", got)
	}
	// The 28th day before is in the baseline, the 29th is not.
	if got, _ := SuccessRateDrops([]DayCounts{{Day: dropDay - 28, Total: 20, Success: 20}, bad}); len(got) != 1 {
		t.Errorf("baseline on day −28: %+v, want a drop", got)
	}
	if got, _ := SuccessRateDrops([]DayCounts{{Day: dropDay - 29, Total: 20, Success: 20}, bad}); len(got) != 0 {
		t.Errorf("baseline on day −29: %+v, want no drop", got)
	}
	// In any input order: the day itself and later days are not in its
	// baseline (20 runs, not 30 or 40); the perfect day after it is no drop
	// (its high is 1).
	days := []DayCounts{{Day: dropDay + 1, Total: 10, Success: 10}, bad, {Day: dropDay - 1, Total: 20, Success: 20}}
	got, err := SuccessRateDrops(days)
	if err != nil || len(got) != 1 || got[0].Day != dropDay || got[0].BaselineRuns != 20 {
		t.Errorf("unordered input: %+v, %v; want one drop on %s with 20 baseline runs", got, err, dropDay)
	}
}

func TestSuccessRateDropsBadInput(t *testing.T) {
	if _, err := SuccessRateDrops([]DayCounts{{Day: 5, Total: 1, Success: 1}, {Day: 5, Total: 2, Success: 1}}); err == nil {
		t.Error("a day given twice: no error")
	}
	if _, err := SuccessRateDrops([]DayCounts{{Day: 5, Total: 1, Success: 2}}); err == nil {
		t.Error("more successes than runs: no error")
	}
	if got, err := SuccessRateDrops(nil); err != nil || got != nil {
		t.Errorf("no days: %v, %v", got, err)
	}
}
