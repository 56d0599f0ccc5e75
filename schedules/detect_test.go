package schedules

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// plantedRuns is a script's history: perDay successful runs a day for days
// days, lognormal durations with level shifts (±20–60 %) and spikes, and
// one step per run with its own shifts.
func plantedRuns(r *rand.Rand, days, perDay int) []transform.Run {
	level, stepLevel := 10.0, 2.0
	var runs []transform.Run
	id := int64(1)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := range days {
		if r.IntN(8) == 0 {
			level *= 1 + (0.2+0.4*r.Float64())*float64(1-2*r.IntN(2))
		}
		if r.IntN(10) == 0 {
			stepLevel *= 1.5
		}
		spike := r.IntN(15) == 0
		for k := range perDay {
			v := level * math.Exp(0.05*r.NormFloat64())
			if spike {
				v *= 3
			}
			at := start.Add(time.Duration(d)*24*time.Hour + time.Duration(k)*time.Minute)
			run := transform.Run{ID: id, ScriptID: 1, Day: transform.DayOf(at, time.UTC), Class: transform.StatusSuccess,
				OrderedAt: at, Duration: transform.NullFloat{Float64: v, Valid: true},
				Steps: []transform.Step{{Index: 0, Status: transform.StepSuccess,
					Duration: transform.NullFloat{Float64: stepLevel * math.Exp(0.05*r.NormFloat64()), Valid: true}}}}
			runs = append(runs, run)
			id++
		}
	}
	return runs
}

