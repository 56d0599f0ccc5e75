package transform

import "testing"

// zigzagSeries is 40 days of perDay runs around 100 (a fixed pattern of
// ±5 %, no two neighbours equal), the runs of the days in up × factor.
func zigzagSeries(perDay int, factor float64, up func(day int) bool) ([]float64, []Day) {
	var values []float64
	var days []Day
	for day := range 40 {
		for range perDay {
			i := len(values)
			x := 100 * (1 + 0.01*float64((i*7)%11-5))
			if up(day) {
				x *= factor
			}
			values = append(values, x)
			days = append(days, Day(day))
		}
	}
	return values, days
}

// TestShortPlateausEveryEnd: a level 15 % up for 4 days, back for 4 days,
// up again for 4 days and back (plateaus of 16 to 24 runs at 4 to 6 a
// day, the well log's pattern) is four changes, each within ±2 runs of
// the first run of its day (the placement reads the fixed pattern),
// alternately slower and faster. Before method version 3 the
// one-day rule refilled each plateau's sample, less its most extreme day,
// with the level beyond its other end — here the level of the other side
// of the change — and the two middle ends failed; then round 3 dropped
// the outer ones, which their samples had cut. A single day × 1.15 (a
// spike day) is still nothing.
func TestShortPlateausEveryEnd(t *testing.T) {
	for _, perDay := range []int{4, 5, 6} {
		values, days := zigzagSeries(perDay, 1.15, func(d int) bool { return (d >= 15 && d < 19) || (d >= 23 && d < 27) })
		cps, err := DetectChanges(values, days, DefaultChangeOptions())
		if err != nil {
			t.Fatal(err)
		}
		want := []int{15 * perDay, 19 * perDay, 23 * perDay, 27 * perDay}
		ok := len(cps) == len(want)
		for k := 0; ok && k < len(want); k++ {
			dir := Slower
			if k%2 == 1 {
				dir = Faster
			}
			ok = abs(cps[k].Index-want[k]) <= 2 && cps[k].Direction == dir
		}
		if !ok {
			t.Errorf("%d a day: %+v, want changes at %v (±2), slower first", perDay, cps, want)
		}
		values, days = zigzagSeries(perDay, 1.15, func(d int) bool { return d == 15 })
		if cps, _ := DetectChanges(values, days, DefaultChangeOptions()); len(cps) != 0 {
			t.Errorf("%d a day, one day × 1.15: %+v, want none", perDay, cps)
		}
	}
}
