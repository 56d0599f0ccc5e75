package schedules

import (
	"cmp"
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// Detection (CONTRACT.md 2b): the duration change points and the step
// health, recomputed at the end of every pass, after the groups and before
// the state. What it recomputes is derived from the journal (the groups
// journaled after the last completed pass) and from the stored next health
// checks, never from what this process saw: a pass killed anywhere is
// finished by the next one, like the groups.
//
// Change points. Every series of a script with a journaled group is
// recomputed whole (see detectChanges for why no window is exact), and
// its stored change points replaced.
//
// Step health. A step's state is a function of the executions of the 14
// days before the pass: it changes when an execution enters that window
// (new data, or a future-dated run whose time comes), leaves it, or when a
// failure leaves the last 24 h. The first is the journal; for the others
// every script keeps the first time one can happen (health_checks), and a
// pass at or after it recomputes the script. Everything else stays exact
// without being read.

const fpMidDetect = "mid_detect" // some detection rows written, not all

// DetectSummary is what detection did in a pass.
type DetectSummary struct {
	Scripts         int64 // scripts whose change points were recomputed
	Changes         int64 // change points written
	StepsClassified int64 // step health rows written
	Duration        time.Duration
}

func (d DetectSummary) dict() *zerolog.Event {
	return zerolog.Dict().Int64("scripts", d.Scripts).Int64("change_points_written", d.Changes).
		Int64("steps_classified", d.StepsClassified).Dur("duration", d.Duration)
}

// detectBatch is how many rows go into one insert.
const detectBatch = 5000

func (j *Job) changeOptions() transform.ChangeOptions {
	opt := transform.DefaultChangeOptions()
	if j.ChangeWindow > 0 {
		opt.Window = j.ChangeWindow
		opt.ConfirmWindow = max(opt.ConfirmWindow, opt.Window)
	}
	return opt
}

// detect recomputes what the pass may have changed.
func (j *Job) detect(ctx context.Context, after, version uint64, asOf time.Time, sum *Summary) error {
	start := j.Now()
	pending, err := j.Sink.PendingScripts(ctx, after)
	if err != nil {
		return err
	}
	if err := j.detectChanges(ctx, pending, version, sum); err != nil {
		return err
	}
	if err := j.detectHealth(ctx, pending, asOf, version, sum); err != nil {
		return err
	}
	if err := j.Sink.WriteDetectionAsOf(ctx, asOf, version); err != nil {
		return err
	}
	sum.Detect.Duration = j.Now().Sub(start)
	return nil
}

// series is one duration series being built: values in order, their days
// and the run (index into the script's runs) of each.
type series struct {
	step   int32 // −1: whole runs
	values []float64
	days   []transform.Day
	runs   []int
}

// scriptSeries builds the run series and the step series of a script's
// counted runs (in series order): success runs with a valid duration;
// success attempts with a finite, non-negative duration. The day of a value
// is the day of its run's time in loc (contract section 2), not the stored
// group's: a copy of a run left at a wrong day (an old bug, until a
// backfill repairs it) must not break the series' order.
func scriptSeries(runs []transform.Run, loc *time.Location) map[int32]*series {
	out := map[int32]*series{-1: {step: -1}}
	for i := range runs {
		r := &runs[i]
		r.Day = transform.DayOf(r.OrderedAt, loc)
		if r.Class == transform.StatusSuccess && r.Duration.Valid {
			s := out[-1]
			s.values, s.days, s.runs = append(s.values, r.Duration.Float64), append(s.days, r.Day), append(s.runs, i)
		}
		for k := range r.Steps {
			st := &r.Steps[k]
			if st.Status != transform.StepSuccess || !validDuration(st.Duration) {
				continue
			}
			s := out[st.Index]
			if s == nil {
				s = &series{step: st.Index}
				out[st.Index] = s
			}
			s.values, s.days, s.runs = append(s.values, st.Duration.Float64), append(s.days, r.Day), append(s.runs, i)
		}
	}
	return out
}

func validDuration(d transform.NullFloat) bool {
	return d.Valid && !math.IsNaN(d.Float64) && !math.IsInf(d.Float64, 0) && d.Float64 >= 0
}

// detectChanges recomputes the change points of every series of every
// script with a journaled group, over the whole series.
//
// Why whole series: DetectChanges has no bounded dependency radius. Its
// persistence check drops the weakest failing candidate of the whole
// series per round and places every candidate again each round, so the
// number of rounds — set anywhere in the series — moves candidates
// elsewhere; and chains of candidates closer than the window couple
// arbitrarily distant positions. A change point 1,000 positions before
// the first changed value can appear or vanish
// (TestChangePointsAreNotLocal). Recomputing a window around the changes,
// whatever its margin, would not be exact.
func (j *Job) detectChanges(ctx context.Context, pending map[int64]load.DayRange, version uint64, sum *Summary) error {
	if len(pending) == 0 {
		return nil
	}
	opt := j.changeOptions()
	ids := make([]int64, 0, len(pending))
	for id := range pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	firstDays, err := j.Sink.FirstDays(ctx, ids)
	if err != nil {
		return err
	}
	storedList, err := j.Sink.StoredChanges(ctx, ids)
	if err != nil {
		return err
	}
	stored := map[int64][]load.ChangeKey{}
	for _, k := range storedList {
		stored[k.Series.ScriptID] = append(stored[k.Series.ScriptID], k)
	}
	starts := map[int64]transform.Day{}
	for _, id := range ids {
		if d, ok := firstDays[id]; ok {
			starts[id] = d
		}
	}
	var (
		mu      sync.Mutex
		rows    []load.ChangeRow
		gone    []load.ChangeKey
		workErr error
	)
	flush := func(force bool) error {
		if !force && len(rows)+len(gone) < detectBatch {
			return nil
		}
		if err := j.Sink.WriteChanges(ctx, rows, gone, version); err != nil {
			return err
		}
		rows, gone = rows[:0], gone[:0]
		return j.failpoint(ctx, fpMidDetect)
	}
	type script struct {
		id   int64
		runs []transform.Run
	}
	work := make(chan script, 2)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sc := range work {
				r, g, err := scriptChanges(sc.id, sc.runs, stored[sc.id], opt, j.Zone)
				mu.Lock()
				if err != nil {
					workErr = err
				} else {
					rows, gone = append(rows, r...), append(gone, g...)
					sum.Detect.Scripts++
					sum.Detect.Changes += int64(len(r))
				}
				mu.Unlock()
			}
		}()
	}
	seen := map[int64]bool{}
	readErr := j.Sink.SeriesRuns(ctx, starts, false, func(id int64, runs []transform.Run) error {
		seen[id] = true
		work <- script{id, slices.Clone(runs)}
		mu.Lock()
		defer mu.Unlock()
		if workErr != nil {
			return workErr
		}
		return flush(false)
	})
	close(work)
	wg.Wait()
	if readErr != nil {
		return readErr
	}
	if workErr != nil {
		return workErr
	}
	for _, id := range ids { // no counted run left: no series
		if !seen[id] {
			gone = append(gone, stored[id]...)
		}
	}
	return flush(true)
}

