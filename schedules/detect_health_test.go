package schedules

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// Step health from per-day summaries against the definition, on the fakes:
// random histories go through random passes — new runs at the end (some
// after as-of), late runs in old days of the window, rewritten statuses,
// moves between days and scripts, deletes found by a backfill, passes
// killed at a random crash window, summary writes lost, and the clock
// moving on by hours so that days leave the window — and after every completed pass the stored
// step health equals, for every script, the classification of its
// source runs of the window (scriptHealth: SummarizeExecutions over every
// execution, independent of the summaries and their composition).

// wholeHealth is the step health of every script of the source as of asOf.
func wholeHealth(src *fakeSource, asOf time.Time, loc *time.Location) map[load.SeriesKey]load.HealthRow {
	by := map[int64][]transform.Run{}
	for _, sr := range src.runs {
		r, _, ok := transform.Normalize(sr, loc, transform.DefaultLimits)
		if ok && r.Class != transform.StatusUnfinished {
			by[r.ScriptID] = append(by[r.ScriptID], r)
		}
	}
	out := map[load.SeriesKey]load.HealthRow{}
	for id, runs := range by {
		slices.SortFunc(runs, func(a, b transform.Run) int {
			return cmp.Or(a.OrderedAt.Compare(b.OrderedAt), cmp.Compare(a.ID, b.ID))
		})
		rows, _ := scriptHealth(id, runs, asOf, loc)
		for _, r := range rows {
			out[r.Step] = r
		}
	}
	return out
}

