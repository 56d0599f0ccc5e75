package schedules

import (
	"errors"
	"fmt"
	"testing"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
)

func TestFailedStageByType(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("pass: %w", ErrLocked), "lock"},
		{fmt.Errorf("wrapped: %w", &extract.Error{Err: errors.New("connection refused")}), "extract"},
		{fmt.Errorf("%w: column task_log.steps is missing", extract.ErrSchema), "extract"},
		{fmt.Errorf("wrapped: %w", &load.Error{Err: errors.New("connection refused")}), "load"},
		{fmt.Errorf("%w: database x does not exist", load.ErrNotMigrated), "load"},
		{ErrTimezoneChanged, "pass"},
		// The text says nothing: only the type does.
		{errors.New("clickhouse lookalike"), "pass"},
		{errors.New("postgres lookalike"), "pass"},
	}
	for _, c := range cases {
		if got := FailedStage(c.err); got != c.want {
			t.Errorf("FailedStage(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
