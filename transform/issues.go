package transform

// Limits bound what one run may bring into ClickHouse.
type Limits struct {
	// ErrorBytes bounds error texts (error_message, step errors); a longer
	// text is cut at a UTF-8 boundary and ends with a visible marker.
	ErrorBytes int
	// NameBytes bounds step names, failed_step_name and status values.
	NameBytes int
}

// DefaultLimits are the limits used unless configured otherwise.
var DefaultLimits = Limits{ErrorBytes: 4096, NameBytes: 512}

// Issues counts what normalization found wrong with source rows. Nothing is
// dropped silently: every rejected or repaired value is counted here and
// reported in the pass summary.
type Issues struct {
	RejectedDayOutOfRange int64 // run rejected: its day is outside 1900-01-01..2299-12-31 (or ±infinity)
	TimestampOutOfRange   int64 // started_at/finished_at outside the storable range, stored as NULL
	InvalidDuration       int64 // counted runs whose duration is null, NaN, ±Inf or negative
	OtherStatus           int64 // finished runs with a status outside the known ones
	StepsNotArray         int64 // steps is JSON but not an array (or not valid JSON)
	StepsEmptyArray       int64 // steps is an empty array
	InvalidStepElements   int64 // array elements ignored: not an object, no integer index, bad status
	DuplicateStepIndexes  int64 // elements whose index repeats an earlier one in the same run (kept)
	InvalidUTF8           int64 // text values with invalid UTF-8 or NUL bytes, repaired
	TextsCut              int64 // text values cut to their limit
}

// Add adds o to i.
func (i *Issues) Add(o Issues) {
	i.RejectedDayOutOfRange += o.RejectedDayOutOfRange
	i.TimestampOutOfRange += o.TimestampOutOfRange
	i.InvalidDuration += o.InvalidDuration
	i.OtherStatus += o.OtherStatus
	i.StepsNotArray += o.StepsNotArray
	i.StepsEmptyArray += o.StepsEmptyArray
	i.InvalidStepElements += o.InvalidStepElements
	i.DuplicateStepIndexes += o.DuplicateStepIndexes
	i.InvalidUTF8 += o.InvalidUTF8
	i.TextsCut += o.TextsCut
}

// Each calls fn for every kind with its snake_case name, in a fixed order.
func (i *Issues) Each(fn func(kind string, n int64)) {
	fn("rejected_day_out_of_range", i.RejectedDayOutOfRange)
	fn("timestamp_out_of_range", i.TimestampOutOfRange)
	fn("invalid_duration", i.InvalidDuration)
	fn("other_status", i.OtherStatus)
	fn("steps_not_array", i.StepsNotArray)
	fn("steps_empty_array", i.StepsEmptyArray)
	fn("invalid_step_elements", i.InvalidStepElements)
	fn("duplicate_step_indexes", i.DuplicateStepIndexes)
	fn("invalid_utf8", i.InvalidUTF8)
	fn("texts_cut", i.TextsCut)
}