// fullChanges is every series' change points by the definition (the whole
// series), as rows keyed like the stored ones.
func fullChanges(t *testing.T, runs []transform.Run, opt transform.ChangeOptions) map[load.ChangeKey]load.ChangeRow {
	t.Helper()
	out := map[load.ChangeKey]load.ChangeRow{}
	for _, s := range refScriptSeries(runs, time.UTC) {
		cps, err := transform.DetectChanges(s.values, s.days, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, cp := range cps {
			row := refChangeRow(1, s, runs, cp.Index, cp)
			out[row.Key] = row
		}
	}
	return out
}

// TestChangePointsStayWithinRadius is why the job may recompute only a
// window: changing a history only from some day on (deletes, rewrites,
// moves, new runs) changes no change point more than the method's radius
// before that day. (The previous method failed this: a change point moved
// 1,001 values before the first changed one.) It also checks that
// scriptChanges replaces the stored change points by exactly the new
// whole-series ones.
func TestChangePointsStayWithinRadius(t *testing.T) {
	opt := transform.DefaultChangeOptions()
	radius, local := opt.Radius()
	if !local {
		t.Fatal("the default change-point method is not local: the job recomputes whole series")
	}
	farthest := 0
	for seed := range uint64(12) {
		r := rand.New(rand.NewPCG(seed, 99))
		days := 60
		old := plantedRuns(r, days, 40)
		stored := fullChanges(t, old, opt)
		first := old[0].Day + transform.Day(10+r.IntN(days-10))
		var next []transform.Run
		for _, run := range old {
			if run.Day >= first {
				switch r.IntN(10) {
				case 0: // deleted
					continue
				case 1: // rewritten
					run.Duration.Float64 *= 1.5
				case 2: // moved to the last day
					run.OrderedAt = run.OrderedAt.Add(time.Duration(int(old[len(old)-1].Day-run.Day)) * 24 * time.Hour)
					run.Day = transform.DayOf(run.OrderedAt, time.UTC)
				}
			}
			next = append(next, run)
		}
		slices.SortFunc(next, func(a, b transform.Run) int {
			if c := a.OrderedAt.Compare(b.OrderedAt); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
		want := fullChanges(t, next, opt)
		// How far before the first changed run did a change point differ?
		series := refScriptSeries(next, time.UTC)
		for k, w := range want {
			if o, ok := stored[k]; ok && fmt.Sprint(o.Change.Ratio, o.Change.P) == fmt.Sprint(w.Change.Ratio, w.Change.P) {
				continue
			}
			if w.Day >= first {
				continue
			}
			s := series[k.Series.StepIndex]
			c, _ := slices.BinarySearch(s.days, first)
			pos := slices.IndexFunc(s.runs, func(i int) bool { return next[i].ID == k.RunID })
			farthest = max(farthest, c-pos)
		}
		storedKeys := make([]load.ChangeKey, 0, len(stored))
		for k := range stored {
			storedKeys = append(storedKeys, k)
		}
		res, err := scriptChanges(1, newScriptRuns(next, time.UTC), storedKeys, nil, &changeWindow{first: transform.MinDay, from: transform.MinDay}, opt)
		if err != nil {
			t.Fatal(err)
		}
		rows, gone := res.rows, res.gone
		got := map[load.ChangeKey]load.ChangeRow{}
		for k, v := range stored {
			got[k] = v
		}
		for _, k := range gone {
			delete(got, k)
		}
		for _, row := range rows {
			got[row.Key] = row
		}
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d change points after the replacement, the whole series has %d", seed, len(got), len(want))
		}
		for k, w := range want {
			if g := got[k]; fmt.Sprint(g) != fmt.Sprint(w) {
				t.Fatalf("seed %d: change point %v: got %+v, want %+v", seed, k, g, w)
			}
		}
	}
	if farthest > radius {
		t.Fatalf("a change point changed %d values before the first changed one, beyond the radius %d", farthest, radius)
	}
	t.Logf("a change point changed %d values before the first changed value", farthest)
}

// TestScriptHealthNextCheck: a step's state does not change before the
// script's next check, and does change at it when an execution leaves
// the window or a failure leaves the last 24 h.
func TestScriptHealthNextCheck(t *testing.T) {
	asOf := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	var runs []transform.Run
	add := func(at time.Time, id int64, failed bool) {
		st := transform.StepSuccess
		if failed {
			st = transform.StepFailed
		}
		runs = append(runs, transform.Run{ID: id, ScriptID: 1, Class: transform.StatusSuccess, OrderedAt: at, FailureAt: at,
			Steps: []transform.Step{{Index: 0, Status: st}}})
	}
	// 12 successes over the last days, then one failure 2 h ago: newly failing.
	for i := range 12 {
		add(asOf.Add(-time.Duration(100-i)*time.Hour), int64(i+1), false)
	}
	add(asOf.Add(-2*time.Hour), 20, true)
	add(asOf.Add(3*time.Hour), 21, true) // future-dated
	rows, check := scriptHealth(1, runs, asOf, time.UTC)
	if len(rows) != 1 || rows[0].Health.State != transform.NewlyFailing {
		t.Fatalf("rows %+v", rows)
	}
	// The future execution enters at asOf + 3 h, before the failure leaves
	// the last 24 h (asOf + 22 h) and the oldest leaves the 14 days.
	if want := asOf.Add(3 * time.Hour); check.None || !check.Next.Equal(want) {
		t.Fatalf("next check %v (none %v), want %v", check.Next, check.None, want)
	}
	runs = runs[:len(runs)-1]
	_, check = scriptHealth(1, runs, asOf, time.UTC)
	if want := asOf.Add(22*time.Hour + time.Microsecond); !check.Next.Equal(want) {
		t.Fatalf("next check %v, want %v", check.Next, want)
	}
	// Just before the check: the same state; at it: no longer newly failing.
	before, _ := scriptHealth(1, runs, check.Next.Add(-time.Microsecond), time.UTC)
	at, _ := scriptHealth(1, runs, check.Next, time.UTC)
	if before[0].Health.State != transform.NewlyFailing || at[0].Health.State == transform.NewlyFailing {
		t.Fatalf("before the check %s, at it %s", before[0].Health.State, at[0].Health.State)
	}
}

// TestParseConfirmOverride: the test hook's value is a whole number ≥ 0 or
// unset; anything else is an error, never the defaults.
func TestParseConfirmOverride(t *testing.T) {
	for _, c := range []struct {
		in      string
		n       int
		set, ok bool
	}{{"", 0, false, true}, {"0", 0, true, true}, {"96", 96, true, true}, {"-1", 0, true, false}, {"12x", 0, true, false}, {" 5", 0, true, false}} {
		n, set, err := parseConfirmOverride(c.in)
		if n != c.n || set != c.set || (err == nil) != c.ok {
			t.Errorf("%q: got %d, %v, %v; want %d, %v, ok %v", c.in, n, set, err, c.n, c.set, c.ok)
		}
	}
}

// The reference of a change point's row, from the runs themselves (the job
// builds rows from the compact scriptRuns; the tests compare the two).

// refSeries is a duration series as the tests' reference builds it (all
// of it per value; the job's series keeps less).
type refSeries struct {
	step      int32
	values    []float64
	days      []transform.Day
	groupDays []transform.Day
	runs      []int
}

// refScriptSeries builds the series of runs as the contract says (sets
// each run's Day to its day in loc).
func refScriptSeries(runs []transform.Run, loc *time.Location) map[int32]*refSeries {
	out := map[int32]*refSeries{load.RunSeries: {step: load.RunSeries}}
	add := func(s *refSeries, v float64, r *transform.Run, group transform.Day, i int) {
		s.values, s.days, s.groupDays, s.runs = append(s.values, v), append(s.days, r.Day), append(s.groupDays, group), append(s.runs, i)
	}
	for i := range runs {
		r := &runs[i]
		group := r.Day
		r.Day = transform.DayOf(r.OrderedAt, loc)
		if r.Class == transform.StatusSuccess && r.Duration.Valid {
			add(out[load.RunSeries], r.Duration.Float64, r, group, i)
		}
		for k := range r.Steps {
			st := &r.Steps[k]
			if st.Status != transform.StepSuccess || !validDuration(st.Duration) || st.Index == load.RunSeries {
				continue // (a step of index RunSeries has no series)
			}
			s := out[st.Index]
			if s == nil {
				s = &refSeries{step: st.Index}
				out[st.Index] = s
			}
			add(s, st.Duration.Float64, r, group, i)
		}
	}
	return out
}

// refChangeRow makes the row of the change point at position at of s from
// the runs.
func refChangeRow(id int64, s *refSeries, runs []transform.Run, at int, cp transform.ChangePoint) load.ChangeRow {
	r := &runs[s.runs[at]]
	row := load.ChangeRow{
		Key: load.ChangeKey{Series: load.SeriesKey{ScriptID: id, StepIndex: s.step},
			OrderedAtUS: r.OrderedAt.UnixMicro(), RunID: r.ID},
		Day:           r.Day,
		PreviousRunID: runs[s.runs[at-1]].ID,
		ChangedAt:     time.UnixMicro(r.OrderedAt.UnixMicro()).UTC(),
		Change:        cp,
	}
	lo, hi := at-cp.RunsBefore, at+cp.RunsAfter
	before, after := s.runs[lo:at], s.runs[at:hi]
	latestName := func(which []int, step int32) transform.NullString {
		var name transform.NullString
		for _, i := range which {
			for _, st := range runs[i].Steps {
				if st.Index == step && st.Name.Valid {
					name = st.Name
				}
			}
		}
		return name
	}
	if s.step != load.RunSeries {
		row.StepName = latestName(s.runs[lo:hi], s.step)
		return row
	}
	stepDurations := func(which []int) map[int32][]float64 {
		out := map[int32][]float64{}
		for _, i := range which {
			for _, st := range runs[i].Steps {
				if st.Status == transform.StepSuccess && validDuration(st.Duration) && st.Index != load.RunSeries {
					out[st.Index] = append(out[st.Index], st.Duration.Float64)
				}
			}
		}
		return out
	}
	b, a := stepDurations(before), stepDurations(after)
	best, bestDelta, found := int32(0), 0.0, false
	for idx, av := range a {
		bv := b[idx]
		if len(bv) == 0 {
			continue
		}
		ma, _ := transform.Median(av)
		mb, _ := transform.Median(bv)
		d := ma - mb
		if !found || math.Abs(d) > math.Abs(bestDelta) || (math.Abs(d) == math.Abs(bestDelta) && idx < best) {
			best, bestDelta, found = idx, d, true
		}
	}
	if found {
		row.TopStepIndex = transform.NullInt32{Int32: best, Valid: true}
		row.TopStepDelta = transform.NullFloat{Float64: bestDelta, Valid: true}
		row.TopStepName = latestName(s.runs[lo:hi], best)
	}
	return row
}

// scriptHealth is the job's step health of one script from its runs (in
// series order), with the summaries made by the definition
// (transform.SummarizeExecutions) instead of read: healthRows over what
// the job composes (detect_health.go).
func scriptHealth(id int64, runs []transform.Run, asOf time.Time, loc *time.Location) ([]load.HealthRow, load.HealthCheck) {
	type stepData struct {
		sum     load.StepSummary
		execs   []transform.StepExecution
		lastAt  time.Time // FailureAt of the last failure (ordering)
		lastRun int64
		hasFail bool
	}
	winFrom := asOf.Add(-transform.HealthWindow)
	steps := map[int32]*stepData{}
	for i := range runs {
		r := &runs[i]
		if r.OrderedAt.Before(winFrom) {
			continue
		}
		for _, st := range r.Steps {
			if st.Status != transform.StepSuccess && st.Status != transform.StepFailed {
				continue
			}
			d := steps[st.Index]
			if d == nil {
				d = &stepData{sum: load.StepSummary{Step: load.SeriesKey{ScriptID: id, StepIndex: st.Index}}}
				steps[st.Index] = d
			}
			if r.OrderedAt.After(asOf) {
				if !d.sum.NextAt.Valid || r.OrderedAt.Before(d.sum.NextAt.Time) {
					d.sum.NextAt = transform.NullTime{Time: r.OrderedAt, Valid: true} // it enters the window then
				}
				continue
			}
			failed := st.Status == transform.StepFailed
			d.execs = append(d.execs, transform.StepExecution{At: r.OrderedAt, RunID: r.ID, Failed: failed})
			if st.Name.Valid {
				d.sum.StepName = st.Name // runs come in series order: the last is the latest
			}
			if failed {
				at := r.FailureAt
				if !d.hasFail || at.After(d.lastAt) || (at.Equal(d.lastAt) && r.ID >= d.lastRun) {
					d.hasFail, d.lastAt, d.lastRun, d.sum.LastError = true, at, r.ID, st.Error
					d.sum.LastFailureAt = transform.NullTime{}
					if t := at; !t.Before(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)) && !t.After(time.Date(2262, 4, 11, 23, 47, 16, 854775000, time.UTC)) {
						d.sum.LastFailureAt = transform.NullTime{Time: t, Valid: true}
					}
				}
			}
		}
	}
	sums := make([]load.StepSummary, 0, len(steps))
	for _, d := range steps {
		slices.SortFunc(d.execs, func(a, b transform.StepExecution) int {
			if c := a.At.Compare(b.At); c != 0 {
				return c
			}
			return cmp.Compare(a.RunID, b.RunID)
		})
		d.sum.Summary = transform.SummarizeExecutions(d.execs, loc)
		if len(d.execs) > 0 {
			d.sum.OldestAt = d.execs[0].At
		}
		sums = append(sums, d.sum)
	}
	return healthRows(id, sums, asOf)
}
