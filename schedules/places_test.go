package schedules

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// The write order of a batch (runLoader.write), checked without services:
// a fake store models runs_state and run_places as ReplacingMergeTree
// tables read with FINAL and can die at any write, with any part of the
// write that dies landing (an insert spanning partitions is not atomic).
// Between passes the source moves, deletes and adds runs; passes die at
// random writes. The test checks after every killed pass that run_places
// lists every place live in runs_state, and after every completed pass
// that each source run is live exactly at its place, deleted runs nowhere,
// and every group's recomputed content equals its live runs.

type placeKey struct {
	run int64
	key transform.GroupKey
}

type rmtRow struct {
	version uint64
	deleted bool
}

// rmt is a ReplacingMergeTree(_version, _is_deleted) as FINAL reads it: the
// highest version wins, the last inserted among equal versions.
type rmt map[placeKey]rmtRow

func (m rmt) put(k placeKey, version uint64, deleted bool) {
	if old, ok := m[k]; ok && old.version > version {
		return
	}
	m[k] = rmtRow{version, deleted}
}

func (m rmt) live(run int64) []transform.GroupKey {
	var out []transform.GroupKey
	for k, r := range m {
		if k.run == run && !r.deleted {
			out = append(out, k.key)
		}
	}
	slices.SortFunc(out, func(a, b transform.GroupKey) int {
		if a.ScriptID != b.ScriptID {
			return int(a.ScriptID - b.ScriptID)
		}
		return int(a.Day - b.Day)
	})
	return out
}

var errKilled = errors.New("killed")

type fakeStore struct {
	runs, places rmt
	journal      map[transform.GroupKey]uint64 // newest version journaling it
	left         int                           // writes before the kill; -1: none
	rng          *rand.Rand
}

// write applies n rows, or dies: then a random subset of them lands.
func (f *fakeStore) write(n int, apply func(i int)) error {
	if f.left == 0 {
		for i := 0; i < n; i++ {
			if f.rng.IntN(2) == 0 {
				apply(i)
			}
		}
		f.left = -2 // dead: any further write is a bug of the test
		return errKilled
	}
	if f.left == -2 {
		panic("write after the kill")
	}
	if f.left > 0 {
		f.left--
	}
	for i := 0; i < n; i++ {
		apply(i)
	}
	return nil
}

func (f *fakeStore) Places(_ context.Context, ids []int64) (map[int64][]transform.GroupKey, error) {
	out := map[int64][]transform.GroupKey{}
	for _, id := range ids {
		if l := f.places.live(id); len(l) > 0 {
			out[id] = l
		}
	}
	return out, nil
}

func (f *fakeStore) JournalGroups(_ context.Context, keys []transform.GroupKey, v uint64) error {
	return f.write(len(keys), func(i int) { f.journal[keys[i]] = max(f.journal[keys[i]], v) })
}

func (f *fakeStore) AddPlaces(_ context.Context, runs []transform.Run, v uint64) error {
	return f.write(len(runs), func(i int) { f.places.put(placeKey{runs[i].ID, runs[i].Key()}, v, false) })
}

func (f *fakeStore) InsertRuns(_ context.Context, runs []transform.Run, gone []load.Location, v uint64) error {
	return f.write(len(runs)+len(gone), func(i int) {
		if i < len(runs) {
			f.runs.put(placeKey{runs[i].ID, runs[i].Key()}, v, false)
			return
		}
		g := gone[i-len(runs)]
		f.runs.put(placeKey{g.RunID, g.Key}, v, true)
	})
}

func (f *fakeStore) RemovePlaces(_ context.Context, gone []load.Location, v uint64) error {
	return f.write(len(gone), func(i int) { f.places.put(placeKey{gone[i].RunID, gone[i].Key}, v, true) })
}

