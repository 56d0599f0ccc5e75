package schedules

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scriptstats/scriptstats/transform"
)

var errCrash = errors.New("crashed at a failpoint")

// fakeJob is a job on the fakes; crashAt, when set, fails the pass at the
// first crash window of that name.
func fakeJob(src *fakeSource, sink *fakeSink, crashAt string) *Job {
	now := time.Unix(1_800_000_000, 0)
	var clock sync.Mutex // detection reads it from two goroutines
	j := &Job{Source: src, Sink: sink, Zone: time.UTC, ZoneName: "UTC", Limits: transform.DefaultLimits,
		BatchSize: 7, Log: zerolog.Nop(), Now: func() time.Time {
			clock.Lock()
			defer clock.Unlock()
			now = now.Add(time.Millisecond)
			return now
		}}
	j.Failpoint = func(_ context.Context, name string) error {
		if name == crashAt {
			return errCrash
		}
		return nil
	}
	return j
}

var day0 = time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC)

func seedSource() *fakeSource {
	src := newFakeSource()
	for id := int64(1); id <= 60; id++ {
		status := "success"
		if id%5 == 0 {
			status = "failed"
		}
		src.put(id, 1+id%4, status, day0.Add(time.Duration(id%6)*24*time.Hour+time.Duration(id)*time.Minute), float64(id))
	}
	return src
}

// move sets runs' script and start day as a writer would.
func (s *fakeSource) move(ids []int64, script int64, days int) {
	for _, id := range ids {
		r := s.runs[id]
		s.put(id, script, r.Status, r.StartedAt.Time.Add(time.Duration(days)*24*time.Hour), r.Duration.Float64)
	}
}

// checkExact wants the sink to hold every source run once, at its place,
// and every group equal to the aggregate of its source runs.
func checkExact(t *testing.T, stage string, src *fakeSource, sink *fakeSink) {
	t.Helper()
	want := map[transform.GroupKey][]transform.Run{}
	for _, sr := range src.runs {
		r, _, ok := transform.Normalize(sr, time.UTC, transform.DefaultLimits)
		if !ok {
			continue
		}
		want[r.Key()] = append(want[r.Key()], r)
		var live []transform.GroupKey
		for k, row := range sink.runs {
			if k.run == sr.ID && !row.deleted {
				live = append(live, k.key)
			}
		}
		if len(live) != 1 || live[0] != r.Key() {
			t.Fatalf("%s: run %d live at %v, want once at %v", stage, sr.ID, live, r.Key())
		}
	}
	for k, row := range sink.runs {
		if _, ok := src.runs[k.run]; !ok && !row.deleted {
			t.Fatalf("%s: run %d is live in the sink, not in the source", stage, k.run)
		}
	}
	for k, g := range sink.groups {
		runs := want[k]
		slices.SortFunc(runs, func(a, b transform.Run) int { return int(a.ID - b.ID) })
		day, has, steps := transform.Aggregate(runs)
		if has {
			day.ScriptID, day.Day = k.ScriptID, k.Day
		}
		if g.group.HasDay != has || (has && !reflect.DeepEqual(g.group.Day, day)) || !reflect.DeepEqual(g.group.Steps, steps) {
			t.Fatalf("%s: group %v is %+v, want %+v %+v", stage, k, g.group, day, steps)
		}
	}
	for k := range want {
		if _, ok := sink.groups[k]; !ok {
			t.Fatalf("%s: group %v missing", stage, k)
		}
	}
}

