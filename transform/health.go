package transform

import (
	"cmp"
	"slices"
	"time"
)

// HealthState is a step's state in step_health (contract 2b).
type HealthState string

// The step health states, in the order they are tried.
const (
	Broken       HealthState = "broken"
	NewlyFailing HealthState = "newly_failing"
	Flaky        HealthState = "flaky"
	Recovered    HealthState = "recovered"
	Healthy      HealthState = "healthy"
)

// Step health windows and thresholds (contract 2b).
const (
	// HealthWindow: the executions looked at are those of the 14 days (as
	// 14 × 24 h, whatever the DST changes in between) up to as-of.
	HealthWindow = 14 * 24 * time.Hour
	// NewlyFailingWindow: "the last 24 h".
	NewlyFailingWindow = 24 * time.Hour

	brokenStreak       = 3  // last ≥ 3 executions failed
	newlyFailingBefore = 10 // ≥ 10 successes before the first failure
	flakyExecutions    = 20 // ≥ 20 executions
	flakyMixedDays     = 2  // ≥ 2 days with a success and a failure
	recoveredFailures  = 3  // a streak of ≥ 3 failures …
	recoveredSuccesses = 5  // … then ≥ 5 successes up to now
)

// StepExecution is one attempt of a step (status success or failed, in a
// counted run).
type StepExecution struct {
	// At orders the executions: coalesce(started_at, created_at) of the run.
	At     time.Time
	RunID  int64
	Failed bool
}

// StepHealth is a step's row of step_health, less its names and last
// failure (the caller has those from step_daily).
type StepHealth struct {
	State HealthState
	// Since is when the state began (see ClassifyStepHealth); NULL for
	// healthy.
	Since       NullTime
	Executions  int
	Failures    int
	FailureRate NullFloat // failures / executions; NULL without executions
	// FailureRateLow and FailureRateHigh are the Wilson interval of
	// Failures out of Executions (NULL without executions).
	FailureRateLow, FailureRateHigh NullFloat
	// FlipRate is the status changes between consecutive executions ÷
	// (executions − 1); NULL with fewer than 2 executions.
	FlipRate NullFloat
}

// ClassifyStepHealth classifies one step as of asOf from its executions
// (any order; those outside the window are ignored) — contract 2b:
//
// The window holds the executions with asOf − 14 days ≤ At ≤ asOf, ordered
// by At, then RunID, then as given (a run's steps in array order). An
// execution after asOf (a clock ahead of the pass's) is not yet part of
// the state. The first state that applies:
//
//   - broken: the last ≥ 3 executions failed; since: the first failure of
//     that streak;
//   - newly_failing: the first failure in the window has At ≥ asOf − 24 h
//     and ≥ 10 successes precede it; since: that failure;
//   - flaky: ≥ 20 executions, failure rate < 0.8, and flip rate ≥ 0.1 or
//     ≥ 2 days (of loc; nil is UTC) with both a success and a failure;
//     since: the first failure in the window;
//   - recovered: the executions end with ≥ 5 successes right after a streak
//     of ≥ 3 failures; since: the first of those successes;
//   - healthy, since NULL.
//
// Both edges of the windows are included (an execution exactly 24 h
// before asOf is in the last 24 h). The rate thresholds are compared in
// integers (5·failures < 4·executions, 10·flips ≥ executions − 1), so that
// no float rounding moves a step across them.
func ClassifyStepHealth(execs []StepExecution, asOf time.Time, loc *time.Location) StepHealth {
	from := asOf.Add(-HealthWindow)
	win := make([]StepExecution, 0, len(execs))
	for _, e := range execs {
		if !e.At.Before(from) && !e.At.After(asOf) {
			win = append(win, e)
		}
	}
	// Stable: the executions of one run (a step index repeated in its
	// steps) keep their order, the steps' array order, as the job reads
	// them; an unstable sort put them in any order past 12 executions.
	slices.SortStableFunc(win, func(a, b StepExecution) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.RunID, b.RunID)
	})
	return ClassifySummary(SummarizeExecutions(win, loc), asOf)
}

