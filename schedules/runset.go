package schedules

import "slices"

// runSet is a set of run indexes (into a scriptRuns), added in ascending
// order: a list while it is sparse, a bitmap from its first run on once
// that is smaller. A step index present in most runs costs a bit a run
// instead of 4 bytes; one present in a few runs of a long script (an odd
// index) stays a short list.
type runSet struct {
	list  []int32
	first int32    // bitmap mode: the run of bit 0
	bits  []uint64 // nil: list mode
}

// add puts run i in the set; i is at least every run added before.
func (s *runSet) add(i int32) {
	if s.bits == nil {
		s.list = append(s.list, i)
		// A bitmap from list[0] to i takes (i−list[0])/64+1 words, the
		// list len/2: switch once the bitmap is no larger.
		if n := len(s.list); n >= 16 && int(i-s.list[0])/64+1 <= n/2 {
			s.first = s.list[0]
			s.bits = make([]uint64, int(i-s.first)/64+1)
			for _, r := range s.list {
				s.setBit(r)
			}
			s.list = nil
		}
		return
	}
	s.setBit(i)
}

func (s *runSet) setBit(i int32) {
	k := int(i - s.first)
	for len(s.bits) <= k/64 {
		s.bits = append(s.bits, 0)
	}
	s.bits[k/64] |= 1 << (k % 64)
}

// has says whether run i is in the set.
func (s *runSet) has(i int32) bool {
	if s.bits == nil {
		if n := len(s.list); n > 0 && s.list[n-1] <= i { // add's question: the latest run
			return s.list[n-1] == i
		}
		_, ok := slices.BinarySearch(s.list, i)
		return ok
	}
	k := int(i - s.first)
	return k >= 0 && k/64 < len(s.bits) && s.bits[k/64]&(1<<(k%64)) != 0
}
