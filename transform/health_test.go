package transform

import (
	"strings"
	"testing"
	"time"
)

var healthAsOf = time.Date(2026, time.May, 20, 12, 0, 0, 0, time.UTC)

// executions builds executions from a pattern of S (success) and F
// (failure), the last one at asOf − lastAgo and each `gap` before the
// next; run ids ascend with time.
func executions(pattern string, lastAgo, gap time.Duration) []StepExecution {
	n := len(pattern)
	out := make([]StepExecution, n)
	for i, c := range pattern {
		out[i] = StepExecution{At: healthAsOf.Add(-lastAgo - time.Duration(n-1-i)*gap), RunID: int64(100 + i), Failed: c == 'F'}
	}
	return out
}

func checkHealth(t *testing.T, name string, execs []StepExecution, state HealthState, since NullTime) StepHealth {
	t.Helper()
	h := ClassifyStepHealth(execs, healthAsOf, time.UTC)
	if h.State != state || h.Since != since {
		t.Errorf("%s: state %s since %v (valid %v), want %s since %v (valid %v)", name, h.State, h.Since.Time, h.Since.Valid, state, since.Time, since.Valid)
	}
	return h
}

func at(e StepExecution) NullTime { return NullTime{Time: e.At, Valid: true} }

var never = NullTime{}

func TestStepHealthBroken(t *testing.T) {
	ex := executions("SSSFFF", time.Hour, time.Hour)
	h := checkHealth(t, "3 failures", ex, Broken, at(ex[3]))
	// By hand: 3/6 failed, 1 flip over 5 pairs, Wilson(3, 6) = [0.1876, 0.8124].
	if h.Executions != 6 || h.Failures != 3 || h.FailureRate.Float64 != 0.5 || h.FlipRate.Float64 != 0.2 {
		t.Errorf("counts: %+v", h)
	}
	if d := h.FailureRateLow.Float64 - 0.1876; d > 0.00005 || d < -0.00005 {
		t.Errorf("failure_rate_low = %v, want 0.1876", h.FailureRateLow.Float64)
	}
	checkHealth(t, "2 failures are not broken", executions("SSSSFF", time.Hour, time.Hour), Healthy, never)
	// Broken wins over newly failing: 10 successes then 3 failures today.
	ex = executions("SSSSSSSSSSFFF", time.Hour, time.Hour)
	checkHealth(t, "broken before newly failing", ex, Broken, at(ex[10]))
	// The 14-day edge: the first of 3 failures exactly 14 days before as-of
	// is in the window; a nanosecond earlier it is not.
	ex = executions("FFF", HealthWindow-2*time.Hour, time.Hour)
	checkHealth(t, "streak starting on the 14-day edge", ex, Broken, at(ex[0]))
	ex = executions("FFF", HealthWindow-2*time.Hour+time.Nanosecond, time.Hour)
	checkHealth(t, "streak starting before the window", ex, Healthy, never)
	// An execution after as-of is not part of the state.
	ex = executions("FFFS", -time.Hour, time.Hour)
	checkHealth(t, "execution after as-of ignored", ex, Broken, at(ex[0]))
}

func TestStepHealthNewlyFailing(t *testing.T) {
	ex := executions("SSSSSSSSSSF", time.Hour, time.Hour)
	checkHealth(t, "10 successes then a failure", ex, NewlyFailing, at(ex[10]))
	checkHealth(t, "9 successes then a failure", executions("SSSSSSSSSF", time.Hour, time.Hour), Healthy, never)
	ex = executions("SSSSSSSSSSFF", time.Hour, time.Hour)
	checkHealth(t, "two failures", ex, NewlyFailing, at(ex[10]))
	// The 24 h edge: the failure exactly 24 h before as-of is in the last
	// 24 h; a nanosecond earlier it is not.
	ex = executions("SSSSSSSSSSF", NewlyFailingWindow, time.Hour)
	checkHealth(t, "failure exactly 24 h ago", ex, NewlyFailing, at(ex[10]))
	ex = executions("SSSSSSSSSSF", NewlyFailingWindow+time.Nanosecond, time.Hour)
	checkHealth(t, "failure 24 h + 1 ns ago", ex, Healthy, never)
	// The state depends on as-of, not on new runs: the same executions a
	// day later are no longer newly failing.
	ex = executions("SSSSSSSSSSF", time.Hour, time.Hour)
	if h := ClassifyStepHealth(ex, healthAsOf.Add(24*time.Hour), time.UTC); h.State != Healthy {
		t.Errorf("a day later: %s, want healthy", h.State)
	}
}

