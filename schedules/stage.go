package schedules

import (
	"errors"
	"strings"
)

// FailedStage names the stage a pass failed in, for metrics and logs:
// "lock" (another pass runs), "extract" (PostgreSQL), "load" (ClickHouse),
// or "pass" (the pass's own checks: time zone, rewind, bad arguments).
// extract's errors all start with "postgres", load's with "clickhouse".
func FailedStage(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrLocked):
		return "lock"
	}
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "postgres"), strings.HasPrefix(msg, "source schema"):
		return "extract"
	case strings.HasPrefix(msg, "clickhouse"):
		return "load"
	}
	return "pass"
}
