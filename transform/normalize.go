package transform

import (
	"math"
	"time"
)

// The storable range of timestamps. ClickHouse's DateTime64(6) holds
// 1900-01-01 00:00:00 .. 2299-12-31 23:59:59.999999 UTC, but the ClickHouse
// Go driver carries every DateTime64 value as time.Time.UnixNano, which
// wraps past 2262-04-11 23:47:16.854775807 UTC both ways (a finished_at of
// 2299-12-31 was stored as 1715-06-13): the last storable instant is the
// last whole microsecond before that.
var (
	minStorable = time.Date(1900, time.January, 1, 0, 0, 0, 0, time.UTC)
	maxStorable = time.Unix(0, math.MaxInt64).UTC().Truncate(time.Microsecond)
)

// Storable reports whether a time column (DateTime64(6)) of ClickHouse
// can hold t as the job writes and reads it; outside, the job stores NULL.
func Storable(t time.Time) bool { return !t.Before(minStorable) && !t.After(maxStorable) }

// Times this far outside the days' range cannot have a day inside
// MinDay..MaxDay in any zone (offsets stay within ±26 h). Checking them
// first keeps DayOf away from times (±infinity) whose day number would
// overflow Day.
var (
	dayScanLo = minStorable.Add(-48 * time.Hour)
	dayScanHi = time.Date(2299, time.December, 31, 23, 59, 59, 999999000, time.UTC).Add(48 * time.Hour)
)

// Within ±safeMicroSecs seconds of 1970 a time's UnixMicro does not
// overflow, nor does the difference of two such values (±126,000 years).
const safeMicroSecs = 4e12

var (
	safeMicroLo = time.Unix(-safeMicroSecs, 0)
	safeMicroHi = time.Unix(safeMicroSecs, 0)
)

// ClassOf classifies a task_log.status per contract section 1: exact,
// case-sensitive names; any other value (empty included) is StatusOther.
func ClassOf(status string) StatusClass {
	switch status {
	case "pending", "queued", "running":
		return StatusUnfinished
	case "success":
		return StatusSuccess
	case "failed":
		return StatusFailed
	case "timeout":
		return StatusTimeout
	case "cancelled":
		return StatusCancelled
	default:
		return StatusOther
	}
}

// String returns the class's name as used in script_daily's columns.
func (c StatusClass) String() string {
	switch c {
	case StatusUnfinished:
		return "unfinished"
	case StatusSuccess:
		return "success"
	case StatusFailed:
		return "failed"
	case StatusTimeout:
		return "timeout"
	case StatusCancelled:
		return "cancelled"
	default:
		return "other"
	}
}

// Normalize validates one task_log row and turns it into a Run per contract
// section 2. loc is the configured zone (nil means UTC).
//
// ok is false when the run's day, the date of coalesce(started_at,
// created_at) in loc, is outside MinDay..MaxDay (±infinity included): the
// run cannot be stored and issues holds RejectedDayOutOfRange = 1 and
// nothing else; run then holds only ID and ScriptID, for reporting.
//
// Otherwise every repair is counted in issues:
//   - started_at and finished_at outside the storable range are stored as
//     NULL (TimestampOutOfRange, once per timestamp). Duration and OrderedAt
//     are computed from the source values first, and so is FailureAt,
//     which orders failed attempts for step_daily.last_error (+infinity the
//     greatest); a last_failure_at ClickHouse cannot hold is NULL.
//   - Duration is the contract's: duration when not null (a NaN duration is
//     invalid, it does not fall back), else finished_at − started_at. Null,
//     NaN, ±Inf and negative are invalid (Valid false); a -0 is stored as 0.
//     InvalidDuration counts only finished runs (the contract's counted
//     runs). ReportedDuration keeps duration as it was.
//   - Texts are made valid UTF-8 and cut (see CutText): status,
//     failed_step_name and step names to lim.NameBytes, error_message and
//     step errors to lim.ErrorBytes. The class is decided on the source
//     status, before any repair.
//   - Steps (contract section 2, "Steps of a run"): the valid elements of
//     steps when it is a non-empty JSON array, in array order, duplicate
//     indexes kept (DuplicateStepIndexes); else, when failed_step_index is
//     set, the one failed step it names. A valid element is an object with
//     an integer index (a JSON number of integral value in int32 range:
//     2.0 is 2, "2" and 2.5 are not) and a status of success, failed or
//     skipped; others are skipped (InvalidStepElements). A name or error
//     that is not a string is kept as its JSON text, as jsonb prints it; a
//     non-number duration is NULL. steps that is not an array, or not valid
//     JSON, counts StepsNotArray; [] counts StepsEmptyArray.
func Normalize(src SourceRun, loc *time.Location, lim Limits) (run Run, issues Issues, ok bool) {
	return normalize(&src, loc, lim, nil)
}

