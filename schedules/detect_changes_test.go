package schedules

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// The bounded recompute of the change points against the definition: on
// the fakes (no services), random histories go through random passes —
// new runs at the end, late runs in the middle, rewritten durations, moves
// between days and scripts, deletes found by a backfill, passes killed at a
// random crash window — and after every completed pass the stored change
// points equal DetectChanges over each whole series, built here from the
// fake source's runs.

// detectStory is a generator of source histories with level shifts in the
// run durations and in each step's, steps of every frequency (one in every
// run, one in most, a rare one, one that stops after the first days),
// failed and unfinished runs, and invalid durations.
type detectStory struct {
	r       *rand.Rand
	src     *fakeSource
	next    int64
	start   time.Time
	levels  map[int64][]float64 // per script: the run level, then each step's
	lastDay map[int64]int
	// calm scripts do not shift by themselves: their long quiet ends let a
	// pass keep their series by the quiet marks.
	calm map[int64]bool
}

func newDetectStory(seed uint64) *detectStory {
	return &detectStory{r: rand.New(rand.NewPCG(seed, 2026)), src: newFakeSource(), next: 1,
		start: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), levels: map[int64][]float64{}, lastDay: map[int64]int{}, calm: map[int64]bool{}}
}

// shift moves a level by ±15–60 % now and then (never in a calm script).
func (g *detectStory) shift(l *float64, calm bool) {
	if !calm && g.r.IntN(6) == 0 {
		*l *= 1 + (0.15+0.45*g.r.Float64())*float64(1-2*g.r.IntN(2))
	}
}

// run writes a new run of script on day d (minute m) with random content.
func (g *detectStory) run(script int64, d, m int) {
	g.runAt(script, func() time.Time {
		return g.start.Add(time.Duration(d)*24*time.Hour + time.Duration(m)*time.Minute + time.Duration(g.r.IntN(60))*time.Second)
	})
	g.lastDay[script] = max(g.lastDay[script], d)
}

// runAt writes a new run of script started at the time at gives (called
// once, where run draws it).
func (g *detectStory) runAt(script int64, at func() time.Time) {
	lv := g.levels[script]
	if lv == nil {
		lv = []float64{20, 2, 5, 1, 3}
		g.levels[script] = lv
	}
	for i := range lv {
		g.shift(&lv[i], g.calm[script])
	}
	noise := func(l float64) float64 { return l * (1 + 0.08*g.r.NormFloat64()) }
	status := "success"
	switch x := g.r.IntN(20); {
	case x < 2:
		status = "failed"
	case x == 2:
		status = "running"
	}
	started := at()
	dur := math.Max(0.001, noise(lv[0]))
	if g.r.IntN(25) == 0 {
		dur = -1 // invalid
	}
	var steps []string
	step := func(idx int, present bool) {
		if !present {
			return
		}
		st, v := "success", fmt.Sprintf("%.4f", math.Max(0, noise(lv[idx+1])))
		switch x := g.r.IntN(30); {
		case x == 0:
			st = "failed"
		case x == 1:
			v = "null" // a success without a valid duration
		case x == 2:
			v = "-2"
		}
		steps = append(steps, fmt.Sprintf(`{"index":%d,"name":"step %d v%d","status":%q,"duration":%s}`, storyIndex[idx], idx, g.r.IntN(2), st, v))
	}
	calm := g.calm[script] // a calm script has no rare step either
	step(0, true)
	step(1, g.r.IntN(10) < 7)
	step(2, !calm && g.r.IntN(20) == 0)                           // rare
	step(3, !calm && started.Before(g.start.Add(5*24*time.Hour))) // stops after the first days
	if g.r.IntN(3) == 0 {
		// A step whose index is the run series' key: no series of its
		// own, never the top step (docs/detection.md, "Step indexes").
		steps = append(steps, fmt.Sprintf(`{"index":%d,"name":"least","status":"success","duration":%.4f}`, math.MinInt32, noise(lv[2])))
	}
	id := g.next
	g.next++
	g.src.scripts[script] = fmt.Sprintf("script %d", script)
	g.src.runs[id] = transform.SourceRun{ID: id, ScriptID: script, Status: status,
		StartedAt: transform.NullTime{Time: started, Valid: true}, CreatedAt: started, UpdatedAt: g.src.tick(),
		Duration: transform.NullFloat{Float64: dur, Valid: true}, Steps: []byte("[" + strings.Join(steps, ",") + "]")}
}