// scriptChanges computes the change points of every series of a script
// from all its counted runs (in series order); it returns the rows to
// write and the stored change points that are gone.
func scriptChanges(id int64, runs []transform.Run, stored []load.ChangeKey, opt transform.ChangeOptions, loc *time.Location) (rows []load.ChangeRow, gone []load.ChangeKey, err error) {
	for _, s := range scriptSeries(runs, loc) {
		cps, err := transform.DetectChanges(s.values, s.days, opt)
		if err != nil {
			return nil, nil, err
		}
		for _, cp := range cps {
			rows = append(rows, changeRow(id, s, runs, cp.Index, cp))
		}
	}
	// A change point rewritten at the same key replaces the stored row (a
	// higher version, same sorting key); the others go.
	written := map[load.ChangeKey]bool{}
	for _, r := range rows {
		written[r.Key] = true
	}
	for _, k := range stored {
		if !written[k] {
			gone = append(gone, k)
		}
	}
	return rows, gone, nil
}

// changeRow makes the row of the change point at position at of s.
func changeRow(id int64, s *series, runs []transform.Run, at int, cp transform.ChangePoint) load.ChangeRow {
	r := &runs[s.runs[at]]
	row := load.ChangeRow{
		Key: load.ChangeKey{Series: load.SeriesKey{ScriptID: id, StepIndex: s.step},
			OrderedAtUS: r.OrderedAt.UnixMicro(), RunID: r.ID},
		Day:           r.Day,
		PreviousRunID: runs[s.runs[at-1]].ID,
		ChangedAt:     r.OrderedAt,
		Change:        cp,
	}
	lo, hi := at-cp.RunsBefore, at+cp.RunsAfter
	before, after := s.runs[lo:at], s.runs[at:hi]
	if s.step >= 0 {
		row.StepName = latestName(runs, s.runs[lo:hi], s.step)
		return row
	}
	// What changed: the step whose median duration moved most between the
	// same two windows of runs (ties: the smaller index).
	b, a := stepDurations(runs, before), stepDurations(runs, after)
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
		row.TopStepName = latestName(runs, s.runs[lo:hi], best)
	}
	return row
}