func checkHealthRows(t *testing.T, stage string, src *fakeSource, sink *fakeSink, loc *time.Location) int {
	t.Helper()
	asOf := sink.state.LastPassAt
	want := wholeHealth(src, asOf, loc)
	got := map[load.SeriesKey]load.HealthRow{}
	for k, h := range sink.health {
		if !h.deleted {
			got[k] = h.row
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(want), func(a, b load.SeriesKey) int {
		return cmp.Or(cmp.Compare(a.ScriptID, b.ScriptID), cmp.Compare(a.StepIndex, b.StepIndex))
	}) {
		g, ok := got[k]
		if !ok {
			t.Fatalf("%s: step %+v has no health row (as of %v); want %+v", stage, k, asOf, want[k])
		}
		if !reflect.DeepEqual(g, want[k]) {
			t.Fatalf("%s: step %+v as of %v:\n got  %+v\n want %+v", stage, k, asOf, g, want[k])
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Fatalf("%s: step %+v has a health row, none by the definition: %+v", stage, k, g)
		}
	}
	return len(want)
}

// TestHealthFromDaySummariesMatchesDefinition: see the top of this file.
// In Goose Bay the history holds 2010-11-07, when the clocks went from
// 00:01 −03 back to 23:01 −04 of the 6th: runs in that minute of the 7th
// and in the hour of the 6th that came back make the two days' spans
// overlap, and the 6th's summary cannot be used.
func TestHealthFromDaySummariesMatchesDefinition(t *testing.T) {
	ctx := context.Background()
	goose, err := time.LoadLocation("America/Goose_Bay")
	if err != nil {
		t.Fatal(err)
	}
	zones := []struct {
		name  string
		loc   *time.Location
		clock time.Time // the source's clock at the start
	}{
		{"UTC", time.UTC, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"America/Goose_Bay", goose, time.Date(2010, 11, 14, 12, 0, 0, 0, time.UTC)},
	}
	for _, z := range zones {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("%s/seed %d", z.name, seed), func(t *testing.T) {
				g := newDetectStory(seed + 100)
				g.src.clock = z.clock
				g.start = z.clock.Add(-20 * 24 * time.Hour).Truncate(24 * time.Hour)
				for script := int64(1); script <= 3; script++ {
					g.days(script, 0, 20, 4+int(script)*2)
				}
				// The day whose runs are kept out of the hour that came back.
				var backDay int
				if z.loc != time.UTC {
					// Around the fall-back over midnight: 00:00:10 −03 on
					// the 7th, then 23:20 and 23:40 −04 on the 6th; failed
					// runs of failed steps, so that no duration series
					// holds them (change detection wants a series' days in
					// time order, which these are not).
					back := time.Date(2010, 11, 7, 3, 0, 10, 0, time.UTC)
					backDay = int(back.Sub(g.start) / (24 * time.Hour))
					for _, d := range []time.Duration{0, 20 * time.Minute, 40 * time.Minute} {
						for script := int64(1); script <= 2; script++ {
							at := back.Add(d)
							g.src.runs[g.next] = transform.SourceRun{ID: g.next, ScriptID: script, Status: "failed",
								StartedAt: transform.NullTime{Time: at, Valid: true}, CreatedAt: at, UpdatedAt: g.src.tick(),
								Steps: []byte(`[{"index":0,"name":"step 0","status":"failed","error":"over midnight"}]`)}
							g.next++
						}
					}
				}
				sink := newFakeSink()
				// A fifth of the summary writes lost: older summaries stay
				// behind rewritten groups, and must not be taken.
				sink.loseHealthDays = func() bool { return g.r.IntN(5) == 0 }
				job := func(crashAfter int) *Job {
					j := crashingJob(g.src, sink, transform.DefaultChangeOptions(), crashAfter)
					j.Zone, j.ZoneName = z.loc, z.name
					return j
				}
				var summarized, read int64
				passOf := func(j *Job, backfill bool) error {
					var sum Summary
					var err error
					if backfill {
						day := transform.DayOf(g.start, z.loc)
						sum, err = j.Backfill(ctx, day-30, day+60)
					} else {
						sum, err = j.Run(ctx, RunOptions{})
					}
					summarized += sum.Detect.HealthDaysSummarized
					read += sum.Detect.HealthDaysRead
					return err
				}
				if err := passOf(job(0), false); err != nil {
					t.Fatal(err)
				}
				if n := checkHealthRows(t, "first load", g.src, sink, z.loc); n == 0 {
					t.Fatal("no step health at all")
				}
				today := 20
				quiet := 0
				for pass := range 16 {
					var did []string
					hours := g.r.IntN(20)
					g.src.clock = g.src.clock.Add(time.Duration(hours) * time.Hour)
					did = append(did, fmt.Sprintf("clock +%d h", hours))
					for range g.r.IntN(4) {
						switch op := g.r.IntN(10); {
						case op < 4: // new runs at the end, some after as-of
							if g.r.IntN(3) == 0 {
								today++
							}
							script := int64(1 + g.r.IntN(3))
							for range 1 + g.r.IntN(8) {
								g.run(script, today, g.r.IntN(1440))
							}
							did = append(did, fmt.Sprintf("new runs of %d on day %d", script, today))
						case op == 4: // a late run in an old day of the window
							d := 5 + g.r.IntN(today-5)
							if backDay > 0 && d == backDay {
								d++ // not into the hour that came back (see above)
							}
							g.run(int64(1+g.r.IntN(3)), d, g.r.IntN(1440))
							did = append(did, fmt.Sprintf("late run on day %d", d))
						case op == 5: // a status rewritten
							id := g.someRun()
							g.rewrite(id, func(r *transform.SourceRun) {
								r.Steps = []byte(strings.ReplaceAll(string(r.Steps), `"success"`, `"failed"`))
							})
							did = append(did, fmt.Sprintf("run %d's steps failed", id))
						case op == 6 || op == 7: // moved to another day and script
							did = append(did, g.moveSomeRun())
						default: // deletes, found by the backfill below
							for range 1 + g.r.IntN(4) {
								delete(g.src.runs, g.someRun())
							}
							did = append(did, "deletes")
						}
					}
					backfill := slices.Contains(did, "deletes")
					stage := fmt.Sprintf("pass %d (%s)", pass, strings.Join(did, ", "))
					if g.r.IntN(3) == 0 { // killed somewhere, then more runs, then a whole pass
						crash := 1 + g.r.IntN(12)
						if err := passOf(job(crash), backfill); err != nil && !errors.Is(err, errCrash) {
							t.Fatal(err)
						}
						g.run(int64(1+g.r.IntN(3)), today, g.r.IntN(1440))
						stage += fmt.Sprintf(", killed at crash window %d, one more run", crash)
					}
					before := sink.healthRunsRead
					if err := passOf(job(0), backfill); err != nil {
						t.Fatalf("%s: %v", stage, err)
					}
					checkHealthRows(t, stage, g.src, sink, z.loc)
					if !backfill && sink.healthRunsRead-before <= 3*2 {
						quiet++
					}
				}
				if summarized == 0 || quiet == 0 {
					t.Fatalf("days taken from summaries %d, passes reading ≤ 2 days a script %d: the summaries were never used", summarized, quiet)
				}
				t.Logf("days taken from summaries %d, read run by run %d; passes reading ≤ 2 days a script: %d of 16", summarized, read, quiet)
			})
		}
	}
}
