package transform

import (
	"slices"
	"time"
)

// Step health from segments (issues #10 and #12): the window's executions
// of a step, in window order (At, then RunID), cut into contiguous
// segments — a day's executions, or a single one — each summarized by a
// StepSegment; CombineSegments joins two neighbouring segments. Combining
// the segments of a cut in order gives the summary of the whole, whatever
// the cut (CombineSegments is associative and Add is combining with one
// execution), so the job keeps one summary per (script, day) and reads the
// runs of only the days it cannot take from there.

// StepAttempt is one execution of a step as health reads it: its place in
// the window order, its day (DayOf(At) in the zone of the days), its
// status, and what the step's row keeps of it.
type StepAttempt struct {
	At     time.Time
	RunID  int64
	Day    Day
	Failed bool
	// Name is the step's name in this run (the row keeps the latest
	// non-null one).
	Name NullString
	// FailureAt orders failures for last_failure_at / last_error (then
	// RunID, then the later attempt): the run's
	// coalesce(finished_at, started_at, created_at).
	FailureAt time.Time
	Error     NullString
}

// StepSegment summarizes a step's executions over a contiguous part of the
// window order. The zero value is the empty segment, the identity of
// CombineSegments.
type StepSegment struct {
	Executions, Failures int
	Flips                int // status changes between consecutive executions
	FirstAt              time.Time
	// The leading streak (equal statuses that start the segment): its
	// status and length.
	FirstFailed bool
	Lead        int
	// The trailing streak: its status, length and first execution's time,
	// and the length of the streak of failures right before it (0 when
	// the trailing streak is failures, or starts the segment).
	LastFailed          bool
	Trail               int
	TrailAt             time.Time
	FailuresBeforeTrail int
	// FirstFailure is the index of the first failure in the segment and
	// FirstFailureAt its time; meaningful when Failures > 0.
	FirstFailure   int
	FirstFailureAt time.Time
	// Days are the days with an execution, in day order, and what they
	// held (a zone whose clocks go back over midnight brings a date back:
	// a day can recur further on).
	Days []DayStatuses
	// Name is the latest non-null name of the step.
	Name NullString
	// LastFailure is the failure with the greatest (FailureAt, RunID), the
	// later one on a tie.
	LastFailure FailureRef
}

// DayStatuses is whether a day held a success and a failure of a step.
type DayStatuses struct {
	Day              Day
	Success, Failure bool
}

// FailureRef is a failure as last_failure_at / last_error keep it.
type FailureRef struct {
	Valid bool
	At    time.Time // FailureAt of the attempt
	RunID int64
	Error NullString
}

// after reports whether f comes at or after g in the order of failures
// (f is later in the window order on a tie).
func (f FailureRef) after(g FailureRef) bool {
	if !g.Valid {
		return true
	}
	if c := f.At.Compare(g.At); c != 0 {
		return c > 0
	}
	return f.RunID >= g.RunID
}

// Add appends one execution at the end of the segment.
func (s *StepSegment) Add(a StepAttempt) {
	i := s.Executions
	if i == 0 {
		days := s.Days[:0]
		*s = StepSegment{FirstAt: a.At, FirstFailed: a.Failed, LastFailed: a.Failed, TrailAt: a.At, Days: days}
	} else if a.Failed != s.LastFailed {
		s.Flips++
		s.FailuresBeforeTrail = 0
		if s.LastFailed {
			s.FailuresBeforeTrail = s.Trail
		}
		s.Trail, s.TrailAt = 0, a.At
	}
	if s.Lead == i && a.Failed == s.FirstFailed {
		s.Lead++
	}
	s.Trail++
	s.LastFailed = a.Failed
	s.Executions++
	if a.Failed {
		if s.Failures == 0 {
			s.FirstFailure, s.FirstFailureAt = i, a.At
		}
		s.Failures++
		if f := (FailureRef{Valid: true, At: a.FailureAt, RunID: a.RunID, Error: a.Error}); f.after(s.LastFailure) {
			s.LastFailure = f
		}
	}
	if a.Name.Valid {
		s.Name = a.Name
	}
	k, found := slices.BinarySearchFunc(s.Days, a.Day, func(d DayStatuses, day Day) int { return int(d.Day - day) })
	if !found {
		s.Days = slices.Insert(s.Days, k, DayStatuses{Day: a.Day})
	}
	if a.Failed {
		s.Days[k].Failure = true
	} else {
		s.Days[k].Success = true
	}
}