// stepDurations gathers the step series values of the given runs, by step.
func stepDurations(runs []transform.Run, which []int) map[int32][]float64 {
	out := map[int32][]float64{}
	for _, i := range which {
		for _, st := range runs[i].Steps {
			if st.Status == transform.StepSuccess && validDuration(st.Duration) {
				out[st.Index] = append(out[st.Index], st.Duration.Float64)
			}
		}
	}
	return out
}

// latestName is the step's latest non-null name among the given runs
// (in series order: the last one wins).
func latestName(runs []transform.Run, which []int, step int32) transform.NullString {
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

// detectHealth recomputes the step health of the scripts with a journaled
// group in the window and of those due for a check.
func (j *Job) detectHealth(ctx context.Context, pending map[int64]load.DayRange, asOf time.Time, version uint64, sum *Summary) error {
	from := transform.DayOf(asOf.Add(-transform.HealthWindow), j.Zone) - 1
	due, err := j.Sink.HealthDue(ctx, asOf)
	if err != nil {
		return err
	}
	set := map[int64]bool{}
	for id, r := range pending {
		if r.Last >= from {
			set[id] = true
		}
	}
	for _, id := range due {
		set[id] = true
	}
	if len(set) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(set))
	starts := map[int64]transform.Day{}
	for id := range set {
		ids = append(ids, id)
		starts[id] = from
	}
	slices.Sort(ids)
	storedList, err := j.Sink.StoredHealth(ctx, ids)
	if err != nil {
		return err
	}
	stored := map[int64][]load.SeriesKey{}
	for _, k := range storedList {
		stored[k.ScriptID] = append(stored[k.ScriptID], k)
	}
	var (
		rows   []load.HealthRow
		gone   []load.SeriesKey
		checks []load.HealthCheck
	)
	flush := func(force bool) error {
		if !force && len(rows)+len(gone) < detectBatch {
			return nil
		}
		if err := j.Sink.WriteHealth(ctx, rows, gone, checks, version); err != nil {
			return err
		}
		rows, gone, checks = rows[:0], gone[:0], checks[:0]
		return j.failpoint(ctx, fpMidDetect)
	}
	done := map[int64]bool{}
	handle := func(id int64, runs []transform.Run) error {
		done[id] = true
		r, check := scriptHealth(id, runs, asOf, j.Zone)
		have := map[int32]bool{}
		for _, h := range r {
			have[h.Step.StepIndex] = true
		}
		for _, k := range stored[id] {
			if !have[k.StepIndex] {
				gone = append(gone, k)
			}
		}
		rows = append(rows, r...)
		checks = append(checks, check)
		sum.Detect.StepsClassified += int64(len(r))
		return flush(false)
	}
	if err := j.Sink.SeriesRuns(ctx, starts, true, handle); err != nil {
		return err
	}
	for _, id := range ids {
		if !done[id] {
			if err := handle(id, nil); err != nil {
				return err
			}
		}
	}
	return flush(true)
}

