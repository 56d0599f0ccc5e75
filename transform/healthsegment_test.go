package transform

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// segmentZones are the zones of the property test: UTC, one whose clocks
// went back over midnight (Goose Bay until 2010: 2010-11-07 00:01 −03
// became 2010-11-06 23:01 −04, so the 6th came back for an hour after the
// 7th began — São Paulo's old fall-back at 24:00 does not: it repeats
// 23:00–24:00 of the same date), one that goes back within a day (Havana,
// 01:00 → 00:00 on the first Sunday of November) and a fixed offset.
func segmentZones(t *testing.T) map[string]struct {
	loc  *time.Location
	base time.Time // the middle of the histories: around the zone's change
} {
	return map[string]struct {
		loc  *time.Location
		base time.Time
	}{
		"UTC":               {time.UTC, time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC)},
		"America/Goose_Bay": {mustLoc(t, "America/Goose_Bay"), time.Date(2010, 11, 7, 3, 0, 0, 0, time.UTC)},
		"America/Havana":    {mustLoc(t, "America/Havana"), time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC)},
		"fixed +05:30":      {time.FixedZone("+05:30", 5*3600+1800), time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC)},
	}
}

// randomAttempts is a history of one step in window order: streaky
// statuses (long streaks make broken and recovered reachable), times
// spread over ±2 days around base with ties on At (other runs at the same
// instant) and runs holding the step twice, names and errors sometimes
// NULL, failure times that do not follow the run order.
func randomAttempts(r *rand.Rand, base time.Time, loc *time.Location) []StepAttempt {
	n := r.IntN(80)
	if r.IntN(10) == 0 {
		n = r.IntN(3)
	}
	out := make([]StepAttempt, 0, n)
	at := base.Add(-48*time.Hour + time.Duration(r.IntN(3600))*time.Second)
	gap := 7200
	if r.IntN(2) == 0 { // dense, across the zone's change
		at, gap = base.Add(-time.Duration(r.IntN(600))*time.Second), 40
	}
	run := int64(1000)
	failed := r.IntN(2) == 0
	stay := 0.5 + 0.45*r.Float64()
	for len(out) < n {
		switch x := r.IntN(10); {
		case x < 2: // same instant, another run
		default:
			at = at.Add(time.Duration(1+r.IntN(gap)) * time.Second)
		}
		run += 1 + int64(r.IntN(3))
		copies := 1
		if r.IntN(12) == 0 {
			copies = 2 // the step twice in one run
		}
		for range copies {
			if r.Float64() > stay {
				failed = !failed
			}
			a := StepAttempt{At: at, RunID: run, Day: DayOf(at, loc), Failed: failed,
				FailureAt: at.Add(time.Duration(r.IntN(4)-1) * time.Hour)}
			if r.IntN(4) > 0 {
				a.Name = NullString{String: fmt.Sprintf("name %d", r.IntN(5)), Valid: true}
			}
			if failed && r.IntN(4) > 0 {
				a.Error = NullString{String: fmt.Sprintf("error %d", len(out)), Valid: true}
			}
			if r.IntN(15) == 0 {
				a.FailureAt = out0(out).FailureAt // a tie on the failure time
			}
			out = append(out, a)
		}
	}
	return out[:n]
}

func out0(s []StepAttempt) StepAttempt {
	if len(s) == 0 {
		return StepAttempt{}
	}
	return s[0]
}

// referenceSegment is what the attempts give by the definitions: the
// summary by SummarizeExecutions, the latest non-null name, and the
// failure greatest by (FailureAt, RunID), the later on a tie.
func referenceSegment(win []StepAttempt, loc *time.Location) (ExecutionSummary, time.Time, NullString, FailureRef) {
	execs := make([]StepExecution, len(win))
	var name NullString
	var last FailureRef
	for i, a := range win {
		execs[i] = StepExecution{At: a.At, RunID: a.RunID, Failed: a.Failed}
		if a.Name.Valid {
			name = a.Name
		}
		if a.Failed && (!last.Valid || a.FailureAt.After(last.At) || (a.FailureAt.Equal(last.At) && a.RunID >= last.RunID)) {
			last = FailureRef{Valid: true, At: a.FailureAt, RunID: a.RunID, Error: a.Error}
		}
	}
	var oldest time.Time
	if len(win) > 0 {
		oldest = win[0].At
	}
	return SummarizeExecutions(execs, loc), oldest, name, last
}

func segmentOf(win []StepAttempt) StepSegment {
	var s StepSegment
	for _, a := range win {
		s.Add(a)
	}
	return s
}

// foldTree combines segs by a random bracketing.
func foldTree(r *rand.Rand, segs []StepSegment) StepSegment {
	switch len(segs) {
	case 0:
		return StepSegment{}
	case 1:
		return segs[0]
	}
	k := 1 + r.IntN(len(segs)-1)
	return CombineSegments(foldTree(r, segs[:k]), foldTree(r, segs[k:]))
}

func deepCopy(segs []StepSegment) []StepSegment {
	out := make([]StepSegment, len(segs))
	for i, s := range segs {
		s.Days = slices.Clone(s.Days)
		out[i] = s
	}
	return out
}

