package load_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

func healthRun(id, script int64, at time.Time, class transform.StatusClass, steps ...transform.Step) transform.Run {
	return transform.Run{ID: id, ScriptID: script, Day: transform.DayOf(at, time.UTC), Status: "status", Class: class,
		OrderedAt: at, StartedAt: transform.NullTime{Time: at, Valid: true}, CreatedAt: at, UpdatedAt: at,
		FailureAt: at.Add(time.Minute), Steps: steps}
}

func str(s string) transform.NullString { return transform.NullString{String: s, Valid: true} }

// healthStepsRead reads every day of the scripts from the window's day
// before to two days after asOf run by run (HealthDayRuns) and summarizes
// each step's attempts in series order: what the job composes when no
// day summary is stored (schedules/detect_health.go), here to test the
// read against the definitions.
func healthStepsRead(t *testing.T, sink *load.Sink, ids []int64, asOf time.Time) []load.StepSummary {
	t.Helper()
	var keys []transform.GroupKey
	for _, id := range ids {
		for d := transform.DayOf(asOf.Add(-transform.HealthWindow), time.UTC) - 1; d <= transform.DayOf(asOf, time.UTC)+3; d++ {
			keys = append(keys, transform.GroupKey{ScriptID: id, Day: d})
		}
	}
	var runs []struct {
		script int64
		run    load.HealthRun
	}
	err := sink.HealthDayRuns(context.Background(), keys, func(k transform.GroupKey, rs []load.HealthRun) error {
		for _, r := range rs {
			runs = append(runs, struct {
				script int64
				run    load.HealthRun
			}{k.ScriptID, r})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(runs, func(a, b struct {
		script int64
		run    load.HealthRun
	}) int {
		return cmp.Or(cmp.Compare(a.script, b.script), cmp.Compare(a.run.Key.OrderedAtUS, b.run.Key.OrderedAtUS), cmp.Compare(a.run.Key.RunID, b.run.Key.RunID))
	})
	from := asOf.Add(-transform.HealthWindow)
	segs := map[load.SeriesKey]*load.StepSummary{}
	acc := map[load.SeriesKey]*transform.StepSegment{}
	for _, x := range runs {
		at := time.UnixMicro(x.run.Key.OrderedAtUS).UTC()
		if at.Before(from) {
			continue
		}
		for _, a := range x.run.Attempts {
			k := load.SeriesKey{ScriptID: x.script, StepIndex: a.Index}
			if segs[k] == nil {
				segs[k], acc[k] = &load.StepSummary{Step: k}, &transform.StepSegment{}
			}
			if at.After(asOf) {
				if !segs[k].NextAt.Valid || at.Before(segs[k].NextAt.Time) {
					segs[k].NextAt = transform.NullTime{Time: at, Valid: true}
				}
				continue
			}
			acc[k].Add(transform.StepAttempt{At: at, RunID: x.run.Key.RunID, Day: transform.DayOf(at, time.UTC), Failed: a.Failed,
				Name: a.Name, FailureAt: time.UnixMicro(x.run.FailureAtUS).UTC(), Error: a.Error})
		}
	}
	var out []load.StepSummary
	for k, st := range segs {
		g := acc[k]
		st.Summary, st.OldestAt = g.Summary()
		st.StepName, st.LastError = g.Name, g.LastFailure.Error
		if g.LastFailure.Valid {
			st.LastFailureAt = load.StorableTime(g.LastFailure.At)
		}
		out = append(out, *st)
	}
	slices.SortFunc(out, func(x, y load.StepSummary) int {
		return cmp.Or(cmp.Compare(x.Step.ScriptID, y.Step.ScriptID), cmp.Compare(x.Step.StepIndex, y.Step.StepIndex))
	})
	return out
}

// TestHealthStepsByHand: the summary of one step from the runs ClickHouse
// returns, with the expected values worked out by hand from the attempts
// below.
func TestHealthStepsByHand(t *testing.T) {
	_, sink := migrated(t)
	ctx := context.Background()
	asOf := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	h := time.Hour
	ok := func(name string) transform.Step {
		return transform.Step{Index: 2, Name: str(name), Status: transform.StepSuccess}
	}
	bad := func(err transform.NullString) transform.Step {
		return transform.Step{Index: 2, Status: transform.StepFailed, Error: err}
	}
	skip := transform.Step{Index: 2, Name: str("skipped name"), Status: transform.StepSkipped}
	day0 := asOf.Add(-72 * h) // 2026-11-17 12:00
	runs := []transform.Run{
		healthRun(1, 5, asOf.Add(-15*24*h), transform.StatusFailed, bad(str("before the window"))),
		healthRun(2, 5, day0, transform.StatusSuccess, ok("a")),
		healthRun(3, 5, day0.Add(h), transform.StatusFailed, bad(str("e3"))),
		healthRun(4, 5, day0.Add(h), transform.StatusFailed, bad(str("e4"))), // same time as 3: after it by run id
		healthRun(5, 5, day0.Add(2*h), transform.StatusFailed, bad(transform.NullString{})),
		healthRun(6, 5, day0.Add(3*h), transform.StatusSuccess, skip),
		healthRun(7, 5, day0.Add(24*h), transform.StatusSuccess, ok("b")),
		healthRun(8, 5, day0.Add(25*h), transform.StatusSuccess, transform.Step{Index: 2, Status: transform.StepSuccess}),
		healthRun(9, 5, day0.Add(48*h), transform.StatusFailed, bad(str("e9"))),
		healthRun(10, 5, day0.Add(49*h), transform.StatusSuccess, ok("c")),
		healthRun(11, 5, day0.Add(50*h), transform.StatusSuccess, ok("d")),
		healthRun(12, 5, asOf.Add(5*h), transform.StatusFailed, bad(str("future"))),
		healthRun(13, 5, asOf.Add(3*h), transform.StatusSuccess, ok("future name")),
		// Unfinished: not counted.
		healthRun(14, 5, day0.Add(51*h), transform.StatusUnfinished, bad(str("unfinished"))),
	}
	if err := sink.WriteRuns(ctx, runs, nil, 1); err != nil {
		t.Fatal(err)
	}
	got := healthStepsRead(t, sink, []int64{5}, asOf)
	if len(got) != 1 {
		t.Fatalf("%d steps, want 1: %+v", len(got), got)
	}
	// In the window, in order: S(2) F(3) F(4) F(5) S(7) S(8) F(9) S(10) S(11).
	// 9 attempts, 4 failures, flips S→F, F→S, S→F, F→S = 4; first failure
	// index 1 (run 3); trailing streak S(10) S(11) starts at index 7,
	// preceded by 1 failure (run 9); mixed days: 11-17 (2, 3, 4, 5) and
	// 11-19 (9, 10, 11) → 2. Name: the latest non-null, run 11's "d". Last
	// failure: run 9 (finished a minute after it started), error "e9".
	want := transform.ExecutionSummary{Executions: 9, Failures: 4, Flips: 4, FirstFailure: 1, FirstFailureAt: day0.Add(h),
		LastFailed: false, StreakStart: 7, StreakStartAt: day0.Add(49 * h), FailuresBeforeStreak: 1, MixedDays: 2}
	g := got[0]
	if g.Step != (load.SeriesKey{ScriptID: 5, StepIndex: 2}) || g.Summary != want {
		t.Errorf("summary %+v\nwant    %+v", g.Summary, want)
	}
	if !g.OldestAt.Equal(day0) || g.StepName != str("d") || g.LastError != str("e9") ||
		!g.LastFailureAt.Valid || !g.LastFailureAt.Time.Equal(day0.Add(48*h+time.Minute)) ||
		!g.NextAt.Valid || !g.NextAt.Time.Equal(asOf.Add(3*h)) {
		t.Errorf("oldest %v, name %+v, last error %+v at %+v, next %+v", g.OldestAt, g.StepName, g.LastError, g.LastFailureAt, g.NextAt)
	}
	// The last failure's error NULL is NULL, not an earlier failure's: as of
	// half an hour after run 5, the window holds F(1) S(2) F(3) F(4) F(5),
	// a trailing streak of failures from index 2, and run 7 comes next.
	asOf2 := day0.Add(2*h + 30*time.Minute)
	got = healthStepsRead(t, sink, []int64{5}, asOf2)
	if len(got) != 1 || got[0].LastError.Valid || got[0].Summary.Executions != 5 || !got[0].Summary.LastFailed ||
		got[0].Summary.StreakStart != 2 || !got[0].NextAt.Time.Equal(day0.Add(24*h)) {
		t.Errorf("as of %v: %+v", asOf2, got)
	}
}

// TestHealthStepsMatchDefinition: over random histories written in two
// versions (rewrites, moves and deletes unmerged under FINAL), the
// summaries of the runs ClickHouse returns equal
// transform.SummarizeExecutions over the runs written, step by step.
func TestHealthStepsMatchDefinition(t *testing.T) {
	_, sink := migrated(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	asOf := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	var runs []transform.Run
	latest := map[int64]transform.Run{}
	statuses := []string{transform.StepSuccess, transform.StepFailed, transform.StepSkipped}
	classes := []transform.StatusClass{transform.StatusSuccess, transform.StatusFailed, transform.StatusUnfinished}
	gen := func(id int64) transform.Run {
		script := int64(1 + rng.IntN(4))
		// From 16 days before as-of to 2 days after, on a coarse grid so
		// that times tie.
		at := asOf.Add(-16 * 24 * time.Hour).Add(time.Duration(rng.IntN(18*24*4)) * 15 * time.Minute)
		var steps []transform.Step
		for idx := range int32(1 + rng.IntN(4)) {
			if rng.IntN(5) == 0 {
				continue
			}
			st := transform.Step{Index: idx, Status: statuses[rng.IntN(3)]}
			if rng.IntN(3) > 0 {
				st.Name = str(fmt.Sprintf("step %d v%d", idx, rng.IntN(3)))
			}
			if st.Status == transform.StepFailed && rng.IntN(3) > 0 {
				st.Error = str(fmt.Sprintf("error %d", rng.IntN(100)))
			}
			steps = append(steps, st)
		}
		r := healthRun(id, script, at, classes[rng.IntN(3)], steps...)
		r.FailureAt = at.Add(time.Duration(rng.IntN(4)) * time.Hour)
		return r
	}
	for id := int64(1); id <= 3000; id++ {
		runs = append(runs, gen(id))
	}
	if err := sink.WriteRuns(ctx, runs, nil, 1); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		latest[r.ID] = r
	}
	// Version 2: a third rewritten (possibly to another script and day),
	// a tenth deleted.
	var again []transform.Run
	var gone []load.Location
	for _, r := range runs {
		switch rng.IntN(10) {
		case 0:
			gone = append(gone, load.Location{RunID: r.ID, Key: transform.GroupKey{ScriptID: r.ScriptID, Day: r.Day}})
			delete(latest, r.ID)
		case 1, 2, 3:
			n := gen(r.ID)
			if n.ScriptID != r.ScriptID || n.Day != r.Day {
				gone = append(gone, load.Location{RunID: r.ID, Key: transform.GroupKey{ScriptID: r.ScriptID, Day: r.Day}})
			}
			again = append(again, n)
			latest[r.ID] = n
		}
	}
	if err := sink.WriteRuns(ctx, again, gone, 2); err != nil {
		t.Fatal(err)
	}
	for _, asOfCase := range []time.Time{asOf, asOf.Add(-36*time.Hour + 7*time.Minute), asOf.Add(-3 * 24 * time.Hour)} {
		got := healthStepsRead(t, sink, []int64{1, 2, 3, 4}, asOfCase)
		want := expectedSummaries(latest, asOfCase)
		if len(got) != len(want) {
			t.Fatalf("as of %v: %d steps, want %d", asOfCase, len(got), len(want))
		}
		unhealthy := 0
		for i := range want {
			if fmt.Sprintf("%+v", got[i]) != fmt.Sprintf("%+v", want[i]) {
				t.Errorf("as of %v, step %+v:\n got  %+v\n want %+v", asOfCase, want[i].Step, got[i], want[i])
			}
			if transform.ClassifySummary(want[i].Summary, asOfCase).State != transform.Healthy {
				unhealthy++
			}
		}
		if unhealthy == 0 {
			t.Errorf("as of %v: every step healthy; the test wants some of each", asOfCase)
		}
	}
}

// expectedSummaries is what the step health read must give, from the runs by the
// definitions (counted runs only; attempts are success and failed steps).
func expectedSummaries(runs map[int64]transform.Run, asOf time.Time) []load.StepSummary {
	type acc struct {
		sum     load.StepSummary
		execs   []transform.StepExecution
		lastAt  time.Time
		lastRun int64
		hasFail bool
		nameAt  time.Time
		nameRun int64
	}
	from := asOf.Add(-transform.HealthWindow)
	steps := map[load.SeriesKey]*acc{}
	for _, r := range runs {
		if r.Class == transform.StatusUnfinished || r.OrderedAt.Before(from) {
			continue
		}
		for _, st := range r.Steps {
			if st.Status == transform.StepSkipped {
				continue
			}
			k := load.SeriesKey{ScriptID: r.ScriptID, StepIndex: st.Index}
			a := steps[k]
			if a == nil {
				a = &acc{sum: load.StepSummary{Step: k}}
				steps[k] = a
			}
			if r.OrderedAt.After(asOf) {
				if !a.sum.NextAt.Valid || r.OrderedAt.Before(a.sum.NextAt.Time) {
					a.sum.NextAt = transform.NullTime{Time: r.OrderedAt, Valid: true}
				}
				continue
			}
			failed := st.Status == transform.StepFailed
			a.execs = append(a.execs, transform.StepExecution{At: r.OrderedAt, RunID: r.ID, Failed: failed})
			if st.Name.Valid && (!a.sum.StepName.Valid || r.OrderedAt.After(a.nameAt) || (r.OrderedAt.Equal(a.nameAt) && r.ID > a.nameRun)) {
				a.sum.StepName, a.nameAt, a.nameRun = st.Name, r.OrderedAt, r.ID
			}
			if failed && (!a.hasFail || r.FailureAt.After(a.lastAt) || (r.FailureAt.Equal(a.lastAt) && r.ID > a.lastRun)) {
				a.hasFail, a.lastAt, a.lastRun, a.sum.LastError = true, r.FailureAt, r.ID, st.Error
				a.sum.LastFailureAt = transform.NullTime{Time: r.FailureAt, Valid: true}
			}
		}
	}
	var out []load.StepSummary
	for _, a := range steps {
		slices.SortFunc(a.execs, func(x, y transform.StepExecution) int {
			if c := x.At.Compare(y.At); c != 0 {
				return c
			}
			return cmp.Compare(x.RunID, y.RunID)
		})
		a.sum.Summary = transform.SummarizeExecutions(a.execs, time.UTC)
		if len(a.execs) > 0 {
			a.sum.OldestAt = a.execs[0].At
		}
		out = append(out, a.sum)
	}
	slices.SortFunc(out, func(x, y load.StepSummary) int {
		return cmp.Or(cmp.Compare(x.Step.ScriptID, y.Step.ScriptID), cmp.Compare(x.Step.StepIndex, y.Step.StepIndex))
	})
	return out
}