// CombineSegments is the segment of a's executions followed by b's. It
// changes neither (the result shares no memory with them).
func CombineSegments(a, b StepSegment) StepSegment {
	if a.Executions == 0 {
		b.Days = slices.Clone(b.Days)
		return b
	}
	if b.Executions == 0 {
		a.Days = slices.Clone(a.Days)
		return a
	}
	c := StepSegment{
		Executions: a.Executions + b.Executions, Failures: a.Failures + b.Failures, Flips: a.Flips + b.Flips,
		FirstAt: a.FirstAt, FirstFailed: a.FirstFailed, Lead: a.Lead,
		LastFailed: b.LastFailed, Trail: b.Trail, TrailAt: b.TrailAt, FailuresBeforeTrail: b.FailuresBeforeTrail,
		Name: b.Name, LastFailure: a.LastFailure,
	}
	if a.LastFailed != b.FirstFailed {
		c.Flips++
	}
	if a.Lead == a.Executions && b.FirstFailed == a.FirstFailed {
		c.Lead = a.Executions + b.Lead
	}
	switch {
	case b.Trail == b.Executions && a.LastFailed == b.LastFailed:
		// b is one streak that goes on a's trailing one.
		c.Trail, c.TrailAt, c.FailuresBeforeTrail = a.Trail+b.Trail, a.TrailAt, a.FailuresBeforeTrail
	case b.Trail == b.Executions:
		// b is one streak after a's trailing one: the streak before it.
		c.FailuresBeforeTrail = 0
		if a.LastFailed {
			c.FailuresBeforeTrail = a.Trail
		}
	case b.Lead+b.Trail == b.Executions && b.FirstFailed && a.LastFailed:
		// b is failures then successes, and a's trailing failures come
		// before its leading ones.
		c.FailuresBeforeTrail = b.FailuresBeforeTrail + a.Trail
	}
	switch {
	case a.Failures > 0:
		c.FirstFailure, c.FirstFailureAt = a.FirstFailure, a.FirstFailureAt
	case b.Failures > 0:
		c.FirstFailure, c.FirstFailureAt = a.Executions+b.FirstFailure, b.FirstFailureAt
	}
	if !b.Name.Valid {
		c.Name = a.Name
	}
	if b.LastFailure.Valid && b.LastFailure.after(a.LastFailure) {
		c.LastFailure = b.LastFailure
	}
	c.Days = mergeDays(a.Days, b.Days)
	return c
}

// mergeDays is the union of two day lists (in day order).
func mergeDays(a, b []DayStatuses) []DayStatuses {
	out := make([]DayStatuses, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Day < b[j].Day):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Day < a[i].Day:
			out = append(out, b[j])
			j++
		default:
			out = append(out, DayStatuses{Day: a[i].Day, Success: a[i].Success || b[j].Success, Failure: a[i].Failure || b[j].Failure})
			i++
			j++
		}
	}
	return out
}

// Summary is the ExecutionSummary of the segment's executions (what
// SummarizeExecutions gives for them), and the time of the first (zero
// without executions).
func (s StepSegment) Summary() (ExecutionSummary, time.Time) {
	if s.Executions == 0 {
		return ExecutionSummary{FirstFailure: -1}, time.Time{}
	}
	sum := ExecutionSummary{Executions: s.Executions, Failures: s.Failures, Flips: s.Flips, FirstFailure: -1,
		LastFailed: s.LastFailed, StreakStart: s.Executions - s.Trail, StreakStartAt: s.TrailAt,
		FailuresBeforeStreak: s.FailuresBeforeTrail}
	if s.Failures > 0 {
		sum.FirstFailure, sum.FirstFailureAt = s.FirstFailure, s.FirstFailureAt
	}
	for _, d := range s.Days {
		if d.Success && d.Failure {
			sum.MixedDays++
		}
	}
	return sum, s.FirstAt
}