// storyIndex is the step index of each of a story's steps: negative ones
// too (any integer is a step index; −1 was once the run series' key).
var storyIndex = [...]int{0, -1, -3, 3}

// days writes n runs a day of script on days [from, to).
func (g *detectStory) days(script int64, from, to, n int) {
	for d := from; d < to; d++ {
		for k := range n {
			g.run(script, d, k*(1440/n))
		}
	}
}

// moveSomeRun moves a random run by −3..3 days to one of scripts 1–4, as a
// writer would, and says what it did.
func (g *detectStory) moveSomeRun() string {
	id := g.someRun()
	days := g.r.IntN(7) - 3
	script := int64(1 + g.r.IntN(4))
	g.rewrite(id, func(r *transform.SourceRun) {
		r.ScriptID = script
		r.StartedAt.Time = r.StartedAt.Time.Add(time.Duration(days) * 24 * time.Hour)
		r.CreatedAt = r.StartedAt.Time
	})
	g.src.scripts[script] = fmt.Sprintf("script %d", script)
	return fmt.Sprintf("run %d moved %d days to script %d", id, days, script)
}

// rewrite changes a stored run as a writer would: updated_at now.
func (g *detectStory) rewrite(id int64, change func(r *transform.SourceRun)) {
	r := g.src.runs[id]
	change(&r)
	r.UpdatedAt = g.src.tick()
	g.src.runs[id] = r
}

// someRun is a random run id of the source.
func (g *detectStory) someRun() int64 {
	ids := make([]int64, 0, len(g.src.runs))
	for id := range g.src.runs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids[g.r.IntN(len(ids))]
}

