package transform

import (
	"cmp"
	"fmt"
	"slices"
)

// Success-rate drop parameters (contract 2b).
const (
	// DropBaselineDays: the baseline is the 28 calendar days before the day.
	DropBaselineDays = 28
	// DropMinBaselineRuns: no drop is called on a baseline of fewer runs.
	DropMinBaselineRuns = 20
)

// DayCounts are one script day's counted runs: total and successes.
type DayCounts struct {
	Day            Day
	Total, Success int64
}

// SuccessRateDrop is a script day whose success rate dropped (a row of
// success_rate_drops, less its script).
type SuccessRateDrop struct {
	Day         Day
	Total       int64
	Success     int64
	SuccessRate float64
	// Interval is the Wilson interval of the day (success_rate_low/high).
	Interval Interval
	// BaselineRuns and BaselineSuccess are the pooled counted runs and
	// successes of the 28 calendar days before Day; BaselineRate is their
	// ratio and Baseline its Wilson interval.
	BaselineRuns, BaselineSuccess int64
	BaselineRate                  float64
	Baseline                      Interval
}

// SuccessRateDrops returns, ascending by day, the days of one script whose
// success rate dropped (contract 2b): the Wilson high of the day is below
// the Wilson low of the pooled runs of the 28 calendar days before it
// (Day − 28 … Day − 1), when those are at least 20. days is the script's
// days in any order; a day without runs is no day; a day given twice or a
// count out of range is an error.
func SuccessRateDrops(days []DayCounts) ([]SuccessRateDrop, error) {
	sorted := slices.Clone(days)
	slices.SortFunc(sorted, func(a, b DayCounts) int { return cmp.Compare(a.Day, b.Day) })
	for i, d := range sorted {
		if d.Total < 0 || d.Success < 0 || d.Success > d.Total {
			return nil, fmt.Errorf("success-rate drops: day %s has %d successes of %d runs", d.Day, d.Success, d.Total)
		}
		if i > 0 && sorted[i-1].Day == d.Day {
			return nil, fmt.Errorf("success-rate drops: day %s is given twice", d.Day)
		}
	}
	var out []SuccessRateDrop
	var runs, success int64 // pooled over sorted[lo:i], the days in [Day − 28, Day − 1]
	lo := 0
	for i, d := range sorted {
		if i > 0 {
			runs += sorted[i-1].Total
			success += sorted[i-1].Success
		}
		for lo < i && sorted[lo].Day < d.Day-DropBaselineDays {
			runs -= sorted[lo].Total
			success -= sorted[lo].Success
			lo++
		}
		if d.Total == 0 || runs < DropMinBaselineRuns {
			continue
		}
		day, _ := Wilson(d.Success, d.Total)
		base, _ := Wilson(success, runs)
		if day.High < base.Low {
			out = append(out, SuccessRateDrop{Day: d.Day, Total: d.Total, Success: d.Success,
				SuccessRate: float64(d.Success) / float64(d.Total), Interval: day,
				BaselineRuns: runs, BaselineSuccess: success,
				BaselineRate: float64(success) / float64(runs), Baseline: base})
		}
	}
	return out, nil
}