func TestStepHealthFlaky(t *testing.T) {
	// 21 executions 15 h apart (300 h < 14 days), one failure in the
	// middle, long ago: 2 flips over 20 pairs, flip rate exactly 0.1.
	ex := executions(strings.Repeat("S", 10)+"F"+strings.Repeat("S", 10), time.Hour, 15*time.Hour)
	h := checkHealth(t, "flip rate exactly 0.1", ex, Flaky, at(ex[10]))
	if h.FlipRate.Float64 != 0.1 || h.Executions != 21 || h.Failures != 1 {
		t.Errorf("flip rate %v executions %d failures %d, want 0.1, 21, 1", h.FlipRate.Float64, h.Executions, h.Failures)
	}
	// 22 executions: 2 flips over 21 pairs = 0.0952 < 0.1, and one day
	// with both a success and a failure: not flaky.
	ex = executions(strings.Repeat("S", 10)+"F"+strings.Repeat("S", 11), time.Hour, 14*time.Hour)
	checkHealth(t, "flip rate 0.095", ex, Healthy, never)

	// 19 against 20 executions, alternating S/F (flip rate 1), ending in
	// a success.
	checkHealth(t, "19 executions", executions(strings.Repeat("FS", 9)+"S", time.Hour, time.Hour), Healthy, never)
	ex = executions(strings.Repeat("FS", 10), time.Hour, time.Hour)
	checkHealth(t, "20 executions", ex, Flaky, at(ex[0]))

	// Failure rate 0.8 is not flaky, 0.75 is. 20 executions, never 3
	// failures at the end: FFFFS ×4 has 16 failures (0.8) — ending in S.
	ex = executions(strings.Repeat("FFFFS", 4), time.Hour, time.Hour)
	if h := checkHealth(t, "failure rate 0.8", ex, Healthy, never); h.FailureRate.Float64 != 0.8 {
		t.Errorf("failure rate %v, want 0.8", h.FailureRate.Float64)
	}
	ex = executions("SFFFS"+strings.Repeat("FFFFS", 3), time.Hour, time.Hour)
	if h := checkHealth(t, "failure rate 0.75", ex, Flaky, at(ex[1])); h.FailureRate.Float64 != 0.75 {
		t.Errorf("failure rate %v, want 0.75", h.FailureRate.Float64)
	}

	// Flip rate below 0.1 but two days with both a success and a failure:
	// 42 executions, 4 flips / 41 pairs = 0.098; the failures at 10:00 on
	// May 10 and May 15 each share their day with a success at 09:00.
	var mixed []StepExecution
	id := int64(1)
	add := func(at time.Time, failed bool) {
		mixed = append(mixed, StepExecution{At: at, RunID: id, Failed: failed})
		id++
	}
	start := time.Date(2026, time.May, 7, 0, 0, 0, 0, time.UTC)
	for i := range 40 { // 40 successes, 7 h apart from May 7 00:00 to May 18 09:00
		add(start.Add(time.Duration(i)*7*time.Hour), false)
	}
	f1 := time.Date(2026, time.May, 10, 10, 0, 0, 0, time.UTC) // after a success at 05:00 (day 10 has 05:00, …)
	f2 := time.Date(2026, time.May, 15, 10, 0, 0, 0, time.UTC)
	add(f1, true)
	add(f2, true)
	h = checkHealth(t, "two mixed days", mixed, Flaky, NullTime{Time: f1, Valid: true})
	if h.Executions != 42 || h.FlipRate.Float64 >= 0.1 {
		t.Errorf("premise: executions %d flip rate %v, want 42 and < 0.1", h.Executions, h.FlipRate.Float64)
	}
	// The same with the second failure on a day of its own: one mixed day.
	mixed[len(mixed)-1].At = time.Date(2026, time.May, 20, 1, 0, 0, 0, time.UTC)
	checkHealth(t, "one mixed day", mixed, Healthy, never)
}

func TestStepHealthRecovered(t *testing.T) {
	ex := executions("SSFFFSSSSS", time.Hour, time.Hour)
	checkHealth(t, "3 failures then 5 successes", ex, Recovered, at(ex[5]))
	checkHealth(t, "3 failures then 4 successes", executions("SSFFFSSSS", time.Hour, time.Hour), Healthy, never)
	checkHealth(t, "2 failures then 5 successes", executions("SSSFFSSSSS", time.Hour, time.Hour), Healthy, never)
	// A later short failure streak: the streak before the last successes
	// is 1 failure, so not recovered.
	checkHealth(t, "streak then a lone failure", executions("FFFSSSFSSSSS", time.Hour, time.Hour), Healthy, never)
}

