// Package report renders the HTML report (CONTRACT.md section 4,
// `scriptstats report`) from rows of the public views. It is pure: the data
// and the time come in, one self-contained HTML document goes out. No
// network resource is referenced: styles, scripts and charts are inline.
package report

import (
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

// Data is everything one report shows.
type Data struct {
	// From and To are the days covered, both included.
	From, To transform.Day
	// Timezone the days are calendar dates in (the job's --timezone).
	Timezone string
	// GeneratedAt is when the report was made.
	GeneratedAt time.Time
	// LastPassAt is the source time of the job's last completed pass (the
	// data's freshness); zero when unknown.
	LastPassAt time.Time
	// StateUnreadable: the job's state could not be read (a user allowed
	// only the public views), so the freshness is unknown.
	StateUnreadable bool
	// ScriptFilter is the --script value the report was narrowed to ("" for all).
	ScriptFilter string
	// Detection tells which detection views exist. A section whose view is
	// missing says so instead of showing anything computed here.
	Detection Detection
	Scripts   []Script
}

// Detection records which detection objects (issue "Detection", CONTRACT
// sections 2b and 3) the database has.
type Detection struct {
	Drops       bool // view success_rate_drops
	Changes     bool // view duration_changes
	StepHealth  bool // view step_health
	WilsonViews bool // script_daily.success_rate_low/high (else computed here from success/total)
}

// Script is one script's part of the report.
type Script struct {
	ID   int64
	Name string
	// Days are its script_daily rows in the period, by day.
	Days []Day
	// Steps are its steps that had attempts in the period, by index, with
	// their step_daily rows.
	Steps []StepSeries
	// Drops, Changes and Health come from the detection views (empty when
	// the view is missing: see Data.Detection).
	Drops   []Drop
	Changes []Change
	Health  []StepHealth
	// FailingRuns are its latest failing runs, newest first, each with the
	// counted run before it.
	FailingRuns []FailingRun
}

// Day is one script_daily row.
type Day struct {
	Day     transform.Day
	Total   uint64
	Success uint64
	// SuccessRate = Success/Total, as the view has it.
	SuccessRate float64
	// Low and High are the Wilson 95 % interval of the success rate: the
	// view's success_rate_low/high when it has them, else computed here
	// with the same formula (CONTRACT 2b).
	Low, High float64
	// DurationP50 and DurationP95 are of the successful runs
	// (success_duration_p50/p95): the series change points are found in.
	DurationP50 transform.NullFloat
	DurationP95 transform.NullFloat
}

// StepSeries is one step's daily attempts and failures.
type StepSeries struct {
	Index int32
	// Name is the step's name on its latest day in the period.
	Name transform.NullString
	Days []StepDay
}

// StepDay is one step_daily row.
type StepDay struct {
	Day      transform.Day
	Attempts uint64
	Failures uint64
	// FailureRate = Failures/Attempts, as the view has it.
	FailureRate float64
}

// Drop is one success_rate_drops row.
type Drop struct {
	Day                       transform.Day
	Total                     uint64
	SuccessRate               float64
	Low, High                 float64
	BaselineRuns              uint64
	BaselineRate              float64
	BaselineLow, BaselineHigh float64
}

// Change is one duration_changes row.
type Change struct {
	StepIndex     transform.NullInt32 // not Valid: the whole run
	StepName      transform.NullString
	RunID         int64
	ChangedAt     time.Time
	Day           transform.Day
	MedianBefore  float64
	MedianAfter   float64
	Ratio         float64
	PValue        float64
	EffectSize    float64
	Direction     string // slower, faster
	TopStepIndex  transform.NullInt32
	TopStepName   transform.NullString
	TopStepDelta  transform.NullFloat
	RunsBefore    uint64
	RunsAfter     uint64
	PreviousRunID int64
}

// StepHealth is one step_health row.
type StepHealth struct {
	StepIndex       int32
	StepName        transform.NullString
	State           string // broken, newly_failing, flaky, recovered, healthy
	Since           transform.NullTime
	Executions      uint64
	Failures        uint64
	FailureRate     float64
	FailureRateLow  float64
	FailureRateHigh float64
	FlipRate        float64
	LastFailureAt   transform.NullTime
	LastError       transform.NullString
}

// RunInfo is one row of the runs view, as the report shows it.
type RunInfo struct {
	RunID        int64
	Day          transform.Day
	Status       string
	StartedAt    transform.NullTime
	Duration     transform.NullFloat
	ErrorMessage transform.NullString
}

// FailingRun is a failed (or timed-out) run beside the counted run before
// it, compared step by step as `scriptstats compare PREVIOUS RUN` does.
type FailingRun struct {
	Run      RunInfo
	Previous *RunInfo // nil: the first counted run of the script
	// Comparison is transform.CompareSteps(previous steps, run steps).
	Comparison transform.Comparison
}