// wholeChangesIn is the definition: every series of every script built from
// the source's runs (normalized, counted, in series order), DetectChanges
// over each whole series, and each change point's row (changeRow, over the
// whole series).
//
// The days are those of loc. Where loc's clocks
// go back over midnight, a date comes back in the middle of a series; the
// method is given each value's day label as the latest day seen so far in
// the series (docs/detection.md, "Pitfalls").
func wholeChangesIn(t *testing.T, src *fakeSource, opt transform.ChangeOptions, loc *time.Location) map[load.ChangeKey]load.ChangeRow {
	t.Helper()
	by := map[int64][]transform.Run{}
	for _, sr := range src.runs {
		r, _, ok := transform.Normalize(sr, loc, transform.DefaultLimits)
		if ok && r.Class != transform.StatusUnfinished {
			by[r.ScriptID] = append(by[r.ScriptID], r)
		}
	}
	out := map[load.ChangeKey]load.ChangeRow{}
	for id, runs := range by {
		slices.SortFunc(runs, func(a, b transform.Run) int {
			if c := a.OrderedAt.Compare(b.OrderedAt); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
		all := map[int32]*refSeries{}
		get := func(k int32) *refSeries {
			if all[k] == nil {
				all[k] = &refSeries{step: k}
			}
			return all[k]
		}
		for i, r := range runs {
			if r.Class == transform.StatusSuccess && r.Duration.Valid {
				s := get(load.RunSeries)
				s.values, s.days, s.runs = append(s.values, r.Duration.Float64), append(s.days, r.Day), append(s.runs, i)
			}
			for _, st := range r.Steps {
				d := st.Duration
				if st.Status == transform.StepSuccess && d.Valid && !math.IsNaN(d.Float64) && !math.IsInf(d.Float64, 0) && d.Float64 >= 0 &&
					st.Index != load.RunSeries {
					s := get(st.Index)
					s.values, s.days, s.runs = append(s.values, d.Float64), append(s.days, r.Day), append(s.runs, i)
				}
			}
		}
		for _, s := range all {
			labels := slices.Clone(s.days)
			for i := 1; i < len(labels); i++ {
				labels[i] = max(labels[i], labels[i-1])
			}
			cps, err := transform.DetectChanges(s.values, labels, opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, cp := range cps {
				row := refChangeRow(id, s, runs, cp.Index, cp)
				row.Change.Index = 0 // a position, not stored
				out[row.Key] = row
			}
		}
	}
	return out
}

// storedChanges is what the fake sink's duration_changes holds (its view:
// without the quiet marks and change tails).
func storedChanges(sink *fakeSink) map[load.ChangeKey]load.ChangeRow {
	out := map[load.ChangeKey]load.ChangeRow{}
	for k, c := range sink.changes {
		if !c.deleted && k.IsChangePoint() {
			out[k] = c.row
		}
	}
	return out
}

func checkChanges(t *testing.T, stage string, src *fakeSource, sink *fakeSink, opt transform.ChangeOptions) int {
	t.Helper()
	return checkChangesIn(t, stage, src, sink, opt, time.UTC)
}

func checkChangesIn(t *testing.T, stage string, src *fakeSource, sink *fakeSink, opt transform.ChangeOptions, loc *time.Location) int {
	t.Helper()
	want, got := wholeChangesIn(t, src, opt, loc), storedChanges(sink)
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Fatalf("%s: change point %+v missing (%d stored, %d by the definition)", stage, k, len(got), len(want))
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: change point %+v:\n got  %+v\n want %+v", stage, k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Fatalf("%s: change point %+v stored, not in the definition: %+v", stage, k, g)
		}
	}
	checkTails(t, stage, src, sink, loc, opt)
	return len(want)
}

// localOptions are the change-point options the test runs with: the
// defaults when their method is local, else the reference scan alone (w
// 12), and a short scan (w 4, looser p) that finds many change points in
// short series.
func localOptions(t *testing.T) map[string]transform.ChangeOptions {
	def := transform.DefaultChangeOptions()
	if _, local := def.Radius(); !local {
		def.ConfirmWindow = 0
	}
	short := transform.DefaultChangeOptions()
	short.Window, short.MaxP, short.ConfirmWindow = 4, 0.05, 0
	out := map[string]transform.ChangeOptions{"defaults or scan": def, "short scan": short}
	for name, o := range out {
		if _, local := o.Radius(); !local {
			t.Fatalf("%s: options %+v are not local", name, o)
		}
	}
	return out
}

// crashingJob is a job on the fakes with the change-point options that
// fails at its crashAfter-th failpoint (0: never).
func crashingJob(src *fakeSource, sink *fakeSink, opt transform.ChangeOptions, crashAfter int) *Job {
	j := fakeJob(src, sink, "")
	j.ChangeOptions = &opt
	calls := 0
	j.Failpoint = func(context.Context, string) error {
		calls++
		if crashAfter > 0 && calls == crashAfter {
			return errCrash
		}
		return nil
	}
	return j
}

// TestBoundedChangePointsMatchWholeSeries: see the top of this file.
func TestBoundedChangePointsMatchWholeSeries(t *testing.T) {
	ctx := context.Background()
	for name, opt := range localOptions(t) {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("%s/seed %d", name, seed), func(t *testing.T) {
				g := newDetectStory(seed)
				for script := int64(1); script <= 3; script++ {
					g.days(script, 0, 30, 6+int(script)*3)
				}
				g.calm[5] = true
				g.days(5, 0, 30, 30)
				scripts := []int64{1, 2, 3, 5, 5}
				sink := newFakeSink()
				// Scripts in chunks of the default size, of one, of two
				// (detectChanges).
				chunk := int(seed % 3)
				job := func(crashAfter int) *Job {
					j := crashingJob(g.src, sink, opt, crashAfter)
					j.changeScriptsChunk = chunk
					return j
				}
				if _, err := job(0).Run(ctx, RunOptions{}); err != nil {
					t.Fatal(err)
				}
				if n := checkChanges(t, "first load", g.src, sink, opt); n == 0 {
					t.Fatal("no change point at all: the histories must have some")
				}
				today := 30
				bounded := 0
				var quietSeries, notQuiet, tails, rereads int64
				for pass := range 14 {
					var did []string
					for range 1 + g.r.IntN(4) {
						switch op := g.r.IntN(10); {
						case op < 4: // new runs at the end, sometimes on a new day
							if g.r.IntN(3) == 0 {
								today++
							}
							script := scripts[g.r.IntN(len(scripts))]
							for range 1 + g.r.IntN(12) {
								g.run(script, today, 1+g.r.IntN(1400))
							}
							did = append(did, fmt.Sprintf("new runs of %d on day %d", script, today))
						case op == 4: // a late run in the middle
							d := g.r.IntN(today)
							g.run(int64(1+g.r.IntN(3)), d, g.r.IntN(1440))
							did = append(did, fmt.Sprintf("late run on day %d", d))
						case op == 5: // a duration rewritten
							id := g.someRun()
							g.rewrite(id, func(r *transform.SourceRun) { r.Duration.Float64 *= 1.5 + g.r.Float64() })
							did = append(did, fmt.Sprintf("run %d rewritten", id))
						case op == 6 || op == 7: // moved to another day and script
							did = append(did, g.moveSomeRun())
						default: // deletes, found by the backfill below
							for range 1 + g.r.IntN(5) {
								delete(g.src.runs, g.someRun())
							}
							did = append(did, "deletes")
						}
					}
					backfill := slices.Contains(did, "deletes")
					from, to := transform.DayOf(g.start, time.UTC)-60, transform.DayOf(g.start, time.UTC)+transform.Day(today+60)
					passOf := func(j *Job) error {
						var sum Summary
						var err error
						if backfill {
							sum, err = j.Backfill(ctx, from, to)
						} else {
							sum, err = j.Run(ctx, RunOptions{})
						}
						quietSeries += sum.Detect.QuietSeries
						notQuiet += sum.Detect.NotQuiet
						tails += sum.Detect.Tails
						rereads += sum.Detect.Rereads
						return err
					}
					stage := fmt.Sprintf("pass %d (%s)", pass, strings.Join(did, ", "))
					if g.r.IntN(3) == 0 { // killed somewhere, then more runs, then a whole pass
						crash := 1 + g.r.IntN(12)
						if err := passOf(job(crash)); err != nil && !errors.Is(err, errCrash) {
							t.Fatal(err)
						}
						g.run(int64(1+g.r.IntN(3)), today, 1+g.r.IntN(1400))
						stage += fmt.Sprintf(", killed at crash window %d, one more run", crash)
					}
					before := sink.changeRunsRead
					if err := passOf(job(0)); err != nil {
						t.Fatalf("%s: %v", stage, err)
					}
					checkChanges(t, stage, g.src, sink, opt)
					if !backfill && sink.changeRunsRead-before < len(g.src.runs)/2 {
						bounded++
					}
				}
				if bounded == 0 {
					t.Fatal("no pass read less than half the runs: the recompute was never bounded")
				}
				// Chunks of one or two scripts, or every script (4 or more)
				// in one read.
				if n := sink.storedChangesIDs; (chunk > 0 && n != chunk) || (chunk == 0 && n < 4) {
					t.Fatalf("at most %d scripts in one read of the stored change points (chunks of %d)", n, chunk)
				}
				t.Logf("series kept by their quiet mark %d, series recomputed in quiet mode %d, scripts read from their change tail %d, rereads %d", quietSeries, notQuiet, tails, rereads)
				// Other options (a wider window) and nothing new at the
				// source: every script is recomputed with them.
				wider := opt
				wider.Window++
				j := fakeJob(g.src, sink, "")
				j.ChangeOptions, j.changeScriptsChunk = &wider, chunk
				if _, err := j.Run(ctx, RunOptions{}); err != nil {
					t.Fatal(err)
				}
				checkChanges(t, "a pass with a wider window", g.src, sink, wider)
			})
		}
	}
}

