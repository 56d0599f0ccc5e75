package load_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// TestSeriesCountsOfStoredGroups: the counts are those of each live group
// as FINAL keeps it — a rewritten group's newest version, a deleted group
// left out — success runs, successes per step (attempts − failures) in the
// group's step order, and the group's version; only the scripts asked for.
func TestSeriesCountsOfStoredGroups(t *testing.T) {
	_, sink := migrated(t)
	ctx := context.Background()
	d0 := transform.DayFromDate(2026, 11, 1)
	group := func(script int64, day transform.Day, success uint64, steps ...uint64) load.Group {
		g := load.Group{Key: transform.GroupKey{ScriptID: script, Day: day}, HasDay: true,
			Day: transform.ScriptDay{ScriptID: script, Day: day, Total: success + 1, Success: success, Failed: 1}}
		for i := 0; i+3 <= len(steps); i += 3 { // index, attempts, failures
			g.Steps = append(g.Steps, transform.StepDay{ScriptID: script, Day: day, StepIndex: int32(int64(steps[i])),
				Attempts: steps[i+1], Failures: steps[i+2]})
		}
		return g
	}
	neg := uint64(1<<64 - 3) // step −3, as uint64 bits
	if err := sink.WriteGroups(ctx, []load.Group{
		group(7, d0, 5, 0, 6, 1, neg, 4, 4),
		group(7, d0+2, 3),
		group(7, d0-40, 9, 2, 9, 0),
		group(8, d0, 1, 0, 1, 0),
		group(9, d0, 2),
	}, 10); err != nil {
		t.Fatal(err)
	}
	gone := group(7, d0+2, 0)
	gone.HasDay = false
	if err := sink.WriteGroups(ctx, []load.Group{group(7, d0, 6, 0, 8, 2), gone}, 12); err != nil {
		t.Fatal(err)
	}
	got, err := sink.SeriesCounts(ctx, []int64{7, 8, 42})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64][]load.DayCounts{
		7: {{Day: d0 - 40, Runs: 9, StepIndex: []int32{2}, StepSuccess: []uint64{9}, Version: 10},
			{Day: d0, Runs: 6, StepIndex: []int32{0}, StepSuccess: []uint64{6}, Version: 12}},
		8: {{Day: d0, Runs: 1, StepIndex: []int32{0}, StepSuccess: []uint64{1}, Version: 10}},
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// Before the rewrite, the first version's steps: −3 kept (0 successes).
	if err := sink.WriteGroups(ctx, []load.Group{group(8, d0+1, 4, neg, 4, 4, 1, 2, 1)}, 13); err != nil {
		t.Fatal(err)
	}
	got, err = sink.SeriesCounts(ctx, []int64{8})
	if err != nil {
		t.Fatal(err)
	}
	want = map[int64][]load.DayCounts{8: {{Day: d0, Runs: 1, StepIndex: []int32{0}, StepSuccess: []uint64{1}, Version: 10},
		{Day: d0 + 1, Runs: 4, StepIndex: []int32{-3, 1}, StepSuccess: []uint64{0, 1}, Version: 13}}}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}