// scriptHealth classifies every step of a script with an execution in the
// 14 days before asOf, and finds the first time after asOf at which one of
// its steps' state can change without new data.
func scriptHealth(id int64, runs []transform.Run, asOf time.Time, loc *time.Location) ([]load.HealthRow, load.HealthCheck) {
	type stepData struct {
		execs    []transform.StepExecution
		name     transform.NullString
		lastFail transform.NullTime
		hasFail  bool
		lastAt   time.Time // FailureAt of the last failure (ordering)
		lastRun  int64
		lastErr  transform.NullString
	}
	winFrom := asOf.Add(-transform.HealthWindow)
	check := load.HealthCheck{ScriptID: id, None: true}
	next := func(t time.Time) {
		if check.None || t.Before(check.Next) {
			check.Next, check.None = t, false
		}
	}
	steps := map[int32]*stepData{}
	for i := range runs {
		r := &runs[i]
		if r.OrderedAt.After(asOf) {
			next(r.OrderedAt) // it enters the window then
			continue
		}
		if r.OrderedAt.Before(winFrom) {
			continue
		}
		for _, st := range r.Steps {
			if st.Status != transform.StepSuccess && st.Status != transform.StepFailed {
				continue
			}
			d := steps[st.Index]
			if d == nil {
				d = &stepData{}
				steps[st.Index] = d
			}
			failed := st.Status == transform.StepFailed
			d.execs = append(d.execs, transform.StepExecution{At: r.OrderedAt, RunID: r.ID, Failed: failed})
			if st.Name.Valid {
				d.name = st.Name // runs come in series order: the last is the latest
			}
			if failed {
				at := r.FailureAt
				if !d.hasFail || at.After(d.lastAt) || (at.Equal(d.lastAt) && r.ID >= d.lastRun) {
					d.hasFail, d.lastAt, d.lastRun, d.lastErr = true, at, r.ID, st.Error
					d.lastFail = transform.NullTime{}
					if t := at; !t.Before(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)) && !t.After(time.Date(2299, 12, 31, 23, 59, 59, 999999000, time.UTC)) {
						d.lastFail = transform.NullTime{Time: t, Valid: true}
					}
				}
			}
		}
	}
	rows := make([]load.HealthRow, 0, len(steps))
	for idx, d := range steps {
		h := transform.ClassifyStepHealth(d.execs, asOf, loc)
		rows = append(rows, load.HealthRow{Step: load.SeriesKey{ScriptID: id, StepIndex: idx},
			StepName: d.name, Health: h, LastFailureAt: d.lastFail, LastError: d.lastErr})
		// The oldest execution leaves the window 14 days after it; the
		// first failure leaves the last 24 h a day after it.
		oldest := d.execs[0].At
		var firstFail time.Time
		for _, e := range d.execs {
			if e.At.Before(oldest) {
				oldest = e.At
			}
			if e.Failed && (firstFail.IsZero() || e.At.Before(firstFail)) {
				firstFail = e.At
			}
		}
		next(oldest.Add(transform.HealthWindow + time.Microsecond))
		if !firstFail.IsZero() {
			if t := firstFail.Add(transform.NewlyFailingWindow + time.Microsecond); t.After(asOf) {
				next(t)
			}
		}
	}
	slices.SortFunc(rows, func(a, b load.HealthRow) int { return cmp.Compare(a.Step.StepIndex, b.Step.StepIndex) })
	return rows, check
}
