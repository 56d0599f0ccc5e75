package load_test

import (
	"context"
	"math"
	"testing"

	"github.com/scriptstats/scriptstats/transform"
)

// TestChangeRunsStepDurations: the step durations ChangeRuns reads back
// (sent as hex bits, detect_change_runs.sql) are the stored ones bit for
// bit — odd ones included — and a NULL or NaN one is not valid.
func TestChangeRunsStepDurations(t *testing.T) {
	_, sink := migrated(t)
	ctx := context.Background()
	d := transform.DayFromDate(2026, 11, 3)
	r := run(1, 9, d, "success", transform.StatusSuccess)
	durations := []transform.NullFloat{
		{Float64: 1.25, Valid: true}, {}, {Float64: 0, Valid: true}, {Float64: math.Copysign(0, -1), Valid: true},
		{Float64: math.NaN(), Valid: true}, {Float64: math.Inf(1), Valid: true}, {Float64: -3.5, Valid: true},
		{Float64: 5e-324, Valid: true}, {Float64: 1.7976931348623157e308, Valid: true}, {Float64: 0.1, Valid: true},
	}
	r.Steps = nil
	for k, dur := range durations {
		r.Steps = append(r.Steps, transform.Step{Index: int32(k * 3), Status: transform.StepSuccess, Duration: dur})
	}
	if err := sink.WriteRuns(ctx, []transform.Run{r}, nil, 1); err != nil {
		t.Fatal(err)
	}
	seen := 0
	err := sink.ChangeRuns(ctx, []int64{9}, d, func(id int64, got *transform.Run) error {
		seen++
		if len(got.Steps) != len(durations) {
			t.Fatalf("%d steps, want %d", len(got.Steps), len(durations))
		}
		for k, want := range durations {
			g := got.Steps[k].Duration
			wantValid := want.Valid && !math.IsNaN(want.Float64)
			if got.Steps[k].Index != int32(k*3) || g.Valid != wantValid ||
				(wantValid && math.Float64bits(g.Float64) != math.Float64bits(want.Float64)) {
				t.Errorf("step %d: index %d, %v (valid %v); want index %d, %v (valid %v)",
					k, got.Steps[k].Index, g.Float64, g.Valid, k*3, want.Float64, wantValid)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != 1 {
		t.Fatalf("read %d runs, want 1", seen)
	}
}
