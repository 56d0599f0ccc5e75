// Package transform turns extracted task_log rows into normalized runs and
// exact daily aggregates. It is pure: no I/O, no clock, no globals that
// change. Time zones and limits are passed in.
package transform

import (
	"math"
	"time"
)

// Day is a calendar date, counted in days since 1970-01-01. It is the
// grain of every daily aggregate and is compared and hashed cheaply.
type Day int32

// DayOf returns the calendar date of t in loc.
func DayOf(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return DayFromDate(y, m, d)
}

// DayFromDate returns the Day of a civil date.
func DayFromDate(y int, m time.Month, d int) Day {
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Time returns midnight UTC of the day (the representation ClickHouse's
// Date32 columns take).
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Start returns the first instant whose local date in loc is d or later:
// local midnight on most days. Where the clocks jump forward at midnight
// (America/Santiago 2024-09-08, America/Havana 2024-03-10) local midnight
// does not exist and the day begins at the jump, 01:00 local; time.Date
// would give 23:00 of the day before. Where midnight occurs twice (clocks
// set back across it) the first one is taken. A day skipped whole
// (Pacific/Apia 2011-12-30) starts where the next one does.
// Every conversion of a Day into an instant goes through Start.
func (d Day) Start(loc *time.Location) time.Time {
	y, m, dd := d.Time().Date()
	t := time.Date(y, m, dd, 0, 0, 0, 0, loc)
	if DayOf(t, loc) < d {
		// Normalized into the day before: the day begins when that zone
		// period ends.
		_, end := t.ZoneBounds()
		return end
	}
	if start, _ := t.ZoneBounds(); !start.IsZero() {
		// Midnight in the offset of the period before t, if that period
		// reaches into day d, is an earlier instant of the same local time.
		before := start.Add(-time.Nanosecond)
		if DayOf(before, loc) == d {
			_, off := before.Zone()
			return d.Time().Add(-time.Duration(off) * time.Second).In(loc)
		}
	}
	return t
}

// String formats the day as YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format(time.DateOnly) }

// ParseDay parses YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, err
	}
	return DayFromDate(t.Date()), nil
}

// Bounds of ClickHouse's Date32 and DateTime64 types: a run whose day falls
// outside is rejected (and counted), a timestamp outside is stored as NULL
// (and counted).
var (
	MinDay = DayFromDate(1900, time.January, 1)
	MaxDay = DayFromDate(2299, time.December, 31)
)

// NullTime is a nullable timestamp.
type NullTime struct {
	Time  time.Time
	Valid bool
}

// NullFloat is a nullable float64 (NaN and ±Inf are valid values of it).
type NullFloat struct {
	Float64 float64
	Valid   bool
}

// NullInt32 is a nullable int32.
type NullInt32 struct {
	Int32 int32
	Valid bool
}

// NullString is a nullable string.
type NullString struct {
	String string
	Valid  bool
}

// SourceRun is one task_log row as extracted, before any validation.
// Text columns may hold any bytes the platform wrote.
type SourceRun struct {
	ID              int64
	ScriptID        int64
	Status          string
	StartedAt       NullTime // ±infinity arrive as times far outside MinDay..MaxDay
	FinishedAt      NullTime
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Duration        NullFloat
	FailedStepIndex NullInt32
	FailedStepName  NullString
	// ErrorMessage may be a prefix of the source text (the extract query cuts
	// it to bound memory); ErrorMessageBytes is the full length in bytes.
	ErrorMessage      NullString
	ErrorMessageBytes int64
	Steps             []byte // the jsonb text; nil when NULL
}

// StatusClass is the contract's classification of task_log.status.
type StatusClass uint8

// Status classes. Unfinished runs are not counted anywhere.
const (
	StatusUnfinished StatusClass = iota // pending, queued, running
	StatusSuccess
	StatusFailed
	StatusTimeout
	StatusCancelled
	StatusOther // any other value, including empty
)

// Step statuses kept in a run's steps.
const (
	StepSuccess = "success"
	StepFailed  = "failed"
	StepSkipped = "skipped"
)

