package schedules

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

// TestRunSetAgainstAMap: a runSet answers as a plain set through its switch
// from a list to a bitmap, for dense, sparse and mixed inputs.
func TestRunSetAgainstAMap(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var s runSet
		want := map[int32]bool{}
		i := int32(rng.IntN(50))
		switched := false
		for range rng.IntN(3000) {
			s.add(i)
			want[i] = true
			switched = switched || s.bits != nil
			switch seed % 3 {
			case 0: // dense
				i += 1 + int32(rng.IntN(2))
			case 1: // sparse
				i += 1 + int32(rng.IntN(500))
			default: // dense, then sparse
				if i < 800 {
					i += 1
				} else {
					i += 1 + int32(rng.IntN(300))
				}
			}
		}
		for r := int32(-5); r < i+70; r++ {
			if got := s.has(r); got != want[r] {
				t.Fatalf("seed %d: has(%d) = %v, want %v (bitmap %v)", seed, r, got, want[r], s.bits != nil)
			}
		}
		if seed%3 == 0 && len(want) > 100 && !switched {
			t.Fatalf("seed %d: %d dense runs stayed a list", seed, len(want))
		}
		if seed%3 == 1 && s.bits != nil {
			t.Fatalf("seed %d: a sparse set became a bitmap", seed)
		}
	}
}

// TestLatestNameMatchesEveryOccurrence: the run-length encoded names give
// what the list of every step's name gives (the representation before
// them): for any runs, the latest run with a step of the index and a
// non-null name among its steps of that index, the last such name of the
// run. Steps repeat indexes within a run, names come and go and are null.
func TestLatestNameMatchesEveryOccurrence(t *testing.T) {
	names := []string{"open", "login", "pay", "open"}
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 11))
		sr := newScriptRuns(nil, time.UTC)
		type occ struct {
			run   int32
			name  string
			valid bool
		}
		every := map[int32][]occ{} // by index: every step, in run order
		n := 50 + rng.IntN(400)
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		sticky := map[int32]int{}
		for i := range n {
			r := transform.Run{ID: int64(i + 1), Class: transform.StatusSuccess, OrderedAt: at.Add(time.Duration(i) * time.Minute)}
			if rng.IntN(10) < 6 {
				for range rng.IntN(5) {
					idx := int32(rng.IntN(3))
					if rng.IntN(20) == 0 {
						idx = 400 + int32(rng.IntN(3)) // an odd index, rare
					}
					if rng.IntN(15) == 0 {
						sticky[idx] = rng.IntN(len(names))
					}
					st := transform.Step{Index: idx, Status: transform.StepSuccess, Duration: transform.NullFloat{Float64: 1, Valid: true}}
					if rng.IntN(6) != 0 {
						st.Name = transform.NullString{String: names[sticky[idx]], Valid: true}
					}
					r.Steps = append(r.Steps, st)
					every[idx] = append(every[idx], occ{int32(i), st.Name.String, st.Name.Valid})
				}
			}
			sr.add(&r, time.UTC)
		}
		want := func(which []int32, idx int32) transform.NullString {
			in := map[int32]bool{}
			for _, w := range which {
				in[w] = true
			}
			o := every[idx]
			for p := len(o) - 1; p >= 0; p-- {
				if in[o[p].run] && o[p].valid {
					return transform.NullString{String: o[p].name, Valid: true}
				}
			}
			return transform.NullString{}
		}
		for range 300 {
			var which []int32
			lo := int32(rng.IntN(n))
			for r := lo; r < int32(n) && len(which) < 1+rng.IntN(40); r++ {
				if rng.IntN(3) != 0 {
					which = append(which, r)
				}
			}
			for _, idx := range []int32{0, 1, 2, 400, 401, 402, 9} {
				if got, w := sr.latestName(which, idx), want(which, idx); got != w {
					t.Fatalf("seed %d: latestName(%v, %d) = %+v, want %+v", seed, which, idx, got, w)
				}
			}
		}
	}
}