func TestStepHealthHealthyAndEmpty(t *testing.T) {
	h := checkHealth(t, "no executions", nil, Healthy, never)
	if h.Executions != 0 || h.FailureRate.Valid || h.FlipRate.Valid || h.FailureRateLow.Valid {
		t.Errorf("no executions: %+v, want zero counts and NULL rates", h)
	}
	h = checkHealth(t, "one success", executions("S", time.Hour, time.Hour), Healthy, never)
	if h.FlipRate.Valid || h.FailureRate.Float64 != 0 || !h.FailureRate.Valid {
		t.Errorf("one success: %+v, want failure rate 0 and flip rate NULL", h)
	}
	// Input order does not matter; ties of time are ordered by run id.
	ex := executions("SSSFFF", time.Hour, time.Hour)
	rev := []StepExecution{ex[5], ex[4], ex[3], ex[2], ex[1], ex[0]}
	checkHealth(t, "reversed input", rev, Broken, at(ex[3]))
	same := healthAsOf.Add(-time.Hour)
	tied := []StepExecution{{same, 3, true}, {same, 1, false}, {same, 2, true}, {same, 4, true}}
	checkHealth(t, "same time, by run id", tied, Broken, NullTime{Time: same, Valid: true})
	tied[2].Failed = false // run 2 now succeeds: failures are runs 3, 4 only
	checkHealth(t, "same time, 2 failures", tied, Healthy, never)
}

// Mixed days are days of the configured zone. Failures at 23:30 UTC on
// May 9 and May 14, successes at 00:30 UTC the next mornings; the other 44
// successes at 06, 10, 14 and 18 UTC on 11 days that are neither May 9
// nor May 14. In UTC no day has both; in Europe/Berlin (UTC+2 in May)
// 23:30 UTC is 01:30 of the next day, which has the 00:30 UTC (02:30)
// success: two mixed days. 4 flips over 47 pairs keep the flip rate below
// 0.1, so only the days decide.
func TestStepHealthMixedDaysInZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	var ex []StepExecution
	id := int64(1)
	add := func(at time.Time, failed bool) {
		ex = append(ex, StepExecution{At: at, RunID: id, Failed: failed})
		id++
	}
	for d := 7; d <= 19; d++ {
		if d == 9 || d == 14 {
			continue
		}
		for _, hour := range []int{6, 10, 14, 18} {
			add(time.Date(2026, time.May, d, hour, 0, 0, 0, time.UTC), false)
		}
	}
	for _, d := range []int{9, 14} {
		add(time.Date(2026, time.May, d, 23, 30, 0, 0, time.UTC), true)
		add(time.Date(2026, time.May, d+1, 0, 30, 0, 0, time.UTC), false)
	}
	h := ClassifyStepHealth(ex, healthAsOf, berlin)
	if h.Executions != 48 || h.FlipRate.Float64 >= 0.1 {
		t.Fatalf("premise: executions %d flip rate %v, want 48 and < 0.1", h.Executions, h.FlipRate.Float64)
	}
	if h.State != Flaky {
		t.Errorf("Europe/Berlin: %s, want flaky", h.State)
	}
	if h := ClassifyStepHealth(ex, healthAsOf, nil); h.State != Healthy {
		t.Errorf("UTC (nil zone): %s, want healthy", h.State)
	}
}

// TestSegmentDaysOutOfOrder: a date that comes back (clocks set back
// over midnight) still counts each day once: S(day 1) F(2) F(1) S(1), by
// hand: day 1 has a success and a failure, day 2 a failure only.
func TestSegmentDaysOutOfOrder(t *testing.T) {
	at := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	var b StepSegment
	for i, e := range []struct {
		day    Day
		failed bool
	}{{1, false}, {2, true}, {1, true}, {1, false}} {
		b.Add(StepAttempt{At: at.Add(time.Duration(i) * time.Minute), RunID: int64(i), Day: e.day, Failed: e.failed})
	}
	if s, _ := b.Summary(); s.MixedDays != 1 || s.Flips != 2 || s.Failures != 2 || s.StreakStart != 3 || s.FailuresBeforeStreak != 2 {
		t.Fatalf("%+v", s)
	}
}
