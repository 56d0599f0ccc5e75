package load

import (
	"fmt"
	"testing"
)

// TestParseSeriesCounts: the packed groups of detect_series_counts.sql
// (written out by hand here) come back as the counts they name, sorted by
// day, steps in their order; a malformed string is an error.
func TestParseSeriesCounts(t *testing.T) {
	got, err := parseSeriesCounts("20402 7 31 0:7 -3:2 -2147483648:0;-25567 0 18446744073709551615;20400 12 9 5:11")
	if err != nil {
		t.Fatal(err)
	}
	want := []DayCounts{
		{Day: -25567, Runs: 0, Version: 18446744073709551615},
		{Day: 20400, Runs: 12, Version: 9, StepIndex: []int32{5}, StepSuccess: []uint64{11}},
		{Day: 20402, Runs: 7, Version: 31, StepIndex: []int32{0, -3, -2147483648}, StepSuccess: []uint64{7, 2, 0}},
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// The steps of one day do not run into the next's (shared backing).
	got[1].StepIndex = append(got[1].StepIndex, 99)
	if got[2].StepIndex[0] != 0 {
		t.Fatalf("appending to a day's steps overwrote the next day's: %+v", got[2])
	}
	if got, err := parseSeriesCounts(""); err != nil || len(got) != 0 {
		t.Fatalf("empty: got %+v, %v", got, err)
	}
	for _, bad := range []string{"1 2", "1 2 3 4", "1 2 3 4:", "1 2 3;;", "x 2 3", "1 -2 3", "1 2 3 1:-1", "2147483648 1 1",
		"1 2 3 2147483648:1", "1 18446744073709551616 3", "1 2 3,"} {
		if got, err := parseSeriesCounts(bad); err == nil {
			t.Errorf("%q: no error, got %+v", bad, got)
		}
	}
}