func TestWriteOrderSurvivesKillsAndSourceChanges(t *testing.T) {
	seeds, steps := 300, 60
	if testing.Short() {
		seeds = 30
	}
	kills := 0
	for seed := 0; seed < seeds; seed++ {
		kills += writeOrderTrial(t, uint64(seed), steps)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d seeds × %d source changes, %d passes killed at a random write: no run lost or doubled", seeds, steps, kills)
}

func writeOrderTrial(t *testing.T, seed uint64, steps int) (kills int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	f := &fakeStore{runs: rmt{}, places: rmt{}, journal: map[transform.GroupKey]uint64{}, left: -1, rng: rng}
	randomKey := func() transform.GroupKey {
		return transform.GroupKey{ScriptID: 1 + rng.Int64N(3), Day: transform.DayFromDate(2026, 3, 1) + transform.Day(rng.IntN(4))}
	}
	source := map[int64]transform.GroupKey{} // live runs at the source
	dirty := map[int64]bool{}                // changed since the last completed pass
	nextID := int64(1)
	counted := map[transform.GroupKey][]int64{} // groups as last recomputed
	var version, completed uint64
	for i := 0; i < 6; i++ {
		source[nextID], dirty[nextID] = randomKey(), true
		nextID++
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (version %d): %s", seed, version, fmt.Sprintf(format, args...))
	}
	for step := 0; step < steps; step++ {
		if step > 0 {
			// The source changes: moves (to another day or script), a
			// delete, a new run, a move back to where it was.
			for n := 1 + rng.IntN(3); n > 0; n-- {
				ids := make([]int64, 0, len(source))
				for id := range source {
					ids = append(ids, id)
				}
				slices.Sort(ids)
				switch c := rng.IntN(10); {
				case c < 6 && len(ids) > 0:
					id := ids[rng.IntN(len(ids))]
					source[id], dirty[id] = randomKey(), true
				case c < 8 && len(ids) > 0:
					id := ids[rng.IntN(len(ids))]
					delete(source, id)
					dirty[id] = true
				default:
					source[nextID], dirty[nextID] = randomKey(), true
					nextID++
				}
			}
		}
		version++
		l := &runLoader{job: &Job{}, store: f, version: version, sum: &Summary{}, lookup: true}
		killed := rng.IntN(2) == 0
		f.left = -1
		if killed {
			f.left = rng.IntN(12)
		}
		var batches []*runBatch
		ids := make([]int64, 0, len(dirty))
		for id := range dirty {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		for _, id := range ids {
			if len(batches) == 0 || rng.IntN(3) == 0 {
				batches = append(batches, &runBatch{})
			}
			b := batches[len(batches)-1]
			if key, ok := source[id]; ok {
				b.runs = append(b.runs, transform.Run{ID: id, ScriptID: key.ScriptID, Day: key.Day})
			} else if live := f.runs.live(id); len(live) > 0 {
				// Found by a backfill of that day (StaleRuns): one place
				// given, any others must come from run_places.
				b.deleted = append(b.deleted, load.Location{RunID: id, Key: live[rng.IntN(len(live))]})
			}
		}
		var err error
		for _, b := range batches {
			if err = l.write(context.Background(), b); err != nil {
				break
			}
		}
		// After any pass, killed or not: run_places lists every live place.
		for k, r := range f.runs {
			if !r.deleted {
				if p, ok := f.places[k]; !ok || p.deleted {
					fail("run %d live in runs_state at %v, not listed in run_places", k.run, k.key)
				}
			}
		}
		if err != nil {
			if !errors.Is(err, errKilled) {
				fail("write: %v", err)
			}
			kills++
			continue
		}
		if f.left > 0 {
			// The kill point was past the pass's last write: not killed.
			f.left = -1
		}
		// Complete: recompute every group journaled since the last
		// completed pass.
		for g, v := range f.journal {
			if v > completed {
				var in []int64
				for k, r := range f.runs {
					if k.key == g && !r.deleted {
						in = append(in, k.run)
					}
				}
				slices.Sort(in)
				counted[g] = in
			}
		}
		completed = version
		clear(dirty)
		for id := int64(1); id < nextID; id++ {
			live := f.runs.live(id)
			key, ok := source[id]
			switch {
			case ok && (len(live) != 1 || live[0] != key):
				fail("run %d live at %v, the source has it at %v", id, live, key)
			case !ok && len(live) > 0:
				fail("run %d deleted at the source, live at %v", id, live)
			}
		}
		for id, key := range source {
			if !slices.Contains(counted[key], id) {
				fail("run %d not counted in its group %v", id, key)
			}
		}
		for g, in := range counted {
			var want []int64
			for id, key := range source {
				if key == g {
					want = append(want, id)
				}
			}
			slices.Sort(want)
			if !slices.Equal(in, want) {
				fail("group %v counts runs %v, the source has %v", g, in, want)
			}
		}
	}
	return kills
}
