package schedules

import (
	"errors"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
)

// FailedStage names the stage a pass failed in, for metrics and logs:
// "lock" (another pass runs), "extract" (PostgreSQL), "load" (ClickHouse),
// or "pass" (the pass's own checks: time zone, rewind, bad arguments). The
// stages mark their errors with their own types (extract.Error,
// load.Error) or sentinels.
func FailedStage(err error) string {
	var src *extract.Error
	var sink *load.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrLocked):
		return "lock"
	case errors.As(err, &src), errors.Is(err, extract.ErrSchema), errors.Is(err, extract.ErrSlotLost),
		errors.Is(err, extract.ErrServerVersion):
		return "extract"
	case errors.As(err, &sink), errors.Is(err, load.ErrNotMigrated):
		return "load"
	}
	return "pass"
}
