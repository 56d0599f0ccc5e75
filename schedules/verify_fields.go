package schedules

import (
	"fmt"
	"math"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// fieldDiffs collects "name: clickhouse X, source Y" lines.
type fieldDiffs []string

func (f *fieldDiffs) add(name string, got, want any) {
	*f = append(*f, fmt.Sprintf("%s: clickhouse %v, source %v", name, got, want))
}

func (f *fieldDiffs) uint(name string, got, want uint64) {
	if got != want {
		f.add(name, got, want)
	}
}

func (f *fieldDiffs) float(name string, got, want float64) {
	if !sameFloat(got, want) {
		f.add(name, got, want)
	}
}

func (f *fieldDiffs) nullFloat(name string, got, want transform.NullFloat) {
	if got.Valid != want.Valid || (got.Valid && !sameFloat(got.Float64, want.Float64)) {
		f.add(name, showFloat(got), showFloat(want))
	}
}

func (f *fieldDiffs) nullString(name string, got, want transform.NullString) {
	if got != want {
		f.add(name, showString(got), showString(want))
	}
}

func (f *fieldDiffs) nullTime(name string, got, want transform.NullTime) {
	if got.Valid != want.Valid || (got.Valid && !got.Time.Equal(want.Time)) {
		f.add(name, showTime(got), showTime(want))
	}
}

// sameFloat is exact equality, NaN equal to NaN: both sides are computed by
// the same code from the same values, so any difference is real.
func sameFloat(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

func showFloat(v transform.NullFloat) string {
	if !v.Valid {
		return "NULL"
	}
	return fmt.Sprint(v.Float64)
}

func showString(v transform.NullString) string {
	if !v.Valid {
		return "NULL"
	}
	if len(v.String) > 60 {
		return fmt.Sprintf("%q…", v.String[:60])
	}
	return fmt.Sprintf("%q", v.String)
}

func showTime(v transform.NullTime) string {
	if !v.Valid {
		return "NULL"
	}
	return v.Time.UTC().Format("2006-01-02T15:04:05.999999Z")
}

func diffScriptDay(want, got transform.ScriptDay) []string {
	var f fieldDiffs
	f.uint("total", got.Total, want.Total)
	f.uint("success", got.Success, want.Success)
	f.uint("failed", got.Failed, want.Failed)
	f.uint("timeout", got.Timeout, want.Timeout)
	f.uint("cancelled", got.Cancelled, want.Cancelled)
	f.uint("other", got.Other, want.Other)
	f.float("success_rate", got.SuccessRate, want.SuccessRate)
	f.uint("duration_count", got.DurationCount, want.DurationCount)
	f.uint("invalid_duration", got.InvalidDuration, want.InvalidDuration)
	f.nullFloat("duration_avg", got.DurationAvg, want.DurationAvg)
	f.nullFloat("duration_min", got.DurationMin, want.DurationMin)
	f.nullFloat("duration_max", got.DurationMax, want.DurationMax)
	f.nullFloat("duration_p50", got.DurationP50, want.DurationP50)
	f.nullFloat("duration_p90", got.DurationP90, want.DurationP90)
	f.nullFloat("duration_p95", got.DurationP95, want.DurationP95)
	f.nullFloat("duration_p99", got.DurationP99, want.DurationP99)
	f.nullFloat("success_duration_avg", got.SuccessDurationAvg, want.SuccessDurationAvg)
	f.nullFloat("success_duration_p50", got.SuccessDurationP50, want.SuccessDurationP50)
	f.nullFloat("success_duration_p95", got.SuccessDurationP95, want.SuccessDurationP95)
	return f
}

func diffStepDay(want, got transform.StepDay) []string {
	var f fieldDiffs
	f.nullString("step_name", got.StepName, want.StepName)
	f.uint("attempts", got.Attempts, want.Attempts)
	f.uint("failures", got.Failures, want.Failures)
	f.float("failure_rate", got.FailureRate, want.FailureRate)
	f.nullTime("last_failure_at", got.LastFailureAt, want.LastFailureAt)
	f.nullString("last_error", got.LastError, want.LastError)
	return f
}

func diffRun(want *transform.Run, got *load.ViewRun) []string {
	var f fieldDiffs
	if got.Status != want.Status {
		f.add("status", fmt.Sprintf("%q", got.Status), fmt.Sprintf("%q", want.Status))
	}
	f.nullTime("started_at", got.StartedAt, want.StartedAt)
	f.nullTime("finished_at", got.FinishedAt, want.FinishedAt)
	f.nullFloat("duration", got.Duration, want.Duration)
	if got.FailedStepIndex != want.FailedStepIndex {
		f.add("failed_step_index", got.FailedStepIndex, want.FailedStepIndex)
	}
	f.nullString("failed_step_name", got.FailedStepName, want.FailedStepName)
	f.nullString("error_message", got.ErrorMessage, want.ErrorMessage)
	f.steps(got.Steps, want.Steps)
	return f
}

// steps compares a run's steps (run_steps) in array order and reports the
// first that differs, or the counts.
func (f *fieldDiffs) steps(got, want []transform.Step) {
	if len(got) != len(want) {
		f.add("steps", fmt.Sprintf("%d steps", len(got)), fmt.Sprintf("%d", len(want)))
		return
	}
	for i := range want {
		g, w := &got[i], &want[i]
		var d fieldDiffs
		if g.Index != w.Index {
			d.add("step_index", g.Index, w.Index)
		}
		d.nullString("step_name", g.Name, w.Name)
		if g.Status != w.Status {
			d.add("status", fmt.Sprintf("%q", g.Status), fmt.Sprintf("%q", w.Status))
		}
		d.nullFloat("duration", g.Duration, w.Duration)
		d.nullString("error", g.Error, w.Error)
		if len(d) > 0 {
			*f = append(*f, fmt.Sprintf("step %d of %d: %s", i+1, len(want), d[0]))
			return
		}
	}
}
