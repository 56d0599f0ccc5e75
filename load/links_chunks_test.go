package load

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

// TestRelinkInChunksOfRuns relinks more groups than one statement takes,
// cut by the runs they hold into many chunks, on a real ClickHouse, and
// compares every row of run_vs_previous with the definition computed here
// from the runs written: each counted run with the previous counted run of
// its script in (ordered_at, run id) order, and the smallest step index
// whose status differs (a step in one run only differs).
func TestRelinkInChunksOfRuns(t *testing.T) {
	defer func(g, c int, r uint64) { linkChunkGroups, linkCountGroups, linkChunkRuns = g, c, r }(linkChunkGroups, linkCountGroups, linkChunkRuns)
	linkChunkGroups, linkCountGroups, linkChunkRuns = 100, 100, 400

	sink := migratedSink(t)
	ctx := context.Background()

	rng := rand.New(rand.NewPCG(3, 5))
	first := transform.DayFromDate(2026, 9, 1)
	statuses := []string{transform.StepSuccess, transform.StepFailed, transform.StepSkipped}
	mkRun := func(id, script int64, day transform.Day) transform.Run {
		at := day.Time().Add(time.Duration(rng.IntN(86400)) * time.Second)
		r := transform.Run{ID: id, ScriptID: script, Day: day, Status: "success", Class: transform.StatusSuccess,
			OrderedAt: at, StartedAt: transform.NullTime{Time: at, Valid: true}, CreatedAt: at, UpdatedAt: at,
			Duration: transform.NullFloat{Float64: float64(rng.IntN(100)), Valid: true}}
		switch rng.IntN(10) {
		case 0:
			r.Status, r.Class = "running", transform.StatusUnfinished
		case 1, 2:
			r.Status, r.Class = "failed", transform.StatusFailed
		}
		for i := range int32(rng.IntN(4)) {
			r.Steps = append(r.Steps, transform.Step{Index: i, Status: statuses[rng.IntN(3)]})
		}
		return r
	}
	runs := map[int64]transform.Run{}
	var batch []transform.Run
	var keys []transform.GroupKey
	id := int64(0)
	for script := int64(1); script <= 40; script++ {
		for day := first; day < first+60; day++ {
			if rng.IntN(3) == 0 {
				continue // sparse: no run that day
			}
			keys = append(keys, transform.GroupKey{ScriptID: script, Day: day})
			for range 1 + rng.IntN(3) {
				id++
				r := mkRun(id, script, day)
				runs[id], batch = r, append(batch, r)
			}
		}
	}
	if err := sink.WriteRuns(ctx, batch, nil, 1); err != nil {
		t.Fatal(err)
	}
	if err := sink.JournalGroups(ctx, keys, 1); err != nil {
		t.Fatal(err)
	}
	chunks := 0
	if _, err := sink.Relink(ctx, 0, 1, func() error { chunks++; return nil }); err != nil {
		t.Fatal(err)
	}
	// ~1,600 groups and ~3,200 rows: 100 groups would take 16 chunks, 400
	// runs ~8; whole scripts (~80 rows each) make it a few more.
	if chunks < 6 || chunks > 12 {
		t.Errorf("first relink in %d chunks, want 6..12 (cut by runs)", chunks)
	}
	checkLinks(t, sink, runs, "first relink")
	recomputeGroups(t, sink, 0, 1)

	// A later pass: runs added to old days of some scripts (the next day's
	// first run links to them), one moved to another day, new days. The
	// groups are journaled and relinked with their neighbours.
	var changed []transform.Run
	var gone []Location
	var touched []transform.GroupKey
	for script := int64(1); script <= 40; script += 3 {
		day := first + transform.Day(rng.IntN(60))
		id++
		r := mkRun(id, script, day)
		runs[id], changed, touched = r, append(changed, r), append(touched, r.Key())
		id++
		n := mkRun(id, script, first+60)
		runs[id], changed, touched = n, append(changed, n), append(touched, n.Key())
	}
	moved := runs[5]
	gone = append(gone, Location{RunID: moved.ID, Key: moved.Key()})
	touched = append(touched, moved.Key())
	moved.Day += 2
	moved.OrderedAt = moved.OrderedAt.Add(48 * time.Hour)
	moved.StartedAt.Time = moved.OrderedAt
	runs[moved.ID], changed, touched = moved, append(changed, moved), append(touched, moved.Key())
	if err := sink.WriteRuns(ctx, changed, gone, 2); err != nil {
		t.Fatal(err)
	}
	if err := sink.JournalGroups(ctx, touched, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := sink.Relink(ctx, 1, 2, nil); err != nil {
		t.Fatal(err)
	}
	checkLinks(t, sink, runs, "second relink")
}

// recomputeGroups writes the groups journaled after `after` as a pass's
// recompute does (the relink reads the settled groups from groups_state).
func recomputeGroups(t *testing.T, sink *Sink, after, version uint64) {
	t.Helper()
	var agg transform.Aggregator
	var out []Group
	_, err := sink.PendingGroups(context.Background(), after, func(key transform.GroupKey, runs []transform.Run) error {
		day, has, steps := agg.Aggregate(runs)
		if has {
			day.ScriptID, day.Day = key.ScriptID, key.Day
		}
		out = append(out, Group{Key: key, HasDay: has, Day: day, Steps: steps})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.WriteGroups(context.Background(), out, version); err != nil {
		t.Fatal(err)
	}
}

func checkLinks(t *testing.T, sink *Sink, runs map[int64]transform.Run, when string) {
	t.Helper()
	type link struct {
		prev      int64 // 0: none
		divergent int32 // -1: none
	}
	want := map[int64]link{}
	byScript := map[int64][]transform.Run{}
	for _, r := range runs {
		if r.Counted() {
			byScript[r.ScriptID] = append(byScript[r.ScriptID], r)
		}
	}
	for _, list := range byScript {
		slices.SortFunc(list, func(a, b transform.Run) int {
			if c := a.OrderedAt.Compare(b.OrderedAt); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
		for i, r := range list {
			l := link{divergent: -1}
			if i > 0 {
				p := list[i-1]
				l.prev = p.ID
				status := func(steps []transform.Step, idx int32) string {
					for _, s := range steps {
						if s.Index == idx {
							return s.Status
						}
					}
					return ""
				}
				for idx := int32(0); idx < 4; idx++ {
					if status(r.Steps, idx) != status(p.Steps, idx) {
						l.divergent = idx
						break
					}
				}
			}
			want[r.ID] = l
		}
	}
	rows, err := sink.conn.Query(context.Background(),
		"SELECT run_id, ifNull(previous_run_id, 0), ifNull(first_divergent_step, -1) FROM run_vs_previous")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int64]link{}
	for rows.Next() {
		var runID int64
		var l link
		if err := rows.Scan(&runID, &l.prev, &l.divergent); err != nil {
			t.Fatal(err)
		}
		if _, dup := got[runID]; dup {
			t.Errorf("%s: run %d twice in run_vs_previous", when, runID)
		}
		got[runID] = l
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d rows in run_vs_previous, want %d (the counted runs)", when, len(got), len(want))
	}
	bad := 0
	for id, w := range want {
		if g, ok := got[id]; !ok || g != w {
			if bad++; bad <= 5 {
				t.Errorf("%s: run %d: got %+v (present %v), want %+v", when, id, g, ok, w)
			}
		}
	}
}
