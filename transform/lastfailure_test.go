package transform

import (
	"testing"
	"time"
)

// failedRun is a failed run with one failed step (failed_step_index 0)
// whose error is the run's error_message.
func failedRun(t *testing.T, id int64, started string, finished time.Time, msg string) SourceRun {
	return SourceRun{
		ID: id, ScriptID: 1, Status: "failed",
		StartedAt:       nullTime(t, started),
		FinishedAt:      NullTime{Time: finished, Valid: true},
		CreatedAt:       ts(t, started),
		FailedStepIndex: nullInt(0),
		ErrorMessage:    nullStr(msg), ErrorMessageBytes: int64(len(msg)),
	}
}

// The stand-ins extract gives PostgreSQL's ±infinity.
var (
	plusInf  = time.Date(294276, time.December, 31, 0, 0, 0, 0, time.UTC)
	minusInf = time.Date(-4713, time.January, 1, 0, 0, 0, 0, time.UTC)
)

// TestLastErrorInfiniteFinish: last_error is the error of the failed
// attempt with the greatest coalesce(finished_at, started_at, created_at),
// +infinity the greatest, -infinity the least (CONTRACT.md section 2). A
// finished_at of +infinity is stored as NULL; its failure still wins, and
// last_failure_at, a time ClickHouse cannot hold, is NULL. The same holds
// for runs read back from ClickHouse (FailureAt through int64 microseconds).
func TestLastErrorInfiniteFinish(t *testing.T) {
	cases := []struct {
		name     string
		runs     []SourceRun
		wantErr  string
		wantAt   string // "" for NULL
		wantFail uint64
	}{
		{"+infinity beats a later finite finish", []SourceRun{
			failedRun(t, 1, "2026-11-10T10:00:00Z", plusInf, "boom at infinity"),
			failedRun(t, 2, "2026-11-10T11:00:00Z", ts(t, "2026-11-10T12:00:00Z"), "later finite"),
		}, "boom at infinity", "", 2},
		{"-infinity loses to any finite finish", []SourceRun{
			failedRun(t, 1, "2026-11-10T10:00:00Z", ts(t, "2026-11-10T10:30:00Z"), "finite"),
			failedRun(t, 2, "2026-11-10T11:00:00Z", minusInf, "at -infinity"),
		}, "finite", "2026-11-10T10:30:00Z", 2},
		{"two at +infinity: the greater run id", []SourceRun{
			failedRun(t, 7, "2026-11-10T10:00:00Z", plusInf, "seven"),
			failedRun(t, 3, "2026-11-10T11:00:00Z", plusInf, "three"),
		}, "seven", "", 2},
		{"finish in year 2400 (out of range, finite) beats 2026", []SourceRun{
			failedRun(t, 1, "2026-11-10T10:00:00Z", ts(t, "2400-01-01T00:00:00Z"), "far"),
			failedRun(t, 2, "2026-11-10T11:00:00Z", ts(t, "2026-11-10T12:00:00Z"), "near"),
		}, "far", "", 2},
	}
	for _, c := range cases {
		var fresh, readBack []Run
		for _, src := range c.runs {
			r, _, ok := Normalize(src, time.UTC, DefaultLimits)
			if !ok {
				t.Fatalf("%s: run %d rejected", c.name, src.ID)
			}
			fresh = append(fresh, r)
			// What load stores and reads back: FailureAt as int64 µs.
			back := r
			back.FailureAt = time.UnixMicro(ClampMicro(r.FinishedOrLatest()).UnixMicro()).UTC()
			readBack = append(readBack, back)
		}
		for name, runs := range map[string][]Run{"fresh": fresh, "read back": readBack} {
			_, _, steps := Aggregate(runs)
			if len(steps) != 1 {
				t.Fatalf("%s (%s): %d step rows", c.name, name, len(steps))
			}
			s := steps[0]
			if s.Failures != c.wantFail || !s.LastError.Valid || s.LastError.String != c.wantErr {
				t.Errorf("%s (%s): failures %d, last_error %+v; want %d, %q", c.name, name, s.Failures, s.LastError, c.wantFail, c.wantErr)
			}
			switch {
			case c.wantAt == "" && s.LastFailureAt.Valid:
				t.Errorf("%s (%s): last_failure_at %s, want NULL", c.name, name, s.LastFailureAt.Time)
			case c.wantAt != "" && (!s.LastFailureAt.Valid || !s.LastFailureAt.Time.Equal(ts(t, c.wantAt))):
				t.Errorf("%s (%s): last_failure_at %+v, want %s", c.name, name, s.LastFailureAt, c.wantAt)
			}
		}
	}
}
