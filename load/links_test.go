package load

import (
	"testing"

	"github.com/scriptstats/scriptstats/transform"
)

func TestRunsTableFor(t *testing.T) {
	var incremental, firstLoad []transform.GroupKey
	for s := int64(1); s <= 200; s++ { // every script's last two days
		incremental = append(incremental, transform.GroupKey{ScriptID: s, Day: 20000}, transform.GroupKey{ScriptID: s, Day: 20001})
	}
	for s := int64(1); s <= 16; s++ { // a first load's chunk: 16 scripts, 90 days
		for d := transform.Day(19911); d <= 20000; d++ {
			firstLoad = append(firstLoad, transform.GroupKey{ScriptID: s, Day: d})
		}
	}
	for _, c := range []struct {
		name   string
		groups []transform.GroupKey
		want   string
	}{
		{"200 scripts over 2 days", incremental, "runs_by_id"},
		{"16 scripts over 90 days", firstLoad, "runs_state"},
		{"one group", incremental[:1], "runs_by_id"},
	} {
		if got := runsTableFor(c.groups); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestRunsTableForWholeHistories(t *testing.T) {
	// A first load's chunk of many sparse scripts: 1,000 scripts, each with
	// runs on 136 of 365 days. More scripts than days, but whole histories:
	// runs_by_id would read every run of those days, of every script.
	var groups []transform.GroupKey
	for s := int64(1); s <= 1000; s++ {
		for d := transform.Day(19636 + s%3); d <= 20000; d += 3 {
			groups = append(groups, transform.GroupKey{ScriptID: s, Day: d})
		}
	}
	if got := runsTableFor(groups); got != "runs_state" {
		t.Errorf("1,000 whole histories: %s, want runs_state", got)
	}
}

func TestChunkEndByGroups(t *testing.T) {
	// Without counts: whole scripts up to linkChunkGroups groups.
	var keys []transform.GroupKey
	for s := int64(1); s <= 30; s++ {
		for d := transform.Day(1); d <= 100; d++ {
			keys = append(keys, transform.GroupKey{ScriptID: s, Day: d})
		}
	}
	if got := chunkEnd(keys, nil); got != 1500 {
		t.Errorf("30 scripts of 100 groups: first chunk %d groups, want 1500 (15 scripts)", got)
	}
	one := make([]transform.GroupKey, 2000)
	for i := range one {
		one[i] = transform.GroupKey{ScriptID: 7, Day: transform.Day(i)}
	}
	if got := chunkEnd(one, nil); got != 2000 {
		t.Errorf("one script of 2,000 groups: %d, want 2000 (never split)", got)
	}
}

// groupsOf is scripts 1..scripts with days 1..days each, every group
// holding runs runs.
func groupsOf(scripts int64, days transform.Day, runs uint64) (keys []transform.GroupKey, counts []uint64) {
	for s := int64(1); s <= scripts; s++ {
		for d := transform.Day(1); d <= days; d++ {
			keys, counts = append(keys, transform.GroupKey{ScriptID: s, Day: d}), append(counts, runs)
		}
	}
	return keys, counts
}

func TestChunkEndByRuns(t *testing.T) {
	for _, c := range []struct {
		name    string
		scripts int64
		days    transform.Day
		runs    uint64
		want    int
	}{
		// 100 groups of 2 runs a script: linkChunkMaxGroups / 100 = 2,000
		// scripts (200,000 groups), where the cut by groups took 15.
		{"5,000 sparse scripts", 5000, 100, 2, 200_000},
		// 100 groups of 50 runs a script: linkChunkRuns / 5,000 = 200
		// scripts (20,000 groups).
		{"busier scripts", 5000, 100, 50, 20_000},
		// 1,200,000 runs a script: each alone exceeds linkChunkRuns.
		{"dense scripts", 3, 10, 120_000, 10},
		// No runs at all: bounded by linkChunkMaxGroups (two scripts).
		{"empty groups", 3, 100_000, 0, 200_000},
	} {
		keys, runs := groupsOf(c.scripts, c.days, c.runs)
		if got := chunkEnd(keys, runs); got != c.want {
			t.Errorf("%s: first chunk %d groups, want %d", c.name, got, c.want)
		}
	}
}

func TestRunsOf(t *testing.T) {
	k := func(s int64, d transform.Day) transform.GroupKey { return transform.GroupKey{ScriptID: s, Day: d} }
	read := []transform.GroupKey{k(1, 5), k(1, 6), k(2, 1), k(2, 9), k(3, 3)}
	counted := []groupRuns{{k(1, 6), 11}, {k(2, 9), 4}}
	settled := []transform.GroupKey{k(3, 3), k(1, 5), k(2, 1)}
	settledRuns := []uint64{30, 50, 7}
	got := runsOf(read, counted, settled, settledRuns)
	want := []uint64{50, 11, 7, 4, 30}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("runsOf: %v, want %v", got, want)
		}
	}
}