// TestReadFromPlansEachSeries: the start day is the latest that holds, by
// the counts, 2r values of every series before the first changed day — a
// rare step reaches further back than the runs — or the series' first day.
func TestReadFromPlansEachSeries(t *testing.T) {
	c := func(day transform.Day, runs uint64, steps ...uint64) load.DayCounts {
		d := load.DayCounts{Day: day, Runs: runs}
		for i, n := range steps {
			d.StepIndex, d.StepSuccess = append(d.StepIndex, int32(i)), append(d.StepSuccess, n)
		}
		return d
	}
	counts := []load.DayCounts{c(1, 10, 10, 1), c(2, 10, 10, 0), c(3, 10, 10, 1), c(4, 10, 10, 0), c(5, 10, 10, 5), c(6, 10, 10, 0)}
	// r = 5: 10 values before day 6. Runs and step 0: day 5 holds 10.
	// Step 1: 5 on day 5, 1 on day 3, 1 on day 1, then no more: day 1.
	if got := readFrom(counts, 6, needBefore(counts, 6, 5)); got != 1 {
		t.Fatalf("start day %d, want 1 (the rare step's first day)", got)
	}
	counts[0].StepSuccess[1] = 0
	counts[2].StepSuccess[1] = 5
	if got := readFrom(counts, 6, needBefore(counts, 6, 5)); got != 3 {
		t.Fatalf("start day %d, want 3 (5 + 5 values of the rare step)", got)
	}
	// Extending a short read: step 0 needs 15 more before day 5.
	if got := readFrom(counts, 5, map[int32]int{0: 15}); got != 3 {
		t.Fatalf("extended start day %d, want 3", got)
	}
	// Nothing before the first changed day: read from it.
	if got := readFrom(counts, 1, needBefore(counts, 1, 5)); got != 1 {
		t.Fatalf("start day %d, want 1", got)
	}
}

