package transform

import "sort"

// LinkGroups chooses the groups a pass reads and rewrites to keep each
// counted run's previous counted run exact (the run_links table behind the
// run_vs_previous view).
//
// A run's previous counted run is the latest counted run of its script
// before it in (ordered_at, run id) order. The day of a run is the day of
// its ordered_at, so every counted run of an earlier day of the script comes
// before it: the previous run is in the run's own group or in the script's
// latest earlier day that has counted runs.
//
// journaled are the groups the pass changed (their runs may have been
// added, moved, deleted or re-classified); settled are the groups of the
// same scripts known to hold counted runs and not journaled (their figures
// are those of the last completed pass, so exact). Then:
//
//   - read: every journaled group, and for each one the nearest settled
//     group of the script before it and after it. Every run of a journaled
//     group, and every run of such a following group, has its previous run
//     inside read (the groups in between are journaled or have no counted
//     run);
//   - emit: the journaled groups and the following settled groups — the
//     runs whose previous run may have changed. The first runs of a
//     preceding settled group are not emitted: their own previous run may
//     lie outside read.
//
// Both are returned sorted by script, then day.
func LinkGroups(journaled, settled []GroupKey) (read, emit []GroupKey) {
	j := sortedKeys(journaled)
	isJournaled := make(map[GroupKey]bool, len(j))
	for _, k := range j {
		isJournaled[k] = true
	}
	byScript := map[int64][]Day{}
	for _, k := range settled {
		if !isJournaled[k] {
			byScript[k.ScriptID] = append(byScript[k.ScriptID], k.Day)
		}
	}
	for _, days := range byScript {
		sort.Slice(days, func(a, b int) bool { return days[a] < days[b] })
	}
	readSet := make(map[GroupKey]bool, len(j)*3)
	emitSet := make(map[GroupKey]bool, len(j)*2)
	for _, k := range j {
		readSet[k], emitSet[k] = true, true
		days := byScript[k.ScriptID]
		i := sort.Search(len(days), func(i int) bool { return days[i] > k.Day })
		if i > 0 {
			readSet[GroupKey{ScriptID: k.ScriptID, Day: days[i-1]}] = true
		}
		if i < len(days) {
			next := GroupKey{ScriptID: k.ScriptID, Day: days[i]}
			readSet[next], emitSet[next] = true, true
		}
	}
	return keysOf(readSet), keysOf(emitSet)
}

func keysOf(set map[GroupKey]bool) []GroupKey {
	out := make([]GroupKey, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	return sortedKeys(out)
}

func sortedKeys(keys []GroupKey) []GroupKey {
	out := append([]GroupKey(nil), keys...)
	sort.Slice(out, func(a, b int) bool {
		if out[a].ScriptID != out[b].ScriptID {
			return out[a].ScriptID < out[b].ScriptID
		}
		return out[a].Day < out[b].Day
	})
	return out
}