// TestCombineSegmentsMatchesDefinition: random histories cut at random
// points into segments (empty ones too; cuts inside a run and between
// attempts at one instant), combined left to right and by random
// bracketings, give what SummarizeExecutions, the latest name and the
// greatest failure give for the whole; ClassifySummary of that equals
// ClassifyStepHealth; combining changes none of its inputs.
func TestCombineSegmentsMatchesDefinition(t *testing.T) {
	for name, z := range segmentZones(t) {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, uint64(len(name))))
			for trial := range 3000 {
				win := randomAttempts(r, z.base, z.loc)
				wantSum, wantOldest, wantName, wantLast := referenceSegment(win, z.loc)
				cuts := []int{0}
				for range r.IntN(8) {
					cuts = append(cuts, r.IntN(len(win)+1))
				}
				cuts = append(cuts, len(win))
				slices.Sort(cuts)
				var segs []StepSegment
				for i := 1; i < len(cuts); i++ {
					segs = append(segs, segmentOf(win[cuts[i-1]:cuts[i]]))
				}
				before := deepCopy(segs)
				left := StepSegment{}
				for _, s := range segs {
					left = CombineSegments(left, s)
				}
				tree := foldTree(r, segs)
				if !reflect.DeepEqual(segs, before) {
					t.Fatalf("trial %d: combining changed its inputs", trial)
				}
				whole := segmentOf(win)
				for how, got := range map[string]StepSegment{"added one by one": whole, "left to right": left, "bracketed": tree} {
					sum, oldest := got.Summary()
					if sum != wantSum || !oldest.Equal(wantOldest) || got.Name != wantName || got.LastFailure != wantLast {
						t.Fatalf("trial %d (%d attempts, cuts %v), %s:\n got  %+v oldest %v name %v last %+v\n want %+v oldest %v name %v last %+v",
							trial, len(win), cuts, how, sum, oldest, got.Name, got.LastFailure, wantSum, wantOldest, wantName, wantLast)
					}
				}
				if len(win) == 0 {
					continue
				}
				execs := make([]StepExecution, len(win))
				for i, a := range win {
					execs[i] = StepExecution{At: a.At, RunID: a.RunID, Failed: a.Failed}
				}
				// As of the last attempt, or a little later (newly failing
				// and the 24 h edge).
				asOf := win[len(win)-1].At.Add(time.Duration(r.IntN(3)) * 12 * time.Hour)
				if slices.ContainsFunc(win[1:], func(a StepAttempt) bool { return a.At.Equal(win[0].At) }) ||
					hasDuplicateRun(win) {
					// ClassifyStepHealth sorts by (At, RunID) unstably: two
					// attempts of one run are not ordered by it.
					continue
				}
				sum, _ := left.Summary()
				if got, want := ClassifySummary(sum, asOf), ClassifyStepHealth(execs, asOf, z.loc); !reflect.DeepEqual(got, want) {
					t.Fatalf("trial %d: classified %+v, want %+v", trial, got, want)
				}
			}
		})
	}
}

func hasDuplicateRun(win []StepAttempt) bool {
	for i := 1; i < len(win); i++ {
		if win[i].RunID == win[i-1].RunID {
			return true
		}
	}
	return false
}

// TestSegmentsOverMidnightFallBack: in Goose Bay on 2010-11-07 the clocks
// went from 00:01 −03 back to 23:01 −04 of the 6th. Executions at 23:59:30
// (6th), 00:00:30 (7th), then 23:01:30 and 23:02 (the 6th again): the 6th
// holds a success and a failure, the 7th a success only — one mixed day,
// by hand — and the 6th's executions are not contiguous in time, so a
// per-day segment of the 6th cannot be combined in day order.
func TestSegmentsOverMidnightFallBack(t *testing.T) {
	loc := mustLoc(t, "America/Goose_Bay")
	first := time.Date(2010, 11, 7, 2, 59, 30, 0, time.UTC) // 23:59:30 −03 on the 6th
	times := []time.Time{first, first.Add(time.Minute), first.Add(2 * time.Minute), first.Add(150 * time.Second)}
	wantDays := []Day{DayFromDate(2010, 11, 6), DayFromDate(2010, 11, 7), DayFromDate(2010, 11, 6), DayFromDate(2010, 11, 6)}
	failed := []bool{false, false, true, true}
	var win []StepAttempt
	for i, at := range times {
		if d := DayOf(at, loc); d != wantDays[i] {
			t.Fatalf("%v is day %v, want %v", at, d, wantDays[i])
		}
		win = append(win, StepAttempt{At: at, RunID: int64(i + 1), Day: wantDays[i], Failed: failed[i]})
	}
	sum, _ := segmentOf(win).Summary()
	if sum.MixedDays != 1 || sum.Flips != 1 || sum.StreakStart != 2 {
		t.Fatalf("summary %+v, want 1 mixed day, 1 flip, trailing streak from index 2", sum)
	}
	// Split at the day boundaries in time order: the 6th, the 7th, the
	// 6th again — combined in time order, still exact.
	parts := CombineSegments(CombineSegments(segmentOf(win[:1]), segmentOf(win[1:2])), segmentOf(win[2:]))
	if got, _ := parts.Summary(); got != sum {
		t.Fatalf("time-ordered parts %+v, want %+v", got, sum)
	}
	// The per-date segments in date order are not the history.
	byDate := CombineSegments(segmentOf([]StepAttempt{win[0], win[2], win[3]}), segmentOf(win[1:2]))
	if got, _ := byDate.Summary(); got == sum {
		t.Fatalf("per-date segments in date order give the summary of the history: the test shows nothing")
	}
}