// TestQuietMarksKeepChangePoints: long calm scripts get new runs pass after
// pass — now and then with a planted shift, a late run, a rewrite, a
// delete found by a backfill, or a pass killed at a random crash window —
// and after every completed pass the stored change points equal the
// definition, while most passes keep most series by their quiet marks
// (checked: the quiet path is taken, and so is the way out of it).
func TestQuietMarksKeepChangePoints(t *testing.T) {
	ctx := context.Background()
	for name, opt := range localOptions(t) {
		t.Run(name, func(t *testing.T) {
			var quiet, notQuiet int64
			for seed := range uint64(3) {
				g := newDetectStory(100 + seed)
				for _, script := range []int64{5, 6} {
					g.calm[script] = true
					g.days(script, 0, 30, 30)
				}
				sink := newFakeSink()
				// Scripts in chunks of the default size, of one, of two
				// (detectChanges).
				chunk := int(seed % 3)
				job := func(crashAfter int) *Job {
					j := crashingJob(g.src, sink, opt, crashAfter)
					j.changeScriptsChunk = chunk
					return j
				}
				if _, err := job(0).Run(ctx, RunOptions{}); err != nil {
					t.Fatal(err)
				}
				checkChanges(t, "first load", g.src, sink, opt)
				today := 30
				for pass := range 24 {
					script := int64(5 + g.r.IntN(2))
					did := fmt.Sprintf("new runs of %d", script)
					if g.r.IntN(3) == 0 {
						today++
					}
					if g.r.IntN(8) == 0 { // a planted shift from here on
						lv := g.levels[script]
						for i := range lv {
							lv[i] *= 1.6
						}
						did += ", shifted"
					}
					for range 1 + g.r.IntN(20) {
						g.run(script, today, 1+g.r.IntN(1400))
					}
					backfill := false
					switch g.r.IntN(10) {
					case 0:
						d := g.r.IntN(today)
						g.run(script, d, g.r.IntN(1440))
						did += fmt.Sprintf(", a late run on day %d", d)
					case 1:
						id := g.someRun()
						g.rewrite(id, func(r *transform.SourceRun) { r.Duration.Float64 *= 3 })
						did += fmt.Sprintf(", run %d rewritten", id)
					case 2:
						delete(g.src.runs, g.someRun())
						did, backfill = did+", a delete", true
					}
					passOf := func(j *Job) error {
						var sum Summary
						var err error
						if backfill {
							from := transform.DayOf(g.start, time.UTC) - 1
							sum, err = j.Backfill(ctx, from, from+transform.Day(today+2))
						} else {
							sum, err = j.Run(ctx, RunOptions{})
						}
						quiet += sum.Detect.QuietSeries
						notQuiet += sum.Detect.NotQuiet
						return err
					}
					stage := fmt.Sprintf("seed %d pass %d (%s)", seed, pass, did)
					if g.r.IntN(4) == 0 {
						crash := 1 + g.r.IntN(12)
						if err := passOf(job(crash)); err != nil && !errors.Is(err, errCrash) {
							t.Fatal(err)
						}
						g.run(script, today, 1+g.r.IntN(1400))
						stage += fmt.Sprintf(", killed at crash window %d, one more run", crash)
					}
					if err := passOf(job(0)); err != nil {
						t.Fatalf("%s: %v", stage, err)
					}
					checkChanges(t, stage, g.src, sink, opt)
				}
			}
			t.Logf("series kept by their quiet mark %d, series recomputed in quiet mode %d", quiet, notQuiet)
			if quiet == 0 || notQuiet == 0 {
				t.Fatalf("quiet %d, not quiet %d: the test must take both ways", quiet, notQuiet)
			}
		})
	}
}

