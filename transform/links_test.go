package transform

import (
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
)

func TestLinkGroups(t *testing.T) {
	k := func(s int64, d Day) GroupKey { return GroupKey{ScriptID: s, Day: d} }
	cases := []struct {
		name               string
		journaled, settled []GroupKey
		wantRead, wantEmit []GroupKey
	}{
		{
			name:      "a new day after settled days: read the day before, nothing after",
			journaled: []GroupKey{k(1, 10)},
			settled:   []GroupKey{k(1, 3), k(1, 7), k(1, 9)},
			wantRead:  []GroupKey{k(1, 9), k(1, 10)},
			wantEmit:  []GroupKey{k(1, 10)},
		},
		{
			name:      "a late run in the middle: the next settled day is re-emitted",
			journaled: []GroupKey{k(1, 5)},
			settled:   []GroupKey{k(1, 3), k(1, 7), k(1, 9)},
			wantRead:  []GroupKey{k(1, 3), k(1, 5), k(1, 7)},
			wantEmit:  []GroupKey{k(1, 5), k(1, 7)},
		},
		{
			name:      "journaled days also listed as settled count as journaled; other scripts are independent",
			journaled: []GroupKey{k(2, 4), k(1, 7), k(1, 3)},
			settled:   []GroupKey{k(1, 3), k(1, 7), k(1, 9), k(2, 1), k(3, 5)},
			wantRead:  []GroupKey{k(1, 3), k(1, 7), k(1, 9), k(2, 1), k(2, 4)},
			wantEmit:  []GroupKey{k(1, 3), k(1, 7), k(1, 9), k(2, 4)},
		},
		{
			name:      "the first day of a script",
			journaled: []GroupKey{k(1, 1)},
			wantRead:  []GroupKey{k(1, 1)},
			wantEmit:  []GroupKey{k(1, 1)},
		},
	}
	for _, c := range cases {
		read, emit := LinkGroups(c.journaled, c.settled)
		if !reflect.DeepEqual(read, c.wantRead) || !reflect.DeepEqual(emit, c.wantEmit) {
			t.Errorf("%s: read %v emit %v, want read %v emit %v", c.name, read, emit, c.wantRead, c.wantEmit)
		}
	}
}

// linkGroupsReference is LinkGroups as first written (maps and a
// sort per script), kept as the reference of TestLinkGroupsMatchesReference.
func linkGroupsReference(journaled, settled []GroupKey) (read, emit []GroupKey) {
	isJournaled := map[GroupKey]bool{}
	for _, k := range journaled {
		isJournaled[k] = true
	}
	byScript := map[int64][]Day{}
	for _, k := range settled {
		if !isJournaled[k] {
			byScript[k.ScriptID] = append(byScript[k.ScriptID], k.Day)
		}
	}
	readSet, emitSet := map[GroupKey]bool{}, map[GroupKey]bool{}
	for k := range isJournaled {
		readSet[k], emitSet[k] = true, true
		var before, after *Day
		for _, d := range byScript[k.ScriptID] {
			d := d
			if d < k.Day && (before == nil || d > *before) {
				before = &d
			}
			if d > k.Day && (after == nil || d < *after) {
				after = &d
			}
		}
		if before != nil {
			readSet[GroupKey{ScriptID: k.ScriptID, Day: *before}] = true
		}
		if after != nil {
			next := GroupKey{ScriptID: k.ScriptID, Day: *after}
			readSet[next], emitSet[next] = true, true
		}
	}
	collect := func(set map[GroupKey]bool) []GroupKey {
		out := []GroupKey{}
		for k := range set {
			out = append(out, k)
		}
		sort.Slice(out, func(a, b int) bool {
			if out[a].ScriptID != out[b].ScriptID {
				return out[a].ScriptID < out[b].ScriptID
			}
			return out[a].Day < out[b].Day
		})
		return out
	}
	return collect(readSet), collect(emitSet)
}

func TestLinkGroupsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := 0; round < 500; round++ {
		var journaled, settled []GroupKey
		scripts := 1 + rng.IntN(6)
		for s := int64(1); s <= int64(scripts); s++ {
			for d := Day(1); d <= 30; d++ {
				switch rng.IntN(6) {
				case 0:
					journaled = append(journaled, GroupKey{ScriptID: s, Day: d})
				case 1, 2:
					settled = append(settled, GroupKey{ScriptID: s, Day: d})
				case 3: // journaled and still listed as settled
					journaled = append(journaled, GroupKey{ScriptID: s, Day: d})
					settled = append(settled, GroupKey{ScriptID: s, Day: d})
				}
			}
		}
		rng.Shuffle(len(journaled), func(a, b int) { journaled[a], journaled[b] = journaled[b], journaled[a] })
		rng.Shuffle(len(settled), func(a, b int) { settled[a], settled[b] = settled[b], settled[a] })
		read, emit := LinkGroups(journaled, settled)
		wantRead, wantEmit := linkGroupsReference(journaled, settled)
		if len(read) == 0 && len(wantRead) == 0 {
			continue
		}
		if !reflect.DeepEqual(read, wantRead) || !reflect.DeepEqual(emit, wantEmit) {
			t.Fatalf("round %d: read %v emit %v, want read %v emit %v", round, read, emit, wantRead, wantEmit)
		}
	}
}