// TestPassOrder: within a pass the sink is written journal → new places →
// runs → old places removed, batch after batch, then the groups and the run
// links (side by side), and the state last.
func TestPassOrder(t *testing.T) {
	src, sink := seedSource(), newFakeSink()
	ctx := context.Background()
	if _, err := fakeJob(src, sink, "").Run(ctx, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	checkExact(t, "first pass", src, sink)
	src.move([]int64{3, 7, 11, 19, 23}, 2, 1)
	sink.calls = nil
	sum, err := fakeJob(src, sink, "").Run(ctx, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.RunsMoved == 0 {
		t.Fatalf("no run moved: %+v", sum)
	}
	// The links are written beside the groups (pass.go, complete): either
	// may come first, both before the state.
	got := strings.Join(sink.calls, ", ")
	want := []string{
		"scripts, journal, add places, runs, remove places, groups, links, state",
		"scripts, journal, add places, runs, remove places, links, groups, state",
	}
	if got != want[0] && got != want[1] {
		t.Fatalf("writes of a pass with moves:\n got  %s\n want %s", got, strings.Join(want, "\n or   "))
	}
	checkExact(t, "after moves", src, sink)
}

// TestEveryCrashWindow: a pass that carries moves between days and scripts
// dies at each crash window; the source then moves runs back and further;
// the next pass leaves the sink exact. The same for a backfill that carries
// deletes.
func TestEveryCrashWindow(t *testing.T) {
	windows := []string{fpAfterLock, fpAfterJournal, fpAfterPlacesAdd, fpMidRunsInsert, fpAfterBatch, fpAfterExtract, fpBeforeState}
	ctx := context.Background()
	for _, fp := range windows {
		t.Run("incremental/"+fp, func(t *testing.T) {
			src, sink := seedSource(), newFakeSink()
			if _, err := fakeJob(src, sink, "").Run(ctx, RunOptions{}); err != nil {
				t.Fatal(err)
			}
			moved := []int64{2, 9, 14, 21, 33, 40, 41}
			src.move(moved, 3, 1)
			src.put(100, 4, "success", day0, 5)
			if _, err := fakeJob(src, sink, fp).Run(ctx, RunOptions{}); !errors.Is(err, errCrash) {
				t.Fatalf("the pass did not stop at %s: %v", fp, err)
			}
			src.move(moved[:4], 1, -1) // back to a day they were on, another script
			src.move(moved[4:], 2, 2)
			if _, err := fakeJob(src, sink, "").Run(ctx, RunOptions{}); err != nil {
				t.Fatal(err)
			}
			checkExact(t, "after a pass killed at "+fp, src, sink)
		})
		t.Run("backfill/"+fp, func(t *testing.T) {
			src, sink := seedSource(), newFakeSink()
			if _, err := fakeJob(src, sink, "").Run(ctx, RunOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []int64{4, 8, 15, 16, 42} {
				delete(src.runs, id)
			}
			src.move([]int64{5, 6}, 4, 1)
			from, to := transform.DayOf(day0, time.UTC)-1, transform.DayOf(day0, time.UTC)+10
			if _, err := fakeJob(src, sink, fp).Backfill(ctx, from, to); !errors.Is(err, errCrash) {
				t.Fatalf("the backfill did not stop at %s: %v", fp, err)
			}
			delete(src.runs, 17)
			src.move([]int64{5}, 1, -1)
			if _, err := fakeJob(src, sink, "").Backfill(ctx, from, to); err != nil {
				t.Fatal(err)
			}
			checkExact(t, fmt.Sprintf("after a backfill killed at %s", fp), src, sink)
		})
	}
}

// TestGroupBatches: a pass writes its groups 10,000 to an INSERT (each one
// a part the views read until it is merged), and 2,000 when faults are
// injected, so that the crash window between two batches is reached by a
// history of a few thousand groups.
func TestGroupBatches(t *testing.T) {
	src := newFakeSource()
	id := int64(1)
	for script := int64(1); script <= 25; script++ {
		for d := range 100 { // 2,500 groups
			src.put(id, script, "success", day0.Add(time.Duration(d)*24*time.Hour), 3)
			id++
		}
	}
	count := func(sink *fakeSink) int {
		n := 0
		for _, c := range sink.calls {
			if c == "groups" {
				n++
			}
		}
		return n
	}
	plain := newFakeSink()
	j := fakeJob(src, plain, "")
	j.Failpoint = nil
	if _, err := j.Run(context.Background(), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := count(plain); n != 1 {
		t.Errorf("2,500 groups without faults: %d group inserts, want 1", n)
	}
	faulty := newFakeSink()
	if _, err := fakeJob(src, faulty, "").Run(context.Background(), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := count(faulty); n != 2 {
		t.Errorf("2,500 groups with faults injected: %d group inserts, want 2", n)
	}
	checkExact(t, "faults injected", src, faulty)
	checkExact(t, "no faults", src, plain)
}