// Step is one valid step of a run.
type Step struct {
	Index    int32
	Name     NullString // sanitized, cut to Limits.NameBytes
	Status   string     // StepSuccess, StepFailed or StepSkipped
	Duration NullFloat  // as reported (may be NaN, negative, …)
	// Error is the step's own error; for a failed step without one, the
	// run's error_message (contract section 2). Sanitized and cut.
	Error NullString
}

// Run is a task_log row normalized per the contract: the unit stored in
// ClickHouse and the input of the aggregates.
type Run struct {
	ID       int64
	ScriptID int64
	Day      Day
	Status   string // sanitized, cut to Limits.NameBytes
	Class    StatusClass
	// OrderedAt is coalesce(started_at, created_at): it decides the day and
	// the order of runs (then ID).
	OrderedAt  time.Time
	StartedAt  NullTime
	FinishedAt NullTime
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// ReportedDuration is task_log.duration as the runner wrote it.
	ReportedDuration NullFloat
	// Duration is the contract's duration of the run when valid (finite,
	// >= 0); Valid is false for an invalid or missing one.
	Duration        NullFloat
	FailedStepIndex NullInt32
	FailedStepName  NullString
	ErrorMessage    NullString
	Steps           []Step
	// FailureAt is coalesce(finished_at, started_at, created_at) of the
	// source row, +infinity the greatest (clamped to what int64
	// microseconds hold, see ClampMicro): it orders failed attempts for
	// step_daily.last_error even when the time itself cannot be stored.
	// Zero (a Run not made by Normalize or read back): FinishedOrLatest
	// uses the stored times.
	FailureAt time.Time
}

// Counted reports whether the run counts in daily aggregates (finished).
func (r *Run) Counted() bool { return r.Class != StatusUnfinished }

// FinishedOrLatest is coalesce(finished_at, started_at, created_at): the
// time of a failure, for step_daily.last_failure_at. It is the source's
// (FailureAt) when known: a finished_at of +infinity is stored as NULL but
// still makes the greatest failure time.
func (r *Run) FinishedOrLatest() time.Time {
	if !r.FailureAt.IsZero() {
		return r.FailureAt
	}
	if r.FinishedAt.Valid {
		return r.FinishedAt.Time
	}
	if r.StartedAt.Valid {
		return r.StartedAt.Time
	}
	return r.CreatedAt
}

// Bounds of a time held as int64 microseconds since 1970 (ClickHouse
// runs_state.failure_at_us); PostgreSQL's ±infinity stand-ins lie outside.
var (
	minMicro = time.UnixMicro(math.MinInt64).UTC()
	maxMicro = time.UnixMicro(math.MaxInt64).UTC()
)

// ClampMicro returns t within what int64 microseconds since 1970 hold, so
// that a time survives UnixMicro and back unchanged (±infinity included,
// as the least and greatest).
func ClampMicro(t time.Time) time.Time {
	switch {
	case t.Before(minMicro):
		return minMicro
	case t.After(maxMicro):
		return maxMicro
	}
	return t.Truncate(time.Microsecond)
}

// GroupKey identifies a script × day group.
type GroupKey struct {
	ScriptID int64
	Day      Day
}

// Key returns the group the run belongs to.
func (r *Run) Key() GroupKey { return GroupKey{ScriptID: r.ScriptID, Day: r.Day} }

// ScriptDay is one script_daily row. Only groups with at least one counted
// run have one. Statistics over no values are not Valid (NULL).
type ScriptDay struct {
	ScriptID           int64
	Day                Day
	Total              uint64
	Success            uint64
	Failed             uint64
	Timeout            uint64
	Cancelled          uint64
	Other              uint64
	SuccessRate        float64
	DurationCount      uint64
	InvalidDuration    uint64
	DurationAvg        NullFloat
	DurationMin        NullFloat
	DurationMax        NullFloat
	DurationP50        NullFloat
	DurationP90        NullFloat
	DurationP95        NullFloat
	DurationP99        NullFloat
	SuccessDurationAvg NullFloat
	SuccessDurationP50 NullFloat
	SuccessDurationP95 NullFloat
}

// StepDay is one step_daily row: a (script, step index, day) with at least
// one attempt (a success or failed step of a counted run).
type StepDay struct {
	ScriptID      int64
	StepIndex     int32
	Day           Day
	StepName      NullString
	Attempts      uint64
	Failures      uint64
	FailureRate   float64
	LastFailureAt NullTime
	LastError     NullString
}