// ExecutionSummary is all the state of a step depends on, of its
// executions in the window in order: the job composes it from per-day
// segments (StepSegment, healthsegment.go) instead of reading every
// execution; SummarizeExecutions is its definition.
type ExecutionSummary struct {
	Executions, Failures int
	Flips                int // status changes between consecutive executions
	// FirstFailure is the index of the first failure (−1: none), and
	// FirstFailureAt its time.
	FirstFailure   int
	FirstFailureAt time.Time
	// The trailing streak (the longest run of equal statuses that ends the
	// executions): whether it is failures, the index and time of its first
	// execution.
	LastFailed    bool
	StreakStart   int
	StreakStartAt time.Time
	// FailuresBeforeStreak is the length of the streak of failures that
	// ends right before the trailing streak (0 when there is none).
	FailuresBeforeStreak int
	// MixedDays is the number of days with both a success and a failure.
	MixedDays int
}

// SummarizeExecutions summarizes the executions of the window, ordered by
// At, then RunID; days are those of loc.
func SummarizeExecutions(win []StepExecution, loc *time.Location) ExecutionSummary {
	if loc == nil {
		loc = time.UTC
	}
	s := ExecutionSummary{Executions: len(win), FirstFailure: -1}
	n := len(win)
	if n == 0 {
		return s
	}
	for i, e := range win {
		if e.Failed {
			s.Failures++
			if s.FirstFailure < 0 {
				s.FirstFailure, s.FirstFailureAt = i, e.At
			}
		}
		if i > 0 && e.Failed != win[i-1].Failed {
			s.Flips++
		}
	}
	s.LastFailed = win[n-1].Failed
	s.StreakStart = n - 1
	for s.StreakStart > 0 && win[s.StreakStart-1].Failed == s.LastFailed {
		s.StreakStart--
	}
	s.StreakStartAt = win[s.StreakStart].At
	s.FailuresBeforeStreak = failureStreakBefore(win, s.StreakStart)
	if s.Failures > 0 && s.Failures < n {
		s.MixedDays = mixedDays(win, loc)
	}
	return s
}

// ClassifySummary is the state as of asOf of a step whose executions in
// the window are summarized by s (see ClassifyStepHealth).
func ClassifySummary(s ExecutionSummary, asOf time.Time) StepHealth {
	n := s.Executions
	h := StepHealth{State: Healthy, Executions: n, Failures: s.Failures}
	if n == 0 {
		return h
	}
	h.FailureRate = NullFloat{Float64: float64(h.Failures) / float64(n), Valid: true}
	if iv, ok := Wilson(int64(h.Failures), int64(n)); ok {
		h.FailureRateLow = NullFloat{Float64: iv.Low, Valid: true}
		h.FailureRateHigh = NullFloat{Float64: iv.High, Valid: true}
	}
	if n >= 2 {
		h.FlipRate = NullFloat{Float64: float64(s.Flips) / float64(n-1), Valid: true}
	}
	at := func(t time.Time) NullTime { return NullTime{Time: t, Valid: true} }
	streak := n - s.StreakStart
	switch {
	case s.LastFailed && streak >= brokenStreak:
		h.State, h.Since = Broken, at(s.StreakStartAt)
	case s.FirstFailure >= newlyFailingBefore && !s.FirstFailureAt.Before(asOf.Add(-NewlyFailingWindow)):
		h.State, h.Since = NewlyFailing, at(s.FirstFailureAt)
	case n >= flakyExecutions && 5*h.Failures < 4*n && h.Failures > 0 &&
		(10*s.Flips >= n-1 || s.MixedDays >= flakyMixedDays):
		h.State, h.Since = Flaky, at(s.FirstFailureAt)
	case !s.LastFailed && streak >= recoveredSuccesses && s.FailuresBeforeStreak >= recoveredFailures:
		h.State, h.Since = Recovered, at(s.StreakStartAt)
	}
	return h
}

// mixedDays counts the days of loc with both a success and a failure among
// the (ordered) executions.
func mixedDays(win []StepExecution, loc *time.Location) int {
	type seen struct{ success, failure bool }
	days := map[Day]*seen{}
	mixed := 0
	for _, e := range win {
		d := DayOf(e.At, loc)
		s := days[d]
		if s == nil {
			s = &seen{}
			days[d] = s
		}
		before := s.success && s.failure
		if e.Failed {
			s.failure = true
		} else {
			s.success = true
		}
		if !before && s.success && s.failure {
			mixed++
		}
	}
	return mixed
}

// failureStreakBefore is the length of the streak of failures that ends
// right before index end.
func failureStreakBefore(win []StepExecution, end int) int {
	k := 0
	for i := end - 1; i >= 0 && win[i].Failed; i-- {
		k++
	}
	return k
}
