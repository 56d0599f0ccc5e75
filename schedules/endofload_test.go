package schedules

import "testing"

// TestHoldsEndOfLoad: which INSERT of a first load or a backfill squashes
// small. INSERTs hold up to 1M runs (firstLoadInsertRuns); the total is an
// estimate, so the one that ends within a quarter of an INSERT of it counts.
func TestHoldsEndOfLoad(t *testing.T) {
	const insert = 1_000_000
	cases := []struct {
		name          string
		total, loaded int64
		want          bool
	}{
		{"1M: the only INSERT", 1_000_000, 0, true},
		{"1M estimated 1.2M: still the one INSERT that ends it", 1_200_000, 0, true},
		{"4M: the first INSERT", 4_000_000, 0, false},
		{"4M: the third", 4_000_000, 2_000_000, false},
		{"4M: the fourth", 4_000_000, 3_000_000, true},
		{"estimate short of the runs: past it", 4_000_000, 4_500_000, true},
		{"no estimate (a backfill without progress)", 0, 0, false},
	}
	for _, c := range cases {
		if got := holdsEndOfLoad(c.total, c.loaded, insert); got != c.want {
			t.Errorf("%s: holdsEndOfLoad(%d, %d, %d) = %v, want %v", c.name, c.total, c.loaded, insert, got, c.want)
		}
	}
}
