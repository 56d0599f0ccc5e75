package demodata

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

// storyRun is one success run of a script: its order key and duration.
type storyRun struct {
	at  time.Time
	id  int64
	dur float64
}

// successSeries generates opt's history without a database and returns
// the duration series of script id as contract 2b defines it (its success
// runs with a finite, non-negative duration, ordered by
// coalesce(started_at, created_at), then id), with each run's UTC day.
func successSeries(t *testing.T, opt Options, script int64) (at []time.Time, values []float64, days []transform.Day) {
	t.Helper()
	if err := opt.normalize(); err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(opt)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var runs []storyRun
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		w := p.newWorker(context.Background(), &next, func(int64) {})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w.Next() {
				row, _ := w.Values()
				if row[1] != script || row[2] != "success" || row[5] == nil {
					continue
				}
				d, ok := row[5].(float64)
				if !ok || math.IsNaN(d) || math.IsInf(d, 0) || d < 0 {
					continue
				}
				ts := row[10].(time.Time)
				if s, ok := row[3].(time.Time); ok {
					ts = s
				}
				mu.Lock()
				runs = append(runs, storyRun{ts, row[0].(int64), d})
				mu.Unlock()
			}
			if w.Err() != nil {
				t.Error(w.Err())
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(runs, func(a, b storyRun) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	for _, r := range runs {
		at = append(at, r.at)
		values = append(values, r.dur)
		days = append(days, transform.Day(r.at.Unix()/86400))
	}
	return at, values, days
}

// TestDemoShiftStoryDetected: the demo's history (`make demo`: 600k runs,
// 120 scripts, 90 days, --detection-stories) plants a +50 % shift of one
// whole script (≈ 80 success runs a day) from a known day. DetectChanges
// with the job's defaults must flag it: a slower change point within a day
// of the shift, with a ratio near 1.5, and no other change of that series
// (nothing else is planted in it).
func TestDemoShiftStoryDetected(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the 600k-run demo history (seconds); skipped with -short")
	}
	opt := DefaultOptions(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	opt.DetectionStories = true
	p, err := newPlan(opt)
	if err != nil {
		t.Fatal(err)
	}
	shift := p.summary().Stories.Shift
	if shift == nil {
		t.Fatal("no shift story")
	}
	at, values, days := successSeries(t, opt, shift.ScriptID)
	if f := os.Getenv("SCRIPTSTATS_DUMP_STORY"); f != "" {
		out, _ := os.Create(f)
		for i := range values {
			fmt.Fprintf(out, "%d %g %d\n", at[i].UnixMicro(), values[i], days[i])
		}
		out.Close()
	}
	first, _ := slices.BinarySearchFunc(at, shift.From, func(a, b time.Time) int { return a.Compare(b) })
	t.Logf("%s: %d success runs, shift from %s at position %d", shift.ScriptName, len(values), shift.From, first)
	cps, err := transform.DetectChanges(values, days, transform.DefaultChangeOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("change points: %+v", cps)
	found := false
	for _, c := range cps {
		near := at[c.Index].Sub(shift.From).Abs() <= 24*time.Hour
		if near && c.Direction == transform.Slower && c.Ratio >= 1.35 && c.Ratio <= 1.65 {
			found = true
		} else {
			t.Errorf("change point at %d (%s) is not the planted shift: %+v", c.Index, at[c.Index], c)
		}
	}
	if !found {
		t.Errorf("the planted +50 %% shift from %s (position %d) is not found", shift.From, first)
	}
}
