package transform

import (
	"cmp"
	"slices"
)

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
	// Sorted slices and binary searches, no maps: a first load journals
	// every group of the history (680,000 for 5,000 scripts over a year),
	// where maps and a reflective sort cost seconds.
	j := sortedKeys(journaled)
	s := make([]GroupKey, 0, len(settled))
	for _, k := range settled {
		if _, found := slices.BinarySearchFunc(j, k, CompareGroupKeys); !found {
			s = append(s, k)
		}
	}
	s = sortedKeys(s)
	read = make([]GroupKey, 0, len(j)+min(len(s), 2*len(j)))
	emit = make([]GroupKey, 0, len(j)+min(len(s), len(j)))
	for _, k := range j {
		read, emit = append(read, k), append(emit, k)
		// The first settled group after k: the same script's next one, if
		// any; the one before it is the script's previous one, if any.
		i, _ := slices.BinarySearchFunc(s, k, CompareGroupKeys)
		if i > 0 && s[i-1].ScriptID == k.ScriptID {
			read = append(read, s[i-1])
		}
		if i < len(s) && s[i].ScriptID == k.ScriptID {
			read, emit = append(read, s[i]), append(emit, s[i])
		}
	}
	return sortedKeys(read), sortedKeys(emit)
}

// CompareGroupKeys orders groups by script, then day (for slices.SortFunc
// and slices.BinarySearchFunc).
func CompareGroupKeys(a, b GroupKey) int {
	switch {
	case a.ScriptID != b.ScriptID:
		return cmp.Compare(a.ScriptID, b.ScriptID)
	default:
		return cmp.Compare(a.Day, b.Day)
	}
}

// sortedKeys returns the distinct keys, sorted by script, then day (keys
// is not changed).
func sortedKeys(keys []GroupKey) []GroupKey {
	out := slices.Clone(keys)
	slices.SortFunc(out, CompareGroupKeys)
	return slices.Compact(out)
}