// normalize is Normalize; n, when not nil, shares the strings of
// repeated step texts and allocates the steps in blocks (Normalizer).
func normalize(src *SourceRun, loc *time.Location, lim Limits, n *Normalizer) (run Run, issues Issues, ok bool) {
	if loc == nil {
		loc = time.UTC
	}
	run.ID = src.ID
	run.ScriptID = src.ScriptID

	orderedAt := src.CreatedAt
	if src.StartedAt.Valid {
		orderedAt = src.StartedAt.Time
	}
	if orderedAt.Before(dayScanLo) || orderedAt.After(dayScanHi) {
		issues.RejectedDayOutOfRange = 1
		return run, issues, false
	}
	day := DayOf(orderedAt, loc)
	if day < MinDay || day > MaxDay {
		issues.RejectedDayOutOfRange = 1
		return run, issues, false
	}
	run.Day = day
	run.OrderedAt = orderedAt
	run.CreatedAt = src.CreatedAt
	run.UpdatedAt = src.UpdatedAt

	run.Class = ClassOf(src.Status)
	if run.Class == StatusOther {
		issues.OtherStatus = 1
	}
	run.Status = cutCounted(src.Status, 0, lim.NameBytes, &issues)

	run.ReportedDuration = src.Duration
	run.Duration = durationOf(src)
	if !run.Duration.Valid && run.Class != StatusUnfinished {
		issues.InvalidDuration = 1
	}
	failureAt := orderedAt
	if src.FinishedAt.Valid {
		failureAt = src.FinishedAt.Time
	}
	run.FailureAt = ClampMicro(failureAt)
	run.StartedAt = storable(src.StartedAt, &issues)
	run.FinishedAt = storable(src.FinishedAt, &issues)

	run.FailedStepIndex = src.FailedStepIndex
	if src.FailedStepName.Valid {
		run.FailedStepName = NullString{
			String: cutCounted(src.FailedStepName.String, 0, lim.NameBytes, &issues),
			Valid:  true,
		}
	}
	if src.ErrorMessage.Valid {
		run.ErrorMessage = NullString{
			String: cutCounted(src.ErrorMessage.String, src.ErrorMessageBytes, lim.ErrorBytes, &issues),
			Valid:  true,
		}
	}
	run.Steps = stepsOf(src, run.FailedStepName, run.ErrorMessage, lim, n, &issues)
	return run, issues, true
}

// cutCounted is CutText with its repairs counted.
func cutCounted(s string, fullBytes int64, limit int, iss *Issues) string {
	out, repaired, cut := CutText(s, fullBytes, limit)
	if repaired {
		iss.InvalidUTF8++
	}
	if cut {
		iss.TextsCut++
	}
	return out
}

// storable returns t, or NULL (counted) when ClickHouse cannot store it.
func storable(t NullTime, iss *Issues) NullTime {
	if t.Valid && !Storable(t.Time) {
		iss.TimestampOutOfRange++
		return NullTime{}
	}
	return t
}

// durationOf is the contract's duration of a run, from the source values:
// duration when not null, else finished_at − started_at in seconds (to the
// microsecond, PostgreSQL's precision) when both are set. Not Valid when
// null, NaN, infinite or negative.
func durationOf(src *SourceRun) NullFloat {
	var d float64
	switch {
	case src.Duration.Valid:
		d = src.Duration.Float64
	case src.StartedAt.Valid && src.FinishedAt.Valid:
		d = secondsBetween(src.StartedAt.Time, src.FinishedAt.Time)
	default:
		return NullFloat{}
	}
	if math.IsNaN(d) || math.IsInf(d, 0) || d < 0 {
		return NullFloat{}
	}
	if d == 0 {
		// -0 == 0: one zero, so that min/max/percentiles do not depend on
		// which zero came first.
		d = 0
	}
	return NullFloat{Float64: d, Valid: true}
}

// secondsBetween returns to − from in seconds, computed in whole
// microseconds so that the result is the float64 nearest to the exact
// decimal difference. Times beyond ±126,000 years are the extract's
// stand-ins for ±infinity; a difference involving one is infinite (or NaN
// for infinity − infinity), hence invalid, as in PostgreSQL.
func secondsBetween(from, to time.Time) float64 {
	fromFar := from.Before(safeMicroLo) || from.After(safeMicroHi)
	toFar := to.Before(safeMicroLo) || to.After(safeMicroHi)
	if fromFar || toFar {
		switch {
		case fromFar && toFar:
			return math.NaN()
		case toFar && to.After(from), fromFar && to.After(from):
			return math.Inf(1)
		default:
			return math.Inf(-1)
		}
	}
	return float64(to.UnixMicro()-from.UnixMicro()) / 1e6
}
