package load

import "fmt"

// Error is an error of the sink: ClickHouse refused, failed or could not be
// reached. Callers tell the stage of a failure with errors.As
// (schedules.FailedStage), not by its text.
type Error struct{ Err error }

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// sinkErrorf is fmt.Errorf, marked as an error of the sink.
func sinkErrorf(format string, args ...any) error {
	return &Error{Err: fmt.Errorf(format, args...)}
}