// TestReadPartsBoundTheRunsOfARead: scripts read from the same day are
// asked for in reads of at most maxReadRuns counted runs, in order, never
// splitting a script (one bigger than the bound is a read of its own).
func TestReadPartsBoundTheRunsOfARead(t *testing.T) {
	counts := map[int64][]load.DayCounts{
		1: {{Day: 5, Runs: 300_000}, {Day: 9, Runs: 100_000}},
		2: {{Day: 4, Runs: 900_000}, {Day: 6, Runs: 150_000}}, // 150k from day 5
		3: {{Day: 7, Runs: 600_000}},
		4: {{Day: 8, Runs: 10}},
	}
	got := readParts([]int64{1, 2, 3, 4}, counts, 5)
	want := [][]int64{{1}, {2}, {3}, {4}} // 400k + 150k > 500k; 600k alone; then 10
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("parts %v, want %v", got, want)
	}
	counts[1][0].Runs = 200_000
	if got := fmt.Sprint(readParts([]int64{1, 2, 3, 4}, counts, 5)); got != "[[1 2] [3] [4]]" {
		t.Fatalf("parts %s, want [[1 2] [3] [4]] (300k + 150k, then 600k alone, then 10)", got)
	}
	if got := fmt.Sprint(readParts([]int64{4}, nil, 0)); got != "[[4]]" {
		t.Fatalf("no counts: parts %s, want one read", got)
	}
}

// TestReadPlanLeavesStepOfRunSeriesKeyOut: a step whose index is the run
// series' key (load.RunSeries) has no series, so its successes plan no read
// of the run series: on a day of failed runs whose step −2147483648
// succeeded, the run series has no value. Worked by hand: 2r = 4 values
// wanted before day 3, 3 success runs on day 2, none on day 1.
func TestReadPlanLeavesStepOfRunSeriesKeyOut(t *testing.T) {
	d1 := transform.DayFromDate(2026, time.November, 1)
	counts := []load.DayCounts{
		{Day: d1, Runs: 0, StepIndex: []int32{load.RunSeries, 0}, StepSuccess: []uint64{5, 0}},
		{Day: d1 + 1, Runs: 3, StepIndex: []int32{load.RunSeries, 0}, StepSuccess: []uint64{3, 3}},
		{Day: d1 + 2, Runs: 2, StepIndex: []int32{0}, StepSuccess: []uint64{2}},
	}
	need := needBefore(counts, d1+2, 2)
	if !reflect.DeepEqual(need, map[int32]int{load.RunSeries: 4, 0: 4}) {
		t.Fatalf("needBefore: %v", need)
	}
	if from := readFrom(counts, d1+2, map[int32]int{load.RunSeries: 4}); from != d1+1 {
		t.Errorf("readFrom: %v, want %v (day 1 has no value of the run series)", from, d1+1)
	}
	if before := seriesBefore(counts, d1+1); len(before) != 0 {
		t.Errorf("seriesBefore day 2: %v, want none", before)
	}
}
